package sio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// testHandler records what the server reports and answers a few events:
// "echo" is emitted back as "echo-back" (acked when asked), "panic" panics,
// "close" calls Close, "kick" calls Disconnect("/").
type testHandler struct {
	mu          sync.Mutex
	sockets     map[string]*Socket // by ID
	connects    chan testConnect
	events      chan testEvent
	disconnects chan testDisconnect
	onConnected func(s *Socket, nsp string)
}

type testConnect struct {
	s    *Socket
	nsp  string
	auth json.RawMessage
}

type testEvent struct {
	s   *Socket
	nsp string
	ev  Event
}

type testDisconnect struct {
	s      *Socket
	nsp    string
	reason string
}

func newTestHandler() *testHandler {
	return &testHandler{
		sockets:     make(map[string]*Socket),
		connects:    make(chan testConnect, 100),
		events:      make(chan testEvent, 1000),
		disconnects: make(chan testDisconnect, 100),
	}
}

func (h *testHandler) Connect(s *Socket, nsp string, auth json.RawMessage) error {
	if bytes.Contains(auth, []byte(`"bad"`)) {
		return errors.New(`no <"bad"> tokens`)
	}
	h.mu.Lock()
	h.sockets[s.ID()] = s
	h.mu.Unlock()
	h.connects <- testConnect{s, nsp, auth}
	return nil
}

func (h *testHandler) Connected(s *Socket, nsp string) {
	if h.onConnected != nil {
		h.onConnected(s, nsp)
	}
}

func (h *testHandler) Event(s *Socket, nsp string, ev Event) {
	switch ev.Name {
	case "echo":
		if ev.AckID >= 0 {
			_ = s.AckBinary(nsp, ev.AckID, ev.Args, ev.Attachments)
		} else {
			_ = s.EmitBinary(nsp, "echo-back", ev.Args, ev.Attachments)
		}
	case "panic":
		panic("test panic")
	case "close":
		s.Close("bye")
	case "kick":
		s.Disconnect("/")
	}
	select {
	case h.events <- testEvent{s, nsp, ev}:
	default: // nobody is looking; never block the read loop
	}
}

func (h *testHandler) Disconnect(s *Socket, nsp string, reason string) {
	h.disconnects <- testDisconnect{s, nsp, reason}
}

func (h *testHandler) socket(t *testing.T, id string) *Socket {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sockets[id]
	if s == nil {
		t.Fatalf("no socket %q", id)
	}
	return s
}

// waitDisconnect returns the next Disconnect call.
func (h *testHandler) waitDisconnect(t *testing.T) testDisconnect {
	t.Helper()
	select {
	case d := <-h.disconnects:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no Disconnect call")
		return testDisconnect{}
	}
}

// testLogger returns a logger writing to the test output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestServer starts srv behind httptest and returns the server and the
// base ws URL of its Engine.IO endpoint.
func newTestServer(t *testing.T, cfg Config, h Handler) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv := NewServer(cfg, h)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			buf := make([]byte, 1<<20)
			t.Errorf("Shutdown: %v\n%s", err, buf[:runtime.Stack(buf, true)])
		}
		ts.Close()
	})
	return srv, ts
}

func wsURL(ts *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + path + "?EIO=4&transport=websocket"
}

// client is a raw Engine.IO client on a real WebSocket.
type client struct {
	t    *testing.T
	c    *websocket.Conn
	open shared.EngineOpen
	raw  string // the open packet as received

	seePings bool        // read returns pings instead of skipping them
	noPongs  atomic.Bool // skipped pings are not answered
}

// dial opens a WebSocket session on the socket.io path and reads the open
// packet.
func dial(t *testing.T, ts *httptest.Server) *client {
	t.Helper()
	return dialURL(t, wsURL(ts, "/socket.io/"), nil)
}

func dialURL(t *testing.T, url string, header http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	cl := &client{t: t, c: c}
	typ, b := cl.read()
	if typ != websocket.MessageText {
		t.Fatalf("first frame is %v", typ)
	}
	cl.raw = string(b)
	cl.open, err = shared.ParseEngineOpen(b)
	if err != nil {
		t.Fatalf("open packet %q: %v", b, err)
	}
	return cl
}

// read returns the next frame. Unless seePings is set, it skips pings and
// answers them (unless noPongs).
func (c *client) read() (websocket.MessageType, []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		typ, b, err := c.c.Read(ctx)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if !c.seePings && typ == websocket.MessageText && string(b) == "2" {
			if !c.noPongs.Load() {
				c.send("3")
			}
			continue
		}
		return typ, b
	}
}

// readText reads the next frame, which must be text.
func (c *client) readText() string {
	c.t.Helper()
	typ, b := c.read()
	if typ != websocket.MessageText {
		c.t.Fatalf("got a binary frame %x, want text", b)
	}
	return string(b)
}

// expect reads the next frame and compares it with want.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.readText(); got != want {
		c.t.Fatalf("got frame %q, want %q", got, want)
	}
}

func (c *client) expectBinary(want []byte) {
	c.t.Helper()
	typ, b := c.read()
	if typ != websocket.MessageBinary || !bytes.Equal(b, want) {
		c.t.Fatalf("got frame %v %x, want binary %x", typ, b, want)
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

func (c *client) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.c.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		c.t.Fatalf("write binary: %v", err)
	}
}

// connect joins nsp with the CONNECT payload auth ("" for none) and returns
// the socket id of the reply.
func (c *client) connect(nsp, auth string) string {
	c.t.Helper()
	p := shared.Packet{Type: shared.PacketConnect, Nsp: nsp, ID: -1}
	if auth != "" {
		p.Data = json.RawMessage(auth)
	}
	c.send(string(shared.AppendPacket([]byte("4"), p)))
	got := c.readText()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	if !strings.HasPrefix(got, prefix+"{") {
		c.t.Fatalf("CONNECT reply %q, want %s{…}", got, prefix)
	}
	var reply map[string]string
	if err := json.Unmarshal([]byte(got[len(prefix):]), &reply); err != nil || len(reply) != 1 || reply["sid"] == "" {
		c.t.Fatalf("CONNECT reply %q: want exactly {\"sid\":…} (%v)", got, err)
	}
	return reply["sid"]
}

// expectClose reads until the connection ends and returns the close
// status (-1 when there was no close frame).
func (c *client) expectClose() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				c.t.Fatal("connection not closed within 5s")
			}
			return websocket.CloseStatus(err)
		}
		if string(b) == "2" { // a ping while we wait
			continue
		}
	}
}

// framesUntilClose reads until the connection ends and returns every
// text frame but pings, and the close status (-1 without a close frame).
func (c *client) framesUntilClose() ([]string, websocket.StatusCode) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var frames []string
	for {
		_, b, err := c.c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				c.t.Fatalf("connection not closed within 5s; frames %q", frames)
			}
			return frames, websocket.CloseStatus(err)
		}
		if string(b) != "2" {
			frames = append(frames, string(b))
		}
	}
}

// expectOpen checks that the session still works: an echo round trip.
func (c *client) expectOpen() {
	c.t.Helper()
	c.send(`42["echo","still here"]`)
	c.expect(`42["echo-back","still here"]`)
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
