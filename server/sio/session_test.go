package sio

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestOpenPacket(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{PingInterval: 1500 * time.Millisecond, PingTimeout: 700 * time.Millisecond, MaxPayload: 12345}, newTestHandler())
	c := dial(t, ts)
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(c.raw[1:]), &keys); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"upgrades": `[]`, "pingInterval": `1500`, "pingTimeout": `700`, "maxPayload": `12345`}
	if len(keys) != 5 {
		t.Fatalf("open packet %s: want exactly 5 keys", c.raw)
	}
	for k, v := range want {
		if string(keys[k]) != v {
			t.Fatalf("open packet %s: %s = %s, want %s", c.raw, k, keys[k], v)
		}
	}
	if len(c.open.SID) != 20 || strings.ContainsAny(c.open.SID, "+/=") {
		t.Fatalf("sid %q: want 20 URL-safe characters", c.open.SID)
	}
	// Defaults.
	_, ts2 := newTestServer(t, Config{}, newTestHandler())
	d := dial(t, ts2)
	if o := d.open; o.PingInterval != 25000 || o.PingTimeout != 20000 || o.MaxPayload != 65536 || o.SID == c.open.SID {
		t.Fatalf("default open packet %s", d.raw)
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 150 * time.Millisecond}, h)
	c := dial(t, ts)
	c.seePings = true
	for range 3 {
		start := time.Now()
		c.expect("2") // nothing else is sent before the first ping
		if d := time.Since(start); d > time.Second {
			t.Fatalf("ping after %v", d)
		}
		c.send("3")
	}
	// A pong nobody asked for is ignored.
	c.send("3")
	c.expect("2")
	// No pong: the session ends after PingTimeout.
	start := time.Now()
	c.expectClose()
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed %v after the last ping, before PingTimeout", d)
	}
	eventually(t, "the ping timeout counter", func() bool { return srv.Stats().PingTimeouts == 1 })
}

func TestHeartbeatKeepsConnectedSocketAlive(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{PingInterval: 30 * time.Millisecond, PingTimeout: time.Second}, h)
	c := dial(t, ts)
	c.seePings = true
	c.connect("/", "")
	pings := 0
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		c.send(`42["echo",1]`)
		for {
			f := c.readText()
			if f == "2" {
				pings++
				c.send("3")
				continue
			}
			if f != `42["echo-back",1]` {
				t.Fatalf("got %q", f)
			}
			break
		}
	}
	if pings < 2 || srv.Stats().PingTimeouts != 0 {
		t.Fatalf("%d pings, %d ping timeouts", pings, srv.Stats().PingTimeouts)
	}
}

func TestClientPingIsProtocolError(t *testing.T) {
	t.Parallel()
	srv, ts := newTestServer(t, Config{}, newTestHandler())
	c := dial(t, ts)
	c.send("2")
	if code := c.expectClose(); code != websocket.StatusProtocolError {
		t.Fatalf("closed with %v, want 1002", code)
	}
	eventually(t, "protocol error counter", func() bool { return srv.Stats().ProtocolErrors == 1 })
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	c.connect("/", "")
	c.send("1")
	if code := c.expectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v, want 1000", code)
	}
	if d := h.waitDisconnect(t); d.reason != "client close" || d.nsp != "/" {
		t.Fatalf("Disconnect %q %q", d.nsp, d.reason)
	}
}

func TestIgnoredEnginePackets(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{}, newTestHandler())
	c := dial(t, ts)
	c.connect("/", "")
	c.send("5")
	c.send("6")
	c.expectOpen()
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	srv, ts := newTestServer(t, Config{ConnectTimeout: 100 * time.Millisecond}, newTestHandler())
	idle := dial(t, ts)
	joined := dial(t, ts)
	joined.connect("/", "")
	start := time.Now()
	idle.expectClose()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
	time.Sleep(150 * time.Millisecond)
	joined.expectOpen()
	if n := srv.Stats().ConnectTimeouts; n != 1 {
		t.Fatalf("ConnectTimeouts = %d", n)
	}
}

