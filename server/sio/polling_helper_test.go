package sio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// pollClient is a raw Engine.IO polling client: each GET and POST is
// explicit, so tests choose the interleaving.
type pollClient struct {
	t      *testing.T
	ts     *httptest.Server
	path   string
	header http.Header // sent with every request
	sid    string
	open   shared.EngineOpen
	raw    string // the handshake body
}

type pollResult struct {
	status int
	body   string
	header http.Header
}

// pollDial opens a polling session on /socket.io/.
func pollDial(t *testing.T, ts *httptest.Server) *pollClient {
	t.Helper()
	return pollDialPath(t, ts, "/socket.io/", nil)
}

func pollDialPath(t *testing.T, ts *httptest.Server, path string, header http.Header) *pollClient {
	t.Helper()
	p := &pollClient{t: t, ts: ts, path: path, header: header}
	r := p.do("GET", ts.URL+path+"?EIO=4&transport=polling", "")
	if r.status != http.StatusOK {
		t.Fatalf("handshake: %d %s", r.status, r.body)
	}
	p.raw = r.body
	var err error
	p.open, err = shared.ParseEngineOpen([]byte(r.body))
	if err != nil {
		t.Fatalf("handshake body %q: %v", r.body, err)
	}
	p.sid = p.open.SID
	return p
}

func (p *pollClient) url() string {
	return p.ts.URL + p.path + "?EIO=4&transport=polling&sid=" + p.sid
}

func (p *pollClient) wsURL() string {
	return "ws" + strings.TrimPrefix(p.ts.URL, "http") + p.path + "?EIO=4&transport=websocket&sid=" + p.sid
}

// do sends one request. It does not fail the test on an HTTP error status.
func (p *pollClient) do(method, url, body string) pollResult {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range p.header {
		req.Header[k] = v
	}
	resp, err := p.ts.Client().Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return pollResult{resp.StatusCode, string(b), resp.Header}
}

func (p *pollClient) get() pollResult {
	p.t.Helper()
	return p.do("GET", p.url(), "")
}

func (p *pollClient) post(body string) pollResult {
	p.t.Helper()
	return p.do("POST", p.url(), body)
}

// getAsync starts a GET and returns its result channel once the request
// has had time to reach the server and be parked there.
func (p *pollClient) getAsync() <-chan pollResult {
	p.t.Helper()
	ch := make(chan pollResult, 1)
	go func() { ch <- p.do("GET", p.url(), "") }()
	time.Sleep(50 * time.Millisecond)
	return ch
}

// expectGet GETs and compares the body, answering pings first (unless
// want is "2").
func (p *pollClient) expectGet(want string) {
	p.t.Helper()
	for range 50 {
		r := p.get()
		if r.status != http.StatusOK {
			p.t.Fatalf("GET: %d %s, want 200 %q", r.status, r.body, want)
		}
		if r.body == "2" && want != "2" {
			p.expectPost("3")
			continue
		}
		if r.body != want {
			p.t.Fatalf("GET body %q, want %q", r.body, want)
		}
		return
	}
	p.t.Fatalf("GET: only pings, want %q", want)
}

func (p *pollClient) expectPost(body string) {
	p.t.Helper()
	if r := p.post(body); r.status != http.StatusOK || r.body != "ok" {
		p.t.Fatalf("POST %q: %d %q, want 200 ok", body, r.status, r.body)
	}
}

// expectStatus checks that r is an HTTP error with that JSON body.
func expectStatus(t *testing.T, r pollResult, status int, body string) {
	t.Helper()
	if r.status != status || body != "" && r.body != body {
		t.Fatalf("got %d %q, want %d %q", r.status, r.body, status, body)
	}
}

// connect joins "/" (CONNECT by POST) and returns the socket id. Pings
// that come first are answered.
func (p *pollClient) connect(auth string) string {
	p.t.Helper()
	p.expectPost("40" + auth)
	for range 50 {
		r := p.get()
		if r.status != http.StatusOK {
			p.t.Fatalf("CONNECT reply: %d %q", r.status, r.body)
		}
		for _, pkt := range strings.Split(r.body, "\x1e") {
			if pkt == "2" {
				p.expectPost("3")
				continue
			}
			if !strings.HasPrefix(pkt, `40{"sid":"`) {
				p.t.Fatalf("CONNECT reply: %q", r.body)
			}
			var reply map[string]string
			if err := json.Unmarshal([]byte(pkt[2:]), &reply); err != nil {
				p.t.Fatalf("CONNECT reply %q: %v", r.body, err)
			}
			return reply["sid"]
		}
	}
	p.t.Fatal("no CONNECT reply")
	return ""
}

// dialUpgrade opens the WebSocket that upgrades the session (without
// probing yet).
func (p *pollClient) dialUpgrade() *client {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, p.wsURL(), nil)
	if err != nil {
		p.t.Fatalf("dial %s: %v", p.wsURL(), err)
	}
	c.SetReadLimit(-1)
	p.t.Cleanup(func() { _ = c.CloseNow() })
	return &client{t: p.t, c: c}
}

// upgrade runs the whole upgrade as the stock client does: probe, wait
// for the pending poll to be released, then `5`. It returns the WebSocket.
func (p *pollClient) upgrade() *client {
	p.t.Helper()
	c := p.dialUpgrade()
	c.send("2probe")
	c.expect("3probe")
	p.expectGet("6")
	c.send("5")
	return c
}
