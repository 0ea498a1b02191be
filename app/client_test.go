package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// The service against a scripted Engine.IO/Socket.IO server: the test
// plays the server frame by frame.

// memKV is localStorage for tests.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memKV) Set(k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[k] = b
	return nil
}

func (s *memKV) Get(k string, v any) error {
	s.mu.Lock()
	b, ok := s.m[k]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return json.Unmarshal(b, v)
}

func (s *memKV) Del(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// testHost runs scheduled work on its own goroutine and keeps the last View.
type testHost struct {
	kv      memKV
	on      atomic.Bool
	mu      sync.Mutex
	last    View
	notes   []note
	changed chan struct{}
}

func newTestHost() *testHost {
	h := &testHost{changed: make(chan struct{}, 1)}
	h.on.Store(true)
	return h
}

func (h *testHost) schedule(f func()) { go f() }
func (h *testHost) storage() kv       { return &h.kv }
func (h *testHost) online() bool      { return h.on.Load() }

func (h *testHost) notify(n note) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes = append(h.notes, n)
}

func (h *testHost) publish(v View) {
	h.mu.Lock()
	h.last = v
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// waitView waits until ok holds for the published View.
func (h *testHost) waitView(t *testing.T, what string, ok func(View) bool) View {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		h.mu.Lock()
		v := h.last
		h.mu.Unlock()
		if ok(v) {
			return v
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; view: state %s, logged in %v, messages %+v, pending %+v, notices %+v",
				what, v.State, v.LoggedIn, v.Messages, v.Pending, v.Notices)
		}
	}
}

// fakeServer accepts WebSockets on /socket.io/ and hands them to the test.
type fakeServer struct {
	t     *testing.T
	url   *url.URL
	conns chan *fakeConn
}

type fakeConn struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan string
	done   chan struct{}
}