// TestBadInputClosesOnlyThatSocket sends each kind of invalid input on its
// own session while a bystander keeps chatting.
func TestBadInputClosesOnlyThatSocket(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{MaxPayload: 1000, Namespaces: []string{"/", "/custom"}}, h)
	bystander := dial(t, ts)
	bystander.connect("/", "")

	type frame struct {
		binary bool
		data   string
	}
	text := func(s string) frame { return frame{data: s} }
	tests := []struct {
		name    string
		connect bool
		frames  []frame
		code    websocket.StatusCode
	}{
		{"engine type a (4abc)", false, []frame{text("4abc")}, websocket.StatusProtocolError},
		{"4abc after connect", true, []frame{text("4abc")}, websocket.StatusProtocolError},
		{"unknown engine type", true, []frame{text("9")}, websocket.StatusProtocolError},
		{"empty text frame", true, []frame{text("")}, websocket.StatusProtocolError},
		{"event object 42{}", true, []frame{text("42{}")}, websocket.StatusProtocolError},
		{"event 42abc[", true, []frame{text(`42abc["x"]`)}, websocket.StatusProtocolError},
		{"truncated event", true, []frame{text(`42["echo","ab`)}, websocket.StatusProtocolError},
		{"reserved event name", true, []frame{text(`42["disconnect"]`)}, websocket.StatusProtocolError},
		{"invalid ack id", true, []frame{text(`42abc["x"]`)}, websocket.StatusProtocolError},
		{"stray binary frame", true, []frame{{true, "\x01\x02"}}, websocket.StatusProtocolError},
		{"binary packet not allowed", true, []frame{text(`451-["x",{"_placeholder":true,"num":0}]`)}, websocket.StatusProtocolError},
		{"event before connect", false, []frame{text(`42["echo"]`)}, websocket.StatusProtocolError},
		{"event on a namespace not joined", true, []frame{text(`42/custom,["echo"]`)}, websocket.StatusProtocolError},
		{"second connect", true, []frame{text("40")}, websocket.StatusProtocolError},
		{"connect_error from client", true, []frame{text(`44{"message":"x"}`)}, websocket.StatusProtocolError},
		{"disconnect with payload", true, []frame{text("41{}")}, websocket.StatusProtocolError},
		{"over maxPayload", true, []frame{text(`42["echo","` + strings.Repeat("x", 1000) + `"]`)}, websocket.StatusMessageTooBig},
		{"invalid utf-8", true, []frame{text("42[\"\xff\"]")}, websocket.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, ts)
			if tt.connect {
				c.connect("/", "")
			}
			for _, f := range tt.frames {
				if f.binary {
					c.sendBinary([]byte(f.data))
				} else {
					c.send(f.data)
				}
			}
			if code := c.expectClose(); code != tt.code {
				t.Fatalf("closed with %v, want %v", code, tt.code)
			}
			bystander.expectOpen()
		})
	}
	eventually(t, "ProtocolErrors to count every case", func() bool {
		return srv.Stats().ProtocolErrors == int64(len(tests))
	})
}

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, ts := newTestServer(t, Config{SendBuffer: 64 << 10, Logger: logger}, h)
	c := dial(t, ts)
	id := c.connect("/", "")
	s := h.socket(t, id)
	bystander := dial(t, ts)
	bystander.connect("/", "")

	// The client stops reading; the server keeps sending until the socket
	// is closed as a slow consumer.
	frame := []byte(`42["data","` + strings.Repeat("x", 1000) + `"]`)
	kicked := false
	for i := 0; i < 200000; i++ {
		if !s.Send(frame, 0) {
			kicked = true
			break
		}
	}
	if !kicked {
		t.Fatal("Send never reported the slow consumer")
	}
	if s.Send(frame, 0) {
		t.Fatal("Send after the kick succeeded")
	}
	if code := c.expectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %v, want 1008", code)
	}
	if d := h.waitDisconnect(t); d.reason != "slow consumer" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	if n := srv.Stats().SlowConsumerKicks; n != 1 {
		t.Fatalf("SlowConsumerKicks = %d", n)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "slow consumer") {
		t.Fatalf("no Warn log: %q", logs.String())
	}
	bystander.expectOpen()
}

