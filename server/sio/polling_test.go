package sio

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPollingHandshake(t *testing.T) {
	t.Parallel()
	srv, ts := newTestServer(t, Config{PingInterval: 100 * time.Millisecond, PingTimeout: 1500 * time.Millisecond, MaxPayload: 12345}, newTestHandler())
	p := pollDial(t, ts)
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(p.raw[1:]), &keys); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"upgrades": `["websocket"]`, "pingInterval": `100`, "pingTimeout": `1500`, "maxPayload": `12345`}
	if len(keys) != 5 {
		t.Fatalf("open packet %s: want exactly 5 keys", p.raw)
	}
	for k, v := range want {
		if string(keys[k]) != v {
			t.Fatalf("open packet %s: %s = %s, want %s", p.raw, k, keys[k], v)
		}
	}
	if len(p.sid) != 20 || strings.ContainsAny(p.sid, "+/=") {
		t.Fatalf("sid %q", p.sid)
	}
	// Nothing else is queued at open: the next GET is held until the ping.
	start := time.Now()
	r := p.get()
	if r.status != 200 || r.body != "2" {
		t.Fatalf("first GET: %d %q, want the ping", r.status, r.body)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("the GET was not held (%v)", d)
	}
	if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); ct != "text/plain; charset=UTF-8" || cc != "no-store" {
		t.Fatalf("GET headers: Content-Type %q, Cache-Control %q", ct, cc)
	}
	post := p.post("3")
	if post.status != 200 || post.body != "ok" || post.header.Get("Content-Type") != "text/html" {
		t.Fatalf("POST: %d %q %v", post.status, post.body, post.header)
	}
	if st := srv.Stats(); st.Polling != 1 || st.Connections != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPollingHTTPErrors covers the 400s of SOCKETIO.md §2.8 that need a
