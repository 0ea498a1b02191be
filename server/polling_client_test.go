package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// pc is a Socket.IO client that starts on HTTP long-polling, as the stock
// client does, and can upgrade to WebSocket mid-session. Received packets
// go into the embedded tc, so take, message, none and count work as for a
// WebSocket client; req and emit are its own.
type pc struct {
	*tc
	ts   *testServer
	url  string // polling URL with the sid
	hc   *http.Client
	stop chan struct{} // closed: the poll loop ends after its GET
	done chan struct{} // closed by the poll loop when it has ended

	sendMu   sync.Mutex // one POST at a time; held across the upgrade
	upgraded bool       // guarded by sendMu
}

// dialPolling opens a polling session and sends CONNECT with auth (nil:
// none); it waits for the CONNECT reply or CONNECT_ERROR.
func (ts *testServer) dialPolling(name string, auth any) *pc {
	ts.t.Helper()
	base := ts.http.URL + "/socket.io/?EIO=4&transport=polling"
	hc := ts.http.Client()
	resp, err := hc.Get(base)
	if err != nil {
		ts.t.Fatalf("%s: handshake: %v", name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	open, err := shared.ParseEngineOpen(body)
	if err != nil || resp.StatusCode != 200 {
		ts.t.Fatalf("%s: handshake %d %q: %v", name, resp.StatusCode, body, err)
	}
	if len(open.Upgrades) != 1 || open.Upgrades[0] != "websocket" {
		ts.t.Fatalf("%s: upgrades %v", name, open.Upgrades)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &pc{
		tc:   &tc{t: ts.t, name: name, ctx: ctx, acks: map[int64]json.RawMessage{}},
		ts:   ts,
		url:  base + "&sid=" + open.SID,
		hc:   hc,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.tc.out = c.send
	c.cond = sync.NewCond(&c.mu)
	ts.t.Cleanup(func() {
		cancel()
		if c.ws != nil {
			c.ws.CloseNow()
		}
	})
	go c.pollLoop()
	c.send(connectPacket(auth))
	c.waitFor(func() bool { return c.sid != "" || c.cerr != "" }, "CONNECT reply")
	return c
}

// loginPolling dials over polling and logs in; it fails the test unless 200.
func (ts *testServer) loginPolling(id string) (*pc, shared.Response) {
	ts.t.Helper()
	c := ts.dialPolling(id, nil)
	return c, ts.loginOn(c.tc, id)
}

// pollLoop GETs until stop is closed or the session ends, answering pings
// and delivering the other packets in order.
func (c *pc) pollLoop() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		req, _ := http.NewRequestWithContext(c.ctx, "GET", c.url, nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			c.setClosed()
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			c.setClosed()
			return
		}
		for _, p := range strings.Split(string(body), "\x1e") {
			switch {
			case p == "2":
				go c.send("3")
			case p == "1":
				c.setClosed()
				return
			case strings.HasPrefix(p, "4"):
				c.deliver([]byte(p))
			}
		}
	}
}

// send writes one Engine.IO packet: a POST, or a WebSocket frame after
// the upgrade.
func (c *pc) send(pkt string) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.upgraded {
		c.writeText(pkt)
		return
	}
	req, _ := http.NewRequestWithContext(c.ctx, "POST", c.url, strings.NewReader(pkt))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		return // the session is gone; waits report it
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && c.ctx.Err() == nil {
		c.t.Errorf("%s: POST %.40q: %d", c.name, pkt, resp.StatusCode)
	}
}

// upgrade switches to WebSocket as the stock client does: probe, pause
// polling once the GET in flight is answered, then `5`; packets sent
// meanwhile wait and go out over the WebSocket.
func (c *pc) upgrade() {
	c.t.Helper()
	wsURL := "ws" + strings.TrimPrefix(strings.Replace(c.url, "transport=polling", "transport=websocket", 1), "http")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		c.t.Fatalf("%s: upgrade dial: %v", c.name, err)
	}
	ws.SetReadLimit(16 << 20)
	if err := ws.Write(ctx, websocket.MessageText, []byte("2probe")); err != nil {
		c.t.Fatal(err)
	}
	if _, b, err := ws.Read(ctx); err != nil || string(b) != "3probe" {
		c.t.Fatalf("%s: probe answer %q %v", c.name, b, err)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		c.t.Fatalf("%s: session closed during the upgrade", c.name)
	}
	c.ws = ws
	c.upgraded = true
	c.writeText("5")
	go c.readLoop()
}

// close ends the session from the client side (Engine.IO close).
func (c *pc) close() {
	c.send("1")
}