func newFakeServer(t *testing.T) *fakeServer {
	fs := &fakeServer{t: t, conns: make(chan *fakeConn, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/socket.io/" || r.URL.Query().Get("EIO") != "4" || r.URL.Query().Get("transport") != "websocket" {
			http.Error(w, "bad endpoint "+r.URL.String(), http.StatusBadRequest)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		fc := &fakeConn{t: t, c: c, frames: make(chan string, 64), done: make(chan struct{})}
		go func() {
			defer close(fc.frames)
			for {
				_, b, err := c.Read(context.Background())
				if err != nil {
					return
				}
				fc.frames <- string(b)
			}
		}()
		fs.conns <- fc
		select {
		case <-fc.done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	fs.url, _ = url.Parse(srv.URL)
	return fs
}

func (fs *fakeServer) accept() *fakeConn {
	fs.t.Helper()
	select {
	case fc := <-fs.conns:
		fs.t.Cleanup(fc.close)
		return fc
	case <-time.After(5 * time.Second):
		fs.t.Fatal("the client did not connect")
		return nil
	}
}

func (fc *fakeConn) close() {
	select {
	case <-fc.done:
	default:
		close(fc.done)
		fc.c.CloseNow()
	}
}

func (fc *fakeConn) send(frame string) {
	fc.t.Helper()
	if err := fc.c.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		fc.t.Fatalf("server write %q: %v", frame, err)
	}
}

// open sends the Engine.IO open packet.
func (fc *fakeConn) open(pingInterval, pingTimeout int) {
	fc.t.Helper()
	fc.send(string(shared.AppendEngineOpen(nil, shared.EngineOpen{SID: "s1", PingInterval: pingInterval, PingTimeout: pingTimeout, MaxPayload: 65536})))
}

// recv returns the next frame from the client.
func (fc *fakeConn) recv() string {
	fc.t.Helper()
	select {
	case f, ok := <-fc.frames:
		if !ok {
			fc.t.Fatal("the client closed the connection")
		}
		return f
	case <-time.After(5 * time.Second):
		fc.t.Fatal("no frame from the client")
		return ""
	}
}

// request is a client event with an ack id.
type request struct {
	id   int64
	name string
	arg  json.RawMessage
}

// recvRequest returns the next event named name, skipping other frames.
func (fc *fakeConn) recvRequest(name string) request {
	fc.t.Helper()
	for {
		f := fc.recv()
		if !strings.HasPrefix(f, "42") {
			continue
		}
		p, err := shared.DecodePacket([]byte(f[1:]))
		if err != nil {
			fc.t.Fatalf("client sent a bad packet %q: %v", f, err)
		}
		n, args, err := shared.EventArgs(p.Data)
		if err != nil || len(args) != 1 {
			fc.t.Fatalf("client sent a bad event %q: %v", f, err)
		}
		if p.ID < 0 {
			fc.t.Fatalf("client request without an ack id: %q", f)
		}
		if n == name {
			return request{id: p.ID, name: n, arg: args[0]}
		}
	}
}

func (fc *fakeConn) ack(id int64, r shared.Response) {
	fc.t.Helper()
	b, err := shared.AckFrame(id, r)
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.send(string(b))
}

func (fc *fakeConn) emit(name string, v any) {
	fc.t.Helper()
	b, err := shared.EventFrame(name, v)
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.send(string(b))
}

// connect reads the client's CONNECT, checks its auth and accepts it.
func (fc *fakeConn) connect(wantAuth string) {
	fc.t.Helper()
	if got := fc.recv(); got != "40"+wantAuth {
		fc.t.Fatalf("CONNECT %q, want %q", got, "40"+wantAuth)
	}
	fc.send(`40{"sid":"x1"}`)
}

func startTestService(t *testing.T, h *testHost, fs *fakeServer) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := newService(h)
	s.start(ctx, fs.url, "en-US")
	return s
}

// origin is the key of what the service stores for this server.
func (fs *fakeServer) origin() string { return "http://" + fs.url.Host }

func withSession(h *testHost, fs *fakeServer, token, id string, offset int, cached ...shared.Message) {
	h.kv.Set(keySession+fs.origin(), savedSession{Token: token, User: &shared.Profile{ID: id}, Offset: shared.Seq(offset)})
	if len(cached) > 0 {
		h.kv.Set(keyCache+fs.origin(), savedCache{Owner: shared.Fold(id), Convs: []cachedConv{{Kind: kindAll, From: cached[0].Seq, Msgs: cached}}})
	}
}

func hasSeqs(v View, seqs ...string) bool {
	if len(v.Messages) != len(seqs) {
		return false
	}
	for i, m := range v.Messages {
		if m.Seq != seqs[i] {
			return false
		}
	}
	return true
}

func TestService_ResumesWithTokenAndOffset(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	fs := newFakeServer(t)
	withSession(h, fs, "tok", "alice", 41, msg(41, "bob", "ALL", shared.CommandChat, "cached"))
	startTestService(t, h, fs)

	// The cache shows at once, before any connection.
	h.waitView(t, "the cached message", func(v View) bool { return v.LoggedIn && hasSeqs(v, "41") })

	fc := fs.accept()
	fc.open(25000, 20000)
	fc.connect(`{"token":"tok","offset":"41"}`)
	h.waitView(t, "connected", func(v View) bool { return v.State == stateConnected })
	fc.emit(shared.EventMessage, msg(42, "bob", "alice", shared.CommandChat, "missed"))
	fc.emit(shared.EventMessage, msg(41, "bob", "ALL", shared.CommandChat, "cached")) // a duplicate
	h.waitView(t, "the replayed message", func(v View) bool { return hasSeqs(v, "41", "42") })

	// The offset is persisted with the cache.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ss savedSession
		h.kv.Get(keySession+fs.origin(), &ss)
		if ss.Offset == 42 && ss.Token == "tok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored session %+v, want offset 42", ss)
		}
		time.Sleep(10 * time.Millisecond) // the write is scheduled, not signalled
	}
}

func TestService_AnswersPingsAndDropsASilentServer(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	fs := newFakeServer(t)
	withSession(h, fs, "tok", "alice", 0)
	startTestService(t, h, fs)

	fc := fs.accept()
	fc.open(150, 100)
	fc.connect(`{"token":"tok","offset":"0"}`)
	for range 3 {
		fc.send("2")
		for f := fc.recv(); f != "3"; f = fc.recv() {
			if !strings.HasPrefix(f, "42") { // history requests may come first
				t.Fatalf("answer to a ping: %q", f)
			}
		}
	}
	// Silence: after pingInterval+pingTimeout (250 ms) the link is dead,
	// and the first retry comes within a second.
	start := time.Now()
	fc2 := fs.accept()
	if d := time.Since(start); d > 250*time.Millisecond+backoffBase+500*time.Millisecond {
		t.Fatalf("reconnected after %v", d)
	}
	fc2.open(25000, 20000)
	fc2.connect(`{"token":"tok","offset":"0"}`)
	h.waitView(t, "connected again", func(v View) bool { return v.State == stateConnected })
}