// live session; none of them ends it.
func TestPollingHTTPErrors(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{}, newTestHandler())
	const badRequest = `{"code":3,"message":"Bad request"}`
	tests := []struct {
		name   string
		method string
		query  string // %s is the sid
		body   string
	}{
		{"EIO missing on a live sid", "GET", "transport=polling&sid=%s", badRequest},
		{"EIO 3 on a live sid", "POST", "EIO=3&transport=polling&sid=%s", badRequest},
		{"PUT on a live sid", "PUT", "EIO=4&transport=polling&sid=%s", badRequest},
		{"DELETE on a live sid", "DELETE", "EIO=4&transport=polling&sid=%s", badRequest},
		{"websocket without upgrade headers", "GET", "EIO=4&transport=websocket&sid=%s", badRequest},
		{"unknown transport", "GET", "EIO=4&transport=flash&sid=%s", `{"code":0,"message":"Transport unknown"}`},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=%sx", `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=x%s", `{"code":1,"message":"Session ID unknown"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pollDial(t, ts)
			r := p.do(tt.method, ts.URL+"/socket.io/?"+strings.ReplaceAll(tt.query, "%s", p.sid), "")
			expectStatus(t, r, 400, tt.body)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			p.connect("") // the session lives on
		})
	}
}

// TestPollingTransportMismatch: a polling request for a WebSocket session
// gets 400 code 3, and the session lives on.
func TestPollingTransportMismatch(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{}, newTestHandler())
	c := dial(t, ts)
	c.connect("/", "")
	p := &pollClient{t: t, ts: ts, path: "/socket.io/", sid: c.open.SID}
	expectStatus(t, p.get(), 400, `{"code":3,"message":"Bad request"}`)
	expectStatus(t, p.post(`42["echo",1]`), 400, `{"code":3,"message":"Bad request"}`)
	c.expectOpen()
}

func TestPollingEventsInOrder(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	p.connect(`{"token":"abc"}`)
	if c := <-h.connects; string(c.auth) != `{"token":"abc"}` {
		t.Fatalf("auth %s", c.auth)
	}
	// One POST, several packets: handled in order, answered in one GET.
	p.expectPost(`42["echo",1]` + "\x1e" + `42["echo","two"]` + "\x1e" + `427["echo",{"3":[true]}]`)
	p.expectGet(`42["echo-back",1]` + "\x1e" + `42["echo-back","two"]` + "\x1e" + `437[{"3":[true]}]`)
	// Several POSTs before a GET: still in order.
	for i := range 20 {
		p.expectPost(`42["echo",` + strconv.Itoa(i) + `]`)
	}
	var want []string
	for i := range 20 {
		want = append(want, `42["echo-back",`+strconv.Itoa(i)+`]`)
	}
	p.expectGet(strings.Join(want, "\x1e"))
	for i := range 20 {
		if ev := <-h.events; ev.ev.Name != "echo" {
			t.Fatalf("event %d: %+v", i, ev.ev)
		}
	}
}

func TestPollingBinary(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{AllowBinary: true}, newTestHandler())
	p := pollDial(t, ts)
	p.connect("")
	// Client-to-server attachments arrive as b-packets; the echo goes back
	// the same way, standard base64 with padding.
	p.expectPost(`452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` + "\x1ebAQID\x1eb/w==")
	p.expectGet(`452-["echo-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` + "\x1ebAQID\x1eb/w==")
	// Without AllowBinary a binary packet ends the session.
	_, ts2 := newTestServer(t, Config{}, newTestHandler())
	q := pollDial(t, ts2)
	q.connect("")
	expectStatus(t, q.post(`451-["echo",{"_placeholder":true,"num":0}]`+"\x1ebAQID"), 400, "")
	expectStatus(t, q.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
}

// TestPollingLongPoll: a GET with nothing to collect is held until
// something is sent, then answered at once.
func TestPollingLongPoll(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	got := p.getAsync()
	time.Sleep(100 * time.Millisecond)
	select {
	case r := <-got:
		t.Fatalf("GET answered without data: %d %q", r.status, r.body)
	default:
	}
	if err := s.Emit("/", "news", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.status != 200 || r.body != `42["news","hello"]` {
			t.Fatalf("GET: %d %q", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held GET not answered")
	}
}

// TestPollingDuplicateGet: a second GET while one is pending ends the
// session; the pending one gets the close packet.
func TestPollingDuplicateGet(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	p.connect("")
	first := p.getAsync()
	expectStatus(t, p.get(), 400, `{"code":3,"message":"Bad request"}`)
	if r := <-first; r.status != 200 || r.body != "1" {
		t.Fatalf("pending GET: %d %q, want 200 1", r.status, r.body)
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
	if d := h.waitDisconnect(t); d.reason != "poll overlap" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	if n := srv.Stats().ProtocolErrors; n != 1 {
		t.Fatalf("ProtocolErrors = %d", n)
	}
}

// TestPollingOverlappingPost: a POST while another is being handled gets
// 400 and ends the session.
func TestPollingOverlappingPost(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	release := make(chan struct{})
	h.onConnected = func(s *Socket, nsp string) { <-release }
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	first := make(chan pollResult, 1)
	go func() { first <- p.post("40") }()
	<-h.connects // the first POST is in the Handler
	expectStatus(t, p.post(`42["echo",1]`), 400, `{"code":3,"message":"Bad request"}`)
	close(release)
	if r := <-first; r.status != 200 {
		t.Fatalf("first POST: %d %q", r.status, r.body)
	}
	if d := h.waitDisconnect(t); d.reason != "post overlap" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
}

// TestPollingClientClose: the client's `1` by POST releases a pending GET
// with a noop, also when the POST overtakes the GET, and then the sid is
// unknown.
func TestPollingClientClose(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)

	p := pollDial(t, ts)
	p.connect("")
	pending := p.getAsync()
	p.expectPost("1")
	if r := <-pending; r.status != 200 || r.body != "6" {
		t.Fatalf("pending GET: %d %q, want 200 6", r.status, r.body)
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
	if d := h.waitDisconnect(t); d.reason != "client close" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}

	// The POST wins the race: the GET that follows still gets its noop.
	q := pollDial(t, ts)
	q.connect("")
	q.expectPost("1")
	h.waitDisconnect(t)
	q.expectGet("6")
	expectStatus(t, q.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
	expectStatus(t, q.post("40"), 400, `{"code":1,"message":"Session ID unknown"}`)

	// Packets before the `1` in the same payload are handled.
	r := pollDial(t, ts)
	r.expectPost("40\x1e" + `42["echo",1]` + "\x1e1")
	if d := h.waitDisconnect(t); d.reason != "client close" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	if ev := <-h.events; ev.ev.Name != "echo" {
		t.Fatalf("event %+v", ev.ev)
	}
}

func TestPollingPayloadTooLarge(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{MaxPayload: 1000}, newTestHandler())
	p := pollDial(t, ts)
	p.connect("")
	big := `42["echo","` + strings.Repeat("x", 1000) + `"]`
	if r := p.post(big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST over maxPayload: %d %q, want 413", r.status, r.body)
	}
	// The session lives on.
	p.expectPost(`42["echo",1]`)
	p.expectGet(`42["echo-back",1]`)
}

// TestPollingInvalidPayload: a malformed POST gets 400 and ends the
// session, and packets after the bad one are not handled.
func TestPollingInvalidPayload(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, body string }{
		{"unknown engine.io type", "abc"},
		{"empty body", ""},
		{"empty packet", "42[\"echo\",1]\x1e\x1e42[\"echo\",2]"},
		{"bad base64", "bnot base64!"},
		{"client ping", "2"},
		{"invalid socket.io packet", `42{}`},
		{"unknown socket.io type", `4abc`},
		{"event for a namespace not joined", `42/custom,["echo"]`},
		{"stray binary", "bAQID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHandler()
			srv, ts := newTestServer(t, Config{AllowBinary: true}, h)
			p := pollDial(t, ts)
			p.connect("")
			expectStatus(t, p.post(tt.body), 400, `{"code":3,"message":"Bad request"}`)
			expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
			h.waitDisconnect(t)
			if n := srv.Stats().ProtocolErrors; n != 1 {
				t.Fatalf("ProtocolErrors = %d", n)
			}
		})
	}
	// An octet-stream body is refused: v4 payloads are text.
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	p.header = http.Header{"Content-Type": {"application/octet-stream"}}
	expectStatus(t, p.post("40"), 400, `{"code":3,"message":"Bad request"}`)
	p.header = nil
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
}

func TestPollingHeartbeat(t *testing.T) {
	t.Parallel()
	srv, ts := newTestServer(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 150 * time.Millisecond}, newTestHandler())
	p := pollDial(t, ts)
	p.connect("")
	for range 5 {
		p.expectGet("2")
		p.expectPost("3")
	}
	// No pong: the session ends; it is gone at once for the next request.
	start := time.Now()
	p.expectGet("2")
	eventually(t, "the ping timeout", func() bool { return srv.Stats().PingTimeouts == 1 })
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed %v after the ping, before PingTimeout", d)
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
}

// TestPollingPingDeadlineIsCheckedLazily: a request after the pong
// deadline ends the session even before pongTimer has fired.
func TestPollingPingDeadlineIsCheckedLazily(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	s.pongDeadline.Store(int64(time.Since(s.start) - time.Millisecond)) // as if the timers were late
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
	if d := h.waitDisconnect(t); d.reason != "ping timeout" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	if n := srv.Stats().PingTimeouts; n != 1 {
		t.Fatalf("PingTimeouts = %d", n)
	}
}

// TestPollingServerKick: Disconnect is graceful over polling too: the
// next GET collects the DISCONNECT and then the close packet.
func TestPollingServerKick(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}}, h)
	p := pollDial(t, ts)
	p.connect("")
	p.expectPost("40/custom,")
	if r := p.get(); !strings.HasPrefix(r.body, `40/custom,{"sid":"`) {
		t.Fatalf("CONNECT reply %q", r.body)
	}
	p.expectPost(`42["kick"]`)
	p.expectGet("41\x1e1")
	for range 2 {
		if d := h.waitDisconnect(t); d.reason != "server namespace disconnect" {
			t.Fatalf("Disconnect(%q, %q)", d.nsp, d.reason)
		}
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
	// The client's own close packet, which it sends after 41, is harmless.
	expectStatus(t, p.post("1"), 400, `{"code":1,"message":"Session ID unknown"}`)
}

