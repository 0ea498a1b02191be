package sio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestUpgrade(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	id := p.connect(`{"token":"abc"}`)
	c := p.upgrade()
	// The same Socket goes on over the WebSocket.
	c.expectOpen()
	if s := h.socket(t, id); s.ID() != id {
		t.Fatal("socket changed")
	}
	if st := srv.Stats(); st.Upgrades != 1 || st.Polling != 1 || st.Connections != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Polling requests for the sid are now a transport mismatch.
	expectStatus(t, p.get(), 400, `{"code":3,"message":"Bad request"}`)
	expectStatus(t, p.post(`42["echo",1]`), 400, `{"code":3,"message":"Bad request"}`)
	c.expectOpen()
	// Closing the WebSocket ends the session.
	_ = c.c.Close(websocket.StatusNormalClosure, "")
	if d := h.waitDisconnect(t); d.reason != "transport close" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	eventually(t, "the session to end", func() bool { return srv.Stats().Connections == 0 })
}

// TestUpgradeHeartbeatAndKick: after the upgrade, pings, Disconnect and
// the close all work as on a WebSocket session.
func TestUpgradeHeartbeatAndKick(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 2 * time.Second}, h)
	p := pollDial(t, ts)
	p.connect("")
	c := p.dialUpgrade()
	c.send("2probe")
	c.expect("3probe")
	p.expectGet("6") // a ping may come first; expectGet answers it
	c.send("5")
	c.seePings = true
	for range 3 {
		c.expect("2")
		c.send("3")
	}
	c.seePings = false
	c.send(`42["kick"]`)
	c.expect("41")
	if code := c.expectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v", code)
	}
	h.waitDisconnect(t)
	if n := srv.Stats().PingTimeouts; n != 0 {
		t.Fatalf("PingTimeouts = %d", n)
	}
}

// TestUpgradePendingGetGetsNoop: a GET pending when the probe arrives is
// released with a noop about 100 ms later, so that the client can send `5`.
func TestUpgradePendingGetGetsNoop(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{}, newTestHandler())
	p := pollDial(t, ts)
	p.connect("")
	pending := p.getAsync()
	c := p.dialUpgrade()
	start := time.Now()
	c.send("2probe")
	c.expect("3probe")
	r := <-pending
	if r.status != 200 || r.body != "6" {
		t.Fatalf("pending GET: %d %q, want 200 6", r.status, r.body)
	}
	if d := time.Since(start); d < probeNoopDelay/2 || d > 5*time.Second {
		t.Fatalf("released after %v", d)
	}
	c.send("5")
	c.expectOpen()
}

// TestUpgradeGetDuringProbe: a GET that is pending when `5` arrives gets
// 400, and data queued while probing goes to a GET rather than waiting.
func TestUpgradeGetDuringProbe(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	c := p.dialUpgrade()
	c.send("2probe")
	c.expect("3probe")
	s.Emit("/", "during", 1)
	p.expectGet(`42["during",1]`)
	// As the suite does: 5 right after the probe, with a GET in flight.
	pending := p.getAsync()
	c.send("5")
	r := <-pending
	expectStatus(t, r, 400, `{"code":3,"message":"Bad request"}`)
	c.expectOpen()
}

