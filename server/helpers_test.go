package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/server/store"
	"chatapp/shared"
)

// testServer is a real chat server on 127.0.0.1 with a store in a temp dir.
type testServer struct {
	t    *testing.T
	dir  string
	cfg  Config
	st   *store.Store
	srv  *Server
	http *httptest.Server
	url  string // ws://…/socket.io/?EIO=4&transport=websocket
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.HashCost == 0 {
		cfg.HashCost = 4
	}
	ts := &testServer{t: t, dir: t.TempDir(), cfg: cfg}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	log := slog.New(slog.NewTextHandler(ts.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var srv *Server
	st, err := store.Open(ts.dir, store.Options{Logger: log, OnCommitFrom: func(m []shared.Message, o []any) { srv.FanoutFrom(m, o) }})
	if err != nil {
		ts.t.Fatal(err)
	}
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<!doctype html>page")) })
	srv, err = New(ts.cfg, Deps{Store: st, Logger: log, UI: ui})
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.st, ts.srv = st, srv
	ts.http = httptest.NewServer(srv)
	ts.url = "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// stop shuts the server down as SIGTERM would and closes the store.
func (ts *testServer) stop() {
	if ts.http == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts.srv.sio.Shutdown(ctx)
	ts.http.Close()
	if err := ts.st.Close(); err != nil {
		ts.t.Errorf("store close: %v", err)
	}
	ts.http = nil
}

// restart stops the server and starts a new one on the same data dir.
func (ts *testServer) restart() {
	ts.stop()
	ts.start()
}

// tc is a minimal Socket.IO v5 client over Engine.IO v4 websocket, enough
// to drive the protocol from tests. It answers pings by itself.
type tc struct {
	t    *testing.T
	name string
	ws   *websocket.Conn
	ctx  context.Context

	mu     sync.Mutex
	cond   *sync.Cond
	events []event // received, not yet taken
	acks   map[int64]json.RawMessage
	closed bool
	nextID int64
	sid    string
	cerr   string // CONNECT_ERROR message

	out func(pkt string) // sends a packet; nil: writeText on ws
}

type event struct {
	name string
	arg  json.RawMessage
}

// dial connects and sends CONNECT with auth (nil: none). It waits for the
// CONNECT reply; connErr holds a CONNECT_ERROR message instead.
func (ts *testServer) dial(name string, auth any) *tc {
	ts.t.Helper()
	c := ts.dialRaw(name)
	c.writeText(connectPacket(auth))
	c.waitFor(func() bool { return c.sid != "" || c.cerr != "" }, "CONNECT reply")
	return c
}

// connectPacket is the CONNECT to "/" with auth (nil: none).
func connectPacket(auth any) string {
	if auth == nil {
		return "40"
	}
	b, _ := json.Marshal(auth)
	return "40" + string(b)
}

// login dials anonymously and logs in; it fails the test unless 200.
func (ts *testServer) login(id string) (*tc, shared.Response) {
	ts.t.Helper()
	c := ts.dial(id, nil)
	return c, ts.loginOn(c, id)
}

// loginOn logs the connected client c in as id, with the password and
// alias every test account uses, and takes the room and presence lists
// that follow; it fails the test unless 200.
func (ts *testServer) loginOn(c *tc, id string) shared.Response {
	ts.t.Helper()
	if c.cerr != "" {
		ts.t.Fatalf("%s: connect error %s", id, c.cerr)
	}
	r := c.req(shared.EventLogin, map[string]any{"id": id, "password": "secret-" + id, "alias": "Alias " + id})
	if r.Code != shared.CodeOK {
		ts.t.Fatalf("%s: login: %+v", id, r)
	}
	c.take(shared.EventRoom, nil)
	c.take(shared.EventPresence, nil)
	return r
}

func (ts *testServer) dialRaw(name string) *tc {
	ts.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ws, _, err := websocket.Dial(ctx, ts.url, nil)
	if err != nil {
		cancel()
		ts.t.Fatalf("%s: dial: %v", name, err)
	}
	ws.SetReadLimit(16 << 20)
	c := &tc{t: ts.t, name: name, ws: ws, ctx: ctx, acks: map[int64]json.RawMessage{}}
	c.cond = sync.NewCond(&c.mu)
	_, open, err := ws.Read(ctx)
	if err != nil || len(open) == 0 || open[0] != '0' {
		cancel()
		ts.t.Fatalf("%s: open packet: %q %v", name, open, err)
	}
	go c.readLoop()
	ts.t.Cleanup(func() { ws.CloseNow(); cancel() })
	return c
}

func (c *tc) readLoop() {
	defer c.setClosed()
	for {
		_, b, err := c.ws.Read(c.ctx)
		if err != nil {
			return
		}
		switch {
		case string(b) == "2":
			c.writeText("3")
		case len(b) > 0 && b[0] == '4':
			if !c.deliver(b) {
				return
			}
		}
	}
}

func (c *tc) setClosed() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// deliver records one Engine.IO message packet (`4…`); false means the
// server sent something that is not valid Socket.IO.
func (c *tc) deliver(b []byte) bool {
	p, err := shared.DecodePacket(b[1:])
	if err != nil {
		c.t.Errorf("%s: bad packet from server %q: %v", c.name, b, err)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.cond.Broadcast()
	switch p.Type {
	case shared.PacketConnect:
		var r struct{ SID string }
		json.Unmarshal(p.Data, &r)
		c.sid = r.SID
	case shared.PacketConnectError:
		var r struct{ Message string }
		json.Unmarshal(p.Data, &r)
		c.cerr = r.Message
	case shared.PacketEvent:
		name, args, err := shared.EventArgs(p.Data)
		if err != nil {
			c.t.Errorf("%s: bad event %q", c.name, b)
		}
		var arg json.RawMessage
		if len(args) > 0 {
			arg = args[0]
		}
		c.events = append(c.events, event{name, arg})
	case shared.PacketAck:
		var args []json.RawMessage
		json.Unmarshal(p.Data, &args)
		if len(args) > 0 {
			c.acks[p.ID] = args[0]
		} else {
			c.acks[p.ID] = json.RawMessage("null")
		}
	case shared.PacketDisconnect:
		c.events = append(c.events, event{name: "#disconnect"})
	}
	return true
}

func (c *tc) writeText(s string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.ws.Write(ctx, websocket.MessageText, []byte(s))
}

// waitFor waits (c.mu not held) until cond holds, up to 5 s.
func (c *tc) waitFor(cond func() bool, what string) {
	c.t.Helper()
	deadline := time.AfterFunc(5*time.Second, func() {
		c.mu.Lock()
		c.closed = true // wakes the waiter; the check below tells timeout apart
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer deadline.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if c.closed {
			c.t.Fatalf("%s: connection closed or timed out waiting for %s", c.name, what)
		}
		c.cond.Wait()
	}
}

// emit sends an event; with ack it returns the ack id.
func (c *tc) emit(name string, payload any, ack bool) int64 {
	b, err := json.Marshal([]any{name, payload})
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	id := int64(-1)
	if ack {
		id = c.nextID
		c.nextID++
	}
	c.mu.Unlock()
	pkt := "42"
	if ack {
		pkt += strconv.FormatInt(id, 10)
	}
	if c.out != nil {
		c.out(pkt + string(b))
	} else {
		c.writeText(pkt + string(b))
	}
	return id
}

// req sends a request with an ack id and returns the answer.
func (c *tc) req(name string, payload any) shared.Response {
	c.t.Helper()
	id := c.emit(name, payload, true)
	var raw json.RawMessage
	c.waitFor(func() bool { var ok bool; raw, ok = c.acks[id]; return ok }, "ack of "+name)
	var r shared.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		c.t.Fatalf("%s: ack %s: %v", c.name, raw, err)
	}
	return r
}

// take waits for the next event called name (events before it with other
// names stay buffered) and decodes it into v (nil: discard).
func (c *tc) take(name string, v any) {
	c.t.Helper()
	var got json.RawMessage
	c.waitFor(func() bool {
		for i, e := range c.events {
			if e.name == name {
				got = e.arg
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				return true
			}
		}
		return false
	}, "event "+name)
	if v != nil {
		if err := json.Unmarshal(got, v); err != nil {
			c.t.Fatalf("%s: event %s %s: %v", c.name, name, got, err)
		}
	}
}

// message waits for the next message event.
func (c *tc) message() shared.Message {
	c.t.Helper()
	var m shared.Message
	c.take(shared.EventMessage, &m)
	return m
}

// none checks that no event called name arrives within d.
func (c *tc) none(name string, d time.Duration) {
	c.t.Helper()
	time.Sleep(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if e.name == name {
			c.t.Fatalf("%s: unexpected %s event: %s", c.name, name, e.arg)
		}
	}
}

// count returns how many buffered events are called name.
func (c *tc) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.events {
		if e.name == name {
			n++
		}
	}
	return n
}

func (c *tc) close() { c.ws.Close(websocket.StatusNormalClosure, "") }

func (c *tc) String() string { return fmt.Sprintf("client %s", c.name) }
