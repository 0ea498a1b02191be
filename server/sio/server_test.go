package sio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{}, newTestHandler())
	upgrade := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
	tests := []struct {
		name   string
		method string
		query  string
		header http.Header
		status int
		body   string
	}{
		{"no transport", "GET", "EIO=4", upgrade, 400, `{"code":0,"message":"Transport unknown"}`},
		{"polling unknown sid", "GET", "EIO=4&transport=polling&sid=x", nil, 400, `{"code":1,"message":"Session ID unknown"}`},
		{"polling post unknown sid", "POST", "EIO=4&transport=polling&sid=x", nil, 400, `{"code":1,"message":"Session ID unknown"}`},
		{"polling post handshake", "POST", "EIO=4&transport=polling", nil, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"polling put handshake", "PUT", "EIO=4&transport=polling", nil, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"polling no EIO", "GET", "transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"polling EIO abc", "GET", "EIO=abc&transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"polling EIO 3", "GET", "EIO=3&transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"unknown transport", "GET", "EIO=4&transport=tobi", upgrade, 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown sid", "GET", "EIO=4&transport=websocket&sid=nope", upgrade, 400, `{"code":1,"message":"Session ID unknown"}`},
		{"post handshake", "POST", "EIO=4&transport=websocket", upgrade, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"put handshake", "PUT", "EIO=4&transport=websocket", upgrade, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"no upgrade headers", "GET", "EIO=4&transport=websocket", nil, 400, `{"code":3,"message":"Bad request"}`},
		{"no EIO", "GET", "transport=websocket", upgrade, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO abc", "GET", "EIO=abc&transport=websocket", upgrade, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO 3", "GET", "EIO=3&transport=websocket", upgrade, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO 5", "GET", "EIO=5&transport=websocket", upgrade, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"socket.io.js", "GET", "", nil, 400, `{"code":0,"message":"Transport unknown"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+"/socket.io/?"+tt.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{AllowedOrigins: []string{"https://app.example.com", "http://localhost:8080"}}, newTestHandler())
	host := strings.TrimPrefix(ts.URL, "http://")
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true},                 // same origin
		{"https://" + host, false},               // same host, other scheme: another site
		{"https://app.example.com", true},        // allowed
		{"https://APP.example.com:443", true},    // allowed, normalized
		{"http://localhost:8080", true},          // allowed with a port
		{"http://app.example.com", false},        // wrong scheme
		{"https://evil.example.com", false},      // foreign
		{"http://localhost:8081", false},         // other port
		{"null", false},                          // opaque origin
		{"https://app.example.com.evil", false},  // suffix trick
		{"http://" + host + ".evil.test", false}, // prefix trick
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.Dial(ctx, wsURL(ts, "/socket.io/"), &websocket.DialOptions{HTTPHeader: h})
			if tt.ok {
				if err != nil {
					t.Fatalf("Origin %q refused: %v", tt.origin, err)
				}
				_ = c.CloseNow()
				return
			}
			if err == nil {
				_ = c.CloseNow()
				t.Fatalf("Origin %q accepted", tt.origin)
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("Origin %q: %v, want 403", tt.origin, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != `{"code":4,"message":"Forbidden"}` {
				t.Fatalf("403 body %q", body)
			}
		})
	}
}

// TestShutdown: every session is closed at the transport level, going
// away (1001), after what was queued for it, and without DISCONNECT (41):
// a stock client takes 41 as a kick and would not reconnect.
func TestShutdown(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	srv, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}}, h)
	a := dial(t, ts)
	aid := a.connect("/", "")
	a.connect("/custom", "")
	b := dial(t, ts)
	b.connect("/", "")
	c := dial(t, ts) // never joins a namespace
	if err := h.socket(t, aid).Emit("/", "last", "words"); err != nil {
		t.Fatal(err)
	}

	// The clients read while Shutdown runs: the close handshake needs them.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(ctx) }()
	for _, tt := range []struct {
		name string
		c    *client
		want []string
	}{
		{"a", a, []string{`42["last","words"]`}},
		{"b", b, nil},
		{"c", c, nil},
	} {
		frames, code := tt.c.framesUntilClose()
		if code != websocket.StatusGoingAway || !slices.Equal(frames, tt.want) {
			t.Fatalf("%s: frames %q and close %v, want %q and 1001 (no 41)", tt.name, frames, code, tt.want)
		}
	}
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range 3 {
		if d := h.waitDisconnect(t); d.reason != "server shutting down" {
			t.Fatalf("Disconnect reason %q", d.reason)
		}
	}
	if n := srv.Stats().Connections; n != 0 {
		t.Fatalf("%d connections after Shutdown", n)
	}
	// New sessions are refused.
	_, resp, err := websocket.Dial(ctx, wsURL(ts, "/socket.io/"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v", err)
	}
}

func TestShutdownContextExpires(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	release := make(chan struct{})
	h.onConnected = func(s *Socket, nsp string) { <-release } // a stuck handler
	srv, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	c.send("40")
	<-h.connects
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	close(release)
	eventually(t, "the session to end", func() bool { return srv.Stats().Connections == 0 })
}

// TestNoGoroutineLeak is not parallel: it counts goroutines.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		h := newTestHandler()
		srv := NewServer(Config{Namespaces: []string{"/", "/custom"}, PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond, Logger: testLogger(t)}, h)
		ts := httptest.NewServer(srv)
		defer ts.Close()
		var clients []*client
		for range 7 {
			c := dial(t, ts)
			c.connect("/", "")
			c.expectOpen()
			clients = append(clients, c)
		}
		// Every client reads and answers pings, as real ones do (close
		// handshakes need it); the readers end with their connections.
		for _, c := range clients[1:] {
			go func() {
				for {
					_, b, err := c.c.Read(context.Background())
					if err != nil {
						return
					}
					if string(b) == "2" {
						_ = c.c.Write(context.Background(), websocket.MessageText, []byte("3"))
					}
				}
			}()
		}
		_ = clients[0].c.Close(websocket.StatusNormalClosure, "") // client closes
		clients[1].send("1")                                      // Engine.IO close
		clients[2].send("4abc")                                   // protocol error
		clients[3].send(`42["kick"]`)                             // server kick
		clients[4].send(`42["close"]`)                            // server close
		_ = clients[5].c.CloseNow()                               // TCP drop
		// clients[6] stays until Shutdown; mute never answers a ping.
		mute := dial(t, ts)
		eventually(t, "the ping timeout", func() bool { return srv.Stats().PingTimeouts == 1 })
		eventually(t, "7 sessions to end", func() bool { return srv.Stats().Connections == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range append(clients, mute) {
			_ = c.c.CloseNow()
		}
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