// TestPollingServerKickPendingGet: with a GET pending, the kick completes
// it at once.
func TestPollingServerKickPendingGet(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	pending := p.getAsync()
	s.Disconnect("/")
	if r := <-pending; r.status != 200 || r.body != "41\x1e1" {
		t.Fatalf("pending GET: %d %q", r.status, r.body)
	}
	h.waitDisconnect(t)
}

// TestPollingServerClose: Close ends the session; the next GET gets the
// close packet, so the client reconnects.
func TestPollingServerClose(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	p.connect("")
	p.expectPost(`42["close"]`)
	p.expectGet("1")
	if d := h.waitDisconnect(t); d.reason != "bye" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
}

// TestPollingGetDropped: a client that drops its pending GET is gone.
func TestPollingGetDropped(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	p.connect("")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url(), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	if d := h.waitDisconnect(t); d.reason != "poll connection closed prematurely" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
}

func TestPollingShutdown(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{}, h)
	a := pollDial(t, ts)
	a.connect("")
	pending := a.getAsync()
	b := pollDial(t, ts) // never polls again
	b.connect("")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	if r := <-pending; r.status != 200 || r.body != "1" { // the close packet, no DISCONNECT (41)
		t.Fatalf("pending GET: %d %q", r.status, r.body)
	}
	for range 2 {
		if d := h.waitDisconnect(t); d.reason != "server shutting down" {
			t.Fatalf("Disconnect reason %q", d.reason)
		}
	}
	if r := a.do("GET", ts.URL+"/socket.io/?EIO=4&transport=polling", ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Shutdown: %d %q", r.status, r.body)
	}
}