func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{SendBuffer: 1 << 30, WriteTimeout: 100 * time.Millisecond}, h)
	c := dial(t, ts)
	s := h.socket(t, c.connect("/", ""))
	frame := []byte(`42["data","` + strings.Repeat("x", 1<<20) + `"]`)
	for i := 0; i < 200 && s.Send(frame, 0); i++ {
	}
	eventually(t, "the write timeout", func() bool { return srv.Stats().WriteTimeouts == 1 })
	if d := h.waitDisconnect(t); d.reason != "write timeout" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
}

// sliceReplayer replays fixed frames; gate, when set, is awaited first.
type sliceReplayer struct {
	gate   chan struct{}
	frames []string
	seqs   []int64
}

func (r *sliceReplayer) Next(ctx context.Context) ([]byte, int64, error) {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		r.gate = nil
	}
	if len(r.frames) == 0 {
		return nil, 0, io.EOF
	}
	f := r.frames[0]
	r.frames = r.frames[1:]
	var seq int64
	if len(r.seqs) > 0 {
		seq, r.seqs = r.seqs[0], r.seqs[1:]
	}
	return []byte(f), seq, nil
}

func msgFrame(seq int64) []byte {
	return []byte(`42["message",{"seq":"` + strconv.FormatInt(seq, 10) + `"}]`)
}

func TestReplayOrdering(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	gate := make(chan struct{})
	h.onConnected = func(s *Socket, nsp string) {
		// A first replay holds the writer, so that what follows is
		// certainly still queued when the second replay is set up.
		s.Replay(&sliceReplayer{gate: gate, frames: []string{`42["first"]`}}, 0)
		s.Send(msgFrame(5), 5)            // queued before the replay that covers it: dropped
		s.Send([]byte(`42["plain1"]`), 0) // not a message: kept, before the replay
		s.Replay(&sliceReplayer{
			frames: []string{string(msgFrame(3)), string(msgFrame(4)), string(msgFrame(5)), string(msgFrame(6))},
			seqs:   []int64{3, 4, 5, 6},
		}, 6)
		if !s.Send(msgFrame(6), 6) { // a duplicate: dropped, but not an error
			panic("Send of a duplicate returned false")
		}
		s.Send(msgFrame(7), 7)
		s.Send([]byte(`42["plain2"]`), 0)
		close(gate)
	}
	_, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	c.connect("/", "")
	c.expect(`42["first"]`)
	c.expect(`42["plain1"]`)
	for seq := int64(3); seq <= 7; seq++ {
		c.expect(string(msgFrame(seq)))
	}
	c.expect(`42["plain2"]`)
	c.expectOpen() // and nothing else came in between
}