func TestService_InvalidSessionForgetsTheToken(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	fs := newFakeServer(t)
	withSession(h, fs, "revoked", "alice", 3)
	startTestService(t, h, fs)

	fc := fs.accept()
	fc.open(25000, 20000)
	if got := fc.recv(); !strings.HasPrefix(got, `40{"token":"revoked"`) {
		t.Fatalf("CONNECT %q", got)
	}
	fc.send(`44{"message":"invalid session"}`)

	fc2 := fs.accept() // at once, without the token
	fc2.open(25000, 20000)
	fc2.connect("")
	v := h.waitView(t, "logged out", func(v View) bool { return !v.LoggedIn && v.State == stateConnected })
	if n := v.Notices["login"]; !n.Error || n.text(langEN) != "Your session ended. Log in again." {
		t.Fatalf("login notice %+v", n)
	}
	var ss savedSession
	h.kv.Get(keySession+fs.origin(), &ss)
	if ss.Token != "" || ss.User != nil {
		t.Fatalf("stored session still has %+v", ss)
	}
}

func TestService_LoginPressedWhileConnecting(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	fs := newFakeServer(t)
	s := startTestService(t, h, fs)
	fc := fs.accept()
	s.Login(loginForm{ID: "early", Password: "secret1"})
	h.waitView(t, "waiting to log in", func(v View) bool {
		return v.Notices["login"].text(langEN) == "Logging in as soon as the connection is up…"
	})
	fc.open(25000, 20000)
	fc.connect("")
	r := fc.recvRequest(shared.EventLogin)
	fc.ack(r.id, shared.Response{Command: "login", Code: "200", Token: "t", User: &shared.Profile{ID: "early"}, Offset: "0"})
	h.waitView(t, "logged in", func(v View) bool { return v.LoggedIn && v.Me.ID == "early" })
}

func TestService_LoginAndRefusals(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	fs := newFakeServer(t)
	s := startTestService(t, h, fs)
	fc := fs.accept()
	fc.open(25000, 20000)
	fc.connect("")
	h.waitView(t, "connected", func(v View) bool { return v.State == stateConnected })

	// Checked locally first: nothing is sent.
	s.Login(loginForm{ID: "no spaces", Password: "x"})
	h.waitView(t, "the local check", func(v View) bool {
		return v.Notices["login"].text(langEN) == "Check the ID: use only letters A–Z, digits and _ . -."
	})

	s.Login(loginForm{ID: "alice", Password: "wrong"})
	r := fc.recvRequest(shared.EventLogin)
	fc.ack(r.id, shared.Response{Command: "login", Code: "401", Message: "unknown id or wrong password"})
	h.waitView(t, "the refusal", func(v View) bool { return v.Notices["login"].text(langEN) == "Wrong id or password." })

	s.Login(loginForm{ID: "alice", Password: "secret1", Alias: "Al"})
	r = fc.recvRequest(shared.EventLogin)
	var req shared.Login
	json.Unmarshal(r.arg, &req)
	if req.ID != "alice" || req.Password != "secret1" || req.Alias == nil || *req.Alias != "Al" || req.Today != nil || req.Offset != nil {
		t.Fatalf("login request %s (a new device asks for no replay)", r.arg)
	}
	fc.ack(r.id, shared.Response{Command: "login", Code: "200", Token: "t0k", User: &shared.Profile{ID: "alice", Alias: "Al"}, Offset: "17",
		Conversations: []shared.Conversation{{Target: "ALL", Command: shared.CommandChat, Last: 16, Unread: 2}}})
	h.waitView(t, "logged in, with the counts of the login", func(v View) bool { return v.LoggedIn && v.Me.Alias == "Al" && v.All.Unread == 2 })

	// Opening a conversation loads its newest page, from the newest event
	// the login named, and marks it read there.
	s.Select(allConv)
	r = fc.recvRequest(shared.EventHistory)
	var hr shared.HistoryRequest
	json.Unmarshal(r.arg, &hr)
	if hr.Target != shared.All || hr.Command != shared.CommandChat || string(hr.Limit) != "50" || string(hr.Before) != `"17"` {
		t.Fatalf("history request %s", r.arg)
	}
	rd := fc.recvRequest(shared.EventRead)
	var rr shared.ReadRequest
	json.Unmarshal(rd.arg, &rr)
	if rr.Target != shared.All || rr.Command != shared.CommandChat || rr.Seq == nil || *rr.Seq != 16 {
		t.Fatalf("read request %s", rd.arg)
	}
	fc.ack(rd.id, shared.Response{Command: "read", Code: "200"})
	fc.ack(r.id, shared.Response{Command: "history", Code: "200", Messages: []shared.Message{
		msg(3, "bob", "ALL", shared.CommandChat, "older"), msg(16, "bob", "ALL", shared.CommandChat, "old"),
	}})
	h.waitView(t, "the history, read", func(v View) bool { return hasSeqs(v, "3", "16") && v.All.Unread == 0 && v.Unread == 0 })

	// Rooms: a refusal next to the room controls.
	s.Room(roomForm{Command: shared.RoomCreate, ID: "lounge", Name: "Lounge"})
	r = fc.recvRequest(shared.EventRoom)
	fc.ack(r.id, shared.Response{Command: "room", Code: "409", Message: "room lounge already exists"})
	h.waitView(t, "the room refusal", func(v View) bool { return v.Notices["room"].text(langEN) == "That room already exists." })

	// A message refused for good leaves the outbox with an explanation.
	s.Send(sendForm{Recipient: "zed", Command: shared.CommandChat, Text: "hello?"})
	r = fc.recvRequest(shared.EventMessage)
	fc.ack(r.id, shared.Response{Command: "message", Code: "404", Message: "no such user zed"})
	v := h.waitView(t, "the send refusal", func(v View) bool { return v.Notices["send"].Error })
	if v.Notices["send"].text(langEN) != "No such user. — “hello?”" || len(v.Pending) != 0 {
		t.Fatalf("send notice %+v, pending %v", v.Notices["send"], v.Pending)
	}

	var ss savedSession
	h.kv.Get(keySession+fs.origin(), &ss)
	if ss.Token != "t0k" || ss.Offset != 17 { // a new device starts from the login's offset: nothing was replayed
		t.Fatalf("stored session %+v", ss)
	}
}