// TestUpgradeNoLossNoReorder: frames sent without pause across the whole
// upgrade reach the client exactly once and in order, split between the
// polls and the WebSocket.
func TestUpgradeNoLossNoReorder(t *testing.T) {
	t.Parallel()
	for run := range 3 {
		h := newTestHandler()
		_, ts := newTestServer(t, Config{}, h)
		p := pollDial(t, ts)
		s := h.socket(t, p.connect(""))
		const n = 3000
		go func() {
			for i := range n {
				if !s.Send(msgFrame(int64(i+1)), 0) {
					return
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		var got []string
		collect := func(body string) {
			for _, f := range strings.Split(body, "\x1e") {
				if f != "6" && f != "2" {
					got = append(got, f)
				}
			}
		}
		// Poll while the WebSocket probes, as the stock client does; then
		// wait for the poll in flight, and send `5`.
		collect(p.get().body)
		c := p.dialUpgrade()
		probed := make(chan struct{})
		go func() {
			c.send("2probe")
			c.expect("3probe")
			close(probed)
		}()
	poll:
		for {
			r := p.get()
			if r.status != 200 {
				t.Fatalf("GET: %d %q", r.status, r.body)
			}
			collect(r.body)
			select {
			case <-probed:
				break poll
			default:
			}
		}
		c.send("5")
		for len(got) < n {
			got = append(got, c.readText())
		}
		for i, f := range got {
			if f != string(msgFrame(int64(i+1))) {
				t.Fatalf("run %d: frame %d is %q (got %d frames)", run, i, f, len(got))
			}
		}
	}
}

// TestUpgradeFailedProbe: a probe that goes wrong closes only the new
// WebSocket; the session goes on polling and can upgrade later.
func TestUpgradeFailedProbe(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{UpgradeTimeout: 200 * time.Millisecond}, h)
	p := pollDial(t, ts)
	p.connect("")

	for _, tt := range []struct {
		name  string
		frame string // "" sends nothing: the upgrade times out
	}{
		{"message before the probe", `42["echo",1]`},
		{"upgrade before the probe", "5"},
		{"noop", "6"},
		{"timeout", ""},
	} {
		c := p.dialUpgrade()
		if tt.frame != "" {
			c.send(tt.frame)
		}
		c.expectClose()
		p.expectPost(`42["echo","` + tt.name + `"]`)
		p.expectGet(`42["echo-back","` + tt.name + `"]`)
	}
	// A probe followed by something else than `5`.
	c := p.dialUpgrade()
	c.send("2probe")
	c.expect("3probe")
	c.send("4hello")
	c.expectClose()
	p.expectPost(`42["echo",2]`)
	p.expectGet(`42["echo-back",2]`)

	p.upgrade().expectOpen()
	if st := srv.Stats(); st.Upgrades != 1 || st.Connections != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUpgradeSecondWebSocket: a WebSocket for a sid that already has one
// (probing or upgraded) is accepted and closed at once, as Node does.
func TestUpgradeSecondWebSocket(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{}, newTestHandler())
	p := pollDial(t, ts)
	p.connect("")
	first := p.dialUpgrade()
	second := p.dialUpgrade()
	if code := second.expectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("second WebSocket while probing closed with %v", code)
	}
	first.send("2probe")
	first.expect("3probe")
	p.expectGet("6")
	first.send("5")
	third := p.dialUpgrade()
	if code := third.expectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("WebSocket after the upgrade closed with %v", code)
	}
	first.expectOpen()

	// An unknown or closed sid gets 400 code 1 before any upgrade.
	q := pollDial(t, ts)
	q.expectPost("1")
	_, resp, err := websocket.Dial(context.Background(), q.wsURL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("WebSocket for a closed sid: %v", err)
	}
}

// TestUpgradeClientCloseOverWebSocket: `1` on the upgraded WebSocket ends
// the session like on a plain one.
func TestUpgradeClientCloseOverWebSocket(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	p.connect("")
	c := p.upgrade()
	c.send("1")
	if code := c.expectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v", code)
	}
	if d := h.waitDisconnect(t); d.reason != "client close" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
}

// TestUpgradeShutdown: Shutdown reaches upgraded and probing sessions.
func TestUpgradeShutdown(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{}, h)
	a := pollDial(t, ts)
	a.connect("")
	ca := a.upgrade()
	b := pollDial(t, ts)
	b.connect("")
	cb := b.dialUpgrade() // probing, never finishes
	pending := b.getAsync()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if frames, code := ca.framesUntilClose(); len(frames) != 0 || code != websocket.StatusGoingAway {
			t.Errorf("upgraded: frames %q and close %v, want none and 1001", frames, code)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	if r := <-pending; r.body != "1" {
		t.Fatalf("pending GET: %d %q", r.status, r.body)
	}
	cb.expectClose()
}

// TestPollingNoGoroutineLeak is not parallel: it counts goroutines.
func TestPollingNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		h := newTestHandler()
		srv := NewServer(Config{PingInterval: 2 * time.Second, PingTimeout: 2 * time.Second, UpgradeTimeout: 200 * time.Millisecond, Logger: testLogger(t)}, h)
		ts := httptest.NewServer(srv)
		defer ts.Close()
		var ps []*pollClient
		for range 8 {
			p := pollDial(t, ts)
			p.connect("")
			ps = append(ps, p)
		}
		ps[0].expectPost("1")           // client close
		ps[1].post("abc")               // protocol error
		ps[2].expectPost(`42["kick"]`)  // server kick
		ps[2].get()                     //   collected
		ps[3].expectPost(`42["close"]`) // server close
		ps[3].get()                     //   collected
		c := ps[4].upgrade()            // upgraded, then the WebSocket drops
		_ = c.c.CloseNow()
		ps[5].dialUpgrade() // a probe that times out
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ps[6].url(), nil)
		go func() { // a poll the client drops
			time.Sleep(50 * time.Millisecond)
			cancel()
		}()
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
		}
		// ps[5] and ps[7] stay until Shutdown.
		eventually(t, "6 sessions to end", func() bool { return srv.Stats().Connections == 2 })
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		ts.CloseClientConnections()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
