package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"chatapp/server/sio/siotest"
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

// tc is the shared test client (siotest) for the server tests: its waits
// fail the test at once. sid, cerr and closed mirror the client's state;
// read them with c.mu held (as conditions given to waitFor are).
type tc struct {
	*siotest.Client
	t    *testing.T
	name string

	mu     *sync.Mutex // the client's own
	sid    string      // CONNECT reply
	cerr   string      // CONNECT_ERROR message
	closed bool        // the connection has ended
}

// wait is how long the waits of tc take before they fail the test.
const wait = 10 * time.Second

// open dials the test server with o; CONNECT is sent unless o.NoConnect.
func (ts *testServer) open(name string, o siotest.Options) *tc {
	ts.t.Helper()
	c := &tc{t: ts.t, name: name}
	o.HTTPClient = ts.http.Client()
	o.OnChange = func(st siotest.State) {
		// Each is written only when it changes, so a test may read sid
		// and cerr without the lock once the dial has returned.
		if c.sid != st.SID || c.cerr != st.ConnErr {
			c.sid, c.cerr = st.SID, st.ConnErr
		}
		if st.Ended && !c.closed {
			c.closed = true
			var pe *siotest.ProtocolError
			if errors.As(st.Err, &pe) {
				c.t.Errorf("%s: %v", name, pe)
			}
		}
	}
	cl, err := siotest.Dial(ts.http.URL, name, o)
	if err != nil {
		ts.t.Fatal(err)
	}
	c.Client, c.mu = cl, cl.Mutex()
	ts.t.Cleanup(cl.CloseNow)
	return c
}

// dial connects and sends CONNECT with auth (nil: none). It waits for the
// CONNECT reply; cerr holds a CONNECT_ERROR message instead.
func (ts *testServer) dial(name string, auth any) *tc {
	ts.t.Helper()
	return ts.open(name, siotest.Options{Auth: auth})
}

// dialRaw opens the Engine.IO session only; the test sends CONNECT.
func (ts *testServer) dialRaw(name string) *tc {
	ts.t.Helper()
	return ts.open(name, siotest.Options{NoConnect: true})
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

// writeText sends one raw Engine.IO packet. A refused poll fails the
// test; other errors show as a closed connection.
func (c *tc) writeText(s string) {
	var se *siotest.StatusError
	if err := c.Send(s); errors.As(err, &se) {
		c.t.Errorf("%s: send %.40q: %v", c.name, s, err)
	}
}

// waitFor waits (c.mu not held) until cond, called with c.mu held, holds.
func (c *tc) waitFor(cond func() bool, what string) {
	c.t.Helper()
	if err := c.WaitUntil(wait, cond); err != nil {
		c.t.Fatalf("%s: waiting for %s: %v", c.name, what, err)
	}
}

// emit sends an event; with ack it returns the ack id (else -1). A send
// that fails shows as a closed connection in the waits that follow.
func (c *tc) emit(name string, payload any, ack bool) int64 {
	c.t.Helper()
	if _, err := json.Marshal(payload); err != nil {
		c.t.Fatal(err)
	}
	if !ack {
		c.Emit(name, payload)
		return -1
	}
	id, _, _ := c.Request(name, payload)
	return id
}

// req sends a request with an ack id and returns the answer.
func (c *tc) req(name string, payload any) shared.Response {
	c.t.Helper()
	r, err := c.Req(name, payload, wait)
	if err != nil {
		c.t.Fatalf("%s: %s: %v", c.name, name, err)
	}
	return r
}

// take waits for the next event called name (events before it with other
// names stay buffered) and decodes it into v (nil: discard).
func (c *tc) take(name string, v any) {
	c.t.Helper()
	got, err := c.Take(name, wait)
	if err != nil {
		c.t.Fatalf("%s: waiting for event %s: %v", c.name, name, err)
	}
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
	if n := c.Count(name); n > 0 {
		c.t.Fatalf("%s: %d unexpected %s events", c.name, n, name)
	}
}

// count returns how many buffered events are called name.
func (c *tc) count(name string) int { return c.Count(name) }

// close ends the session from the client side (a WebSocket close
// handshake, or an Engine.IO close on polling).
func (c *tc) close() { c.Close() }

func (c *tc) String() string { return fmt.Sprintf("client %s", c.name) }