func TestReplayDoesNotCountTowardSendBuffer(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	const n = 200
	big := `42["message","` + strings.Repeat("r", 1000) + `"]`
	gate := make(chan struct{})
	results := make(chan [2]bool, 1)
	h.onConnected = func(s *Socket, nsp string) {
		frames := make([]string, n)
		for i := range frames {
			frames[i] = big
		}
		// 200 KB of replay through a 16 KiB buffer.
		s.Replay(&sliceReplayer{gate: gate, frames: frames}, 0)
		// Frames behind the replay count: 12 KB fit, 20 KB more do not.
		behind := s.Send([]byte(`42["after","`+strings.Repeat("a", 12000)+`"]`), 0)
		overflow := !s.Send([]byte(`42["after","`+strings.Repeat("b", 20000)+`"]`), 0)
		results <- [2]bool{behind, overflow}
		close(gate)
	}
	_, ts := newTestServer(t, Config{SendBuffer: 16 << 10}, h)
	c := dial(t, ts)
	c.send("40")
	if r := <-results; !r[0] || !r[1] {
		t.Fatalf("Send behind the replay: fit %v, overflow %v", r[0], r[1])
	}
	// The overflow closed the session, dropping the queue (and perhaps
	// the CONNECT reply).
	if code := c.expectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %v", code)
	}

	// Without the overflow, the whole replay arrives.
	h2 := newTestHandler()
	h2.onConnected = func(s *Socket, nsp string) {
		frames := make([]string, n)
		for i := range frames {
			frames[i] = big
		}
		s.Replay(&sliceReplayer{frames: frames}, 0)
		s.Send([]byte(`42["after"]`), 0)
	}
	srv2, ts2 := newTestServer(t, Config{SendBuffer: 16 << 10}, h2)
	c2 := dial(t, ts2)
	c2.connect("/", "")
	for range n {
		c2.expect(big)
	}
	c2.expect(`42["after"]`)
	if k := srv2.Stats().SlowConsumerKicks; k != 0 {
		t.Fatalf("SlowConsumerKicks = %d", k)
	}
}

type failingReplayer struct{}

func (failingReplayer) Next(context.Context) ([]byte, int64, error) {
	return nil, 0, io.ErrUnexpectedEOF
}

func TestReplayFailureClosesSession(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	h.onConnected = func(s *Socket, nsp string) { s.Replay(failingReplayer{}, 10) }
	_, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	c.connect("/", "")
	if code := c.expectClose(); code != websocket.StatusInternalError {
		t.Fatalf("closed with %v, want 1011", code)
	}
	if d := h.waitDisconnect(t); d.reason != "replay failed" {
		t.Fatalf("reason %q", d.reason)
	}
}

func TestNormalCloseLogsAtDebugOnly(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{Logger: logger}, h)
	c := dial(t, ts)
	c.connect("/", `{"token":"secret-token"}`)
	c.send(`42["echo","secret-payload"]`)
	c.expect(`42["echo-back","secret-payload"]`)
	_ = c.c.Close(websocket.StatusNormalClosure, "")
	h.waitDisconnect(t)
	eventually(t, "the session to end", func() bool { return srv.Stats().Connections == 0 })
	// The closing line is logged after the session leaves the table.
	eventually(t, "the close to be logged", func() bool { return strings.Contains(logs.String(), "sio: session closed") })
	out := logs.String()
	if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
		t.Fatalf("normal close logged above Debug:\n%s", out)
	}
	if !strings.Contains(out, "conn_id=") || !strings.Contains(out, "remote=") || !strings.Contains(out, "dur=") {
		t.Fatalf("missing keys:\n%s", out)
	}
	if strings.Contains(out, "secret") {
		t.Fatalf("payload logged:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// slowReplayer waits d before each frame, like a replay reading a busy store.
type slowReplayer struct {
	sliceReplayer
	d time.Duration
}

func (r *slowReplayer) Next(ctx context.Context) ([]byte, int64, error) {
	time.Sleep(r.d)
	return r.sliceReplayer.Next(ctx)
}

// A replay that waits for its store longer than WriteTimeout is not a slow
// client: the session stays up and the frames arrive.
func TestReplayWaitIsNotAWriteTimeout(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	h.onConnected = func(s *Socket, nsp string) {
		s.Send([]byte(`42["before"]`), 0) // arms the write timer
		s.Replay(&slowReplayer{sliceReplayer{frames: []string{`42["r1"]`, `42["r2"]`}}, 250 * time.Millisecond}, 0)
	}
	srv, ts := newTestServer(t, Config{WriteTimeout: 100 * time.Millisecond}, h)
	c := dial(t, ts)
	c.connect("/", "")
	c.expect(`42["before"]`)
	c.expect(`42["r1"]`)
	c.expect(`42["r2"]`)
	if n := srv.Stats().WriteTimeouts; n != 0 {
		t.Fatalf("write timeouts: %d", n)
	}
}