// TestPollingSlowConsumer: a client that stops polling while the server
// sends is dropped like a slow WebSocket client.
func TestPollingSlowConsumer(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{SendBuffer: 16 << 10}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	frame := []byte(`42["data","` + strings.Repeat("x", 1000) + `"]`)
	kicked := false
	for i := 0; i < 100000 && !kicked; i++ {
		kicked = !s.Send(frame, 0)
	}
	if !kicked {
		t.Fatal("Send never reported the slow consumer")
	}
	if d := h.waitDisconnect(t); d.reason != "slow consumer" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	if n := srv.Stats().SlowConsumerKicks; n != 1 {
		t.Fatalf("SlowConsumerKicks = %d", n)
	}
	expectStatus(t, p.get(), 400, `{"code":1,"message":"Session ID unknown"}`)
}

// TestPollingWriteTimeout: frames that no GET collects within
// WriteTimeout end the session.
func TestPollingWriteTimeout(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{SendBuffer: 1 << 30, WriteTimeout: 100 * time.Millisecond}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	frame := []byte(`42["data","` + strings.Repeat("x", 100<<10) + `"]`)
	for range 3 {
		s.Send(frame, 0)
	}
	eventually(t, "the write timeout", func() bool { return srv.Stats().WriteTimeouts == 1 })
	if d := h.waitDisconnect(t); d.reason != "write timeout" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
}

// TestPollingLargeBurst: a burst bigger than one GET's share arrives over
// several GETs, complete and in order.
func TestPollingLargeBurst(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	s := h.socket(t, p.connect(""))
	const n = 3000
	go func() {
		for i := range n {
			s.Send(msgFrame(int64(i+1)), 0)
		}
	}()
	var got []string
	gets := 0
	for len(got) < n {
		r := p.get()
		if r.status != 200 {
			t.Fatalf("GET: %d %q", r.status, r.body)
		}
		gets++
		got = append(got, strings.Split(r.body, "\x1e")...)
	}
	for i, f := range got {
		if f != string(msgFrame(int64(i+1))) {
			t.Fatalf("frame %d: %q", i, f)
		}
	}
	if gets < 2 {
		t.Fatalf("%d KB in %d GET", n*40/1000, gets)
	}
}

// TestPollingReplay: the Replay path is the same over polling: order and
// duplicate drops hold.
func TestPollingReplay(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	h.onConnected = func(s *Socket, nsp string) {
		s.Send(msgFrame(2), 2) // covered by the replay: dropped
		s.Replay(&sliceReplayer{
			frames: []string{string(msgFrame(1)), string(msgFrame(2)), string(msgFrame(3))},
			seqs:   []int64{1, 2, 3},
		}, 3)
		s.Send(msgFrame(3), 3) // dropped
		s.Send(msgFrame(4), 4)
	}
	_, ts := newTestServer(t, Config{}, h)
	p := pollDial(t, ts)
	var got []string
	p.expectPost("40")
	for len(got) < 5 {
		r := p.get()
		got = append(got, strings.Split(r.body, "\x1e")...)
	}
	want := []string{"40", string(msgFrame(1)), string(msgFrame(2)), string(msgFrame(3)), string(msgFrame(4))}
	if !strings.HasPrefix(got[0], `40{"sid":`) || strings.Join(got[1:], " ") != strings.Join(want[1:], " ") {
		t.Fatalf("got %q", got)
	}
}