func TestService_OutboxIsDeliveredOnceWithItsCID(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	h.on.Store(false) // the browser is offline
	fs := newFakeServer(t)
	withSession(h, fs, "tok", "alice", 5)
	s := startTestService(t, h, fs)
	h.waitView(t, "waiting for the network", func(v View) bool { return v.NetDown && v.State == stateOffline })

	s.Send(sendForm{Recipient: "bob", Command: shared.CommandChat, Text: "typed offline"})
	h.waitView(t, "pending", func(v View) bool { return len(v.Pending) == 1 && v.Pending[0].Text == "typed offline" })
	out := storedOutbox(h, fs)
	if len(out) != 1 || out[0].CID == "" {
		t.Fatalf("stored outbox %+v", out)
	}

	h.on.Store(true)
	s.Kick() // the online event
	fc := fs.accept()
	fc.open(25000, 20000)
	fc.connect(`{"token":"tok","offset":"5"}`)
	r := fc.recvRequest(shared.EventMessage)
	var first shared.SendMessage
	json.Unmarshal(r.arg, &first)
	if first.CID != out[0].CID || first.Data != "typed offline" || first.Recipient != "bob" {
		t.Fatalf("sent %s", r.arg)
	}
	fc.close() // lost before the answer

	fc2 := fs.accept()
	fc2.open(25000, 20000)
	fc2.connect(`{"token":"tok","offset":"5"}`)
	r = fc2.recvRequest(shared.EventMessage)
	var again shared.SendMessage
	json.Unmarshal(r.arg, &again)
	if again.CID != first.CID {
		t.Fatalf("resent with cid %q, want %q", again.CID, first.CID)
	}
	fc2.ack(r.id, shared.Response{Command: "message", Code: "200", Message: "already sent", Seq: "6", Time: "2026-01-02T03:04:05.000Z"})
	echo := msg(6, "alice", "bob", shared.CommandChat, "typed offline")
	echo.CID = first.CID
	fc2.emit(shared.EventMessage, echo) // and it comes back from another device's view
	v := h.waitView(t, "delivered", func(v View) bool { return len(v.Pending) == 0 && hasSeqs(v, "6") })
	if !v.Messages[0].Mine {
		t.Fatal("own message not marked mine")
	}
	if out := storedOutbox(h, fs); len(out) != 0 {
		t.Fatalf("stored outbox still %+v", out)
	}
}

// storedOutbox returns the outbox as localStorage holds it.
func storedOutbox(h *testHost, fs *fakeServer) []outgoing {
	var out []outgoing
	h.kv.Get(keyOutbox+fs.origin(), &out)
	return out
}
func TestBackoff(t *testing.T) {
	t.Parallel()
	almostOne := func() float64 { return 0.999999 }
	zero := func() float64 { return 0 }
	if d := backoff(0, almostOne); d >= time.Second || d < 900*time.Millisecond {
		t.Errorf("first retry can wait %v, want under 1 s", d)
	}
	for n := 0; n < 100; n++ {
		if d := backoff(n, almostOne); d > backoffCap {
			t.Fatalf("attempt %d waits %v, more than the cap", n, d)
		}
		if d := backoff(n, zero); d != 0 {
			t.Fatalf("full jitter starts at 0, got %v", d)
		}
	}
	if d := backoff(3, almostOne); d < 7*time.Second || d >= 8*time.Second {
		t.Errorf("attempt 3 ceiling %v, want 8 s", d)
	}
	if d := backoff(40, almostOne); d < 9*time.Second {
		t.Errorf("late attempts %v, want the 10 s cap", d)
	}
}