func TestPollingCORS(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{AllowedOrigins: []string{"https://app.example.com"}}, newTestHandler())
	const allowed = "https://app.example.com"
	withOrigin := func(o string) http.Header {
		if o == "" {
			return nil
		}
		return http.Header{"Origin": {o}}
	}

	// Handshake, POST, GET and error answers all carry the headers.
	p := pollDialPath(t, ts, "/socket.io/", withOrigin(allowed))
	results := map[string]pollResult{
		"handshake": p.do("GET", ts.URL+"/socket.io/?EIO=4&transport=polling", ""),
		"POST":      p.post("40"),
		"GET":       p.get(),
		"400":       p.do("GET", ts.URL+"/socket.io/?EIO=4&transport=polling&sid=nope", ""),
	}
	for name, r := range results {
		h := r.header
		if h.Get("Access-Control-Allow-Origin") != allowed || h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Vary") != "Origin" {
			t.Fatalf("%s: %d, CORS headers %v", name, r.status, h)
		}
	}

	// No Origin (non-browser clients): no CORS headers.
	q := pollDial(t, ts)
	if r := q.post("40"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS headers without Origin: %v", r.header)
	}

	// A foreign Origin is refused.
	for _, o := range []string{"https://evil.example.com", "http://app.example.com", "null"} {
		r := (&pollClient{t: t, ts: ts, header: withOrigin(o)}).do("GET", ts.URL+"/socket.io/?EIO=4&transport=polling", "")
		expectStatus(t, r, 403, `{"code":4,"message":"Forbidden"}`)
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s: CORS headers on a refusal", o)
		}
		r = (&pollClient{t: t, ts: ts, header: withOrigin(o)}).do("POST", q.url(), "40")
		expectStatus(t, r, 403, `{"code":4,"message":"Forbidden"}`)
	}

	// Preflight.
	pre := &pollClient{t: t, ts: ts, header: http.Header{
		"Origin":                         {allowed},
		"Access-Control-Request-Method":  {"POST"},
		"Access-Control-Request-Headers": {"x-custom, content-type"},
	}}
	r := pre.do("OPTIONS", ts.URL+"/socket.io/?EIO=4&transport=polling&sid="+q.sid, "")
	h := r.header
	if r.status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != allowed ||
		h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Allow-Headers") != "x-custom, content-type" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", r.status, h)
	}
	pre.header.Set("Origin", "https://evil.example.com")
	expectStatus(t, pre.do("OPTIONS", ts.URL+"/socket.io/?EIO=4&transport=polling", ""), 403, `{"code":4,"message":"Forbidden"}`)
	// Same origin needs no configuration.
	same := &pollClient{t: t, ts: ts, header: withOrigin(ts.URL)}
	if r := same.do("GET", ts.URL+"/socket.io/?EIO=4&transport=polling", ""); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != ts.URL {
		t.Fatalf("same origin: %d %v", r.status, r.header)
	}
}

func TestPayloadCodec(t *testing.T) {
	t.Parallel()
	frames := []pollFrame{
		{b: []byte("42[\"a\",\"\u00e9\u2713\"]")},
		{binary: true, b: []byte{1, 2, 3}},
		{binary: true, b: []byte{}},
		{b: []byte("2")},
		{binary: true, b: []byte{0xff}},
	}
	body := encodePayload(frames)
	if want := "42[\"a\",\"\u00e9\u2713\"]\x1ebAQID\x1eb\x1e2\x1eb/w=="; string(body) != want {
		t.Fatalf("encoded %q, want %q", body, want)
	}
	got, err := decodePayload(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(frames) {
		t.Fatalf("decoded %d frames", len(got))
	}
	for i := range got {
		if got[i].binary != frames[i].binary || string(got[i].b) != string(frames[i].b) {
			t.Fatalf("frame %d: %+v, want %+v", i, got[i], frames[i])
		}
	}
	for _, bad := range []string{"", "\x1e", "4a\x1e", "x", "7", "b*", "bAQI"} {
		if _, err := decodePayload([]byte(bad)); err == nil {
			t.Errorf("decodePayload(%q) succeeded", bad)
		}
	}
}
