package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestPublicURLRefusesRebinding: with a public URL, a request whose Host
// is another name gets 421, even when its Origin matches that Host (DNS
// rebinding: the attacker's name resolves to this server, so page and
// server look like one origin to the browser). The public name and
// loopback names work; /healthz answers whatever the Host. Without the
// public URL such a request was served.
func TestPublicURLRefusesRebinding(t *testing.T) {
	ts := newTestServer(t, Config{PublicURL: "https://Chat.Example.com"})
	u, _ := url.Parse(ts.http.URL)
	port := u.Port()
	do := func(method, path, host, origin string) int {
		t.Helper()
		req, _ := http.NewRequest(method, ts.http.URL+path, nil)
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const handshake = "/socket.io/?EIO=4&transport=polling"
	for _, tt := range []struct {
		path, host, origin string
		want               int
	}{
		// The rebinding: Host and Origin agree, on the attacker's name.
		{handshake, "evil.example:" + port, "http://evil.example:" + port, 421},
		{"/", "evil.example:" + port, "", 421},
		{"/metrics", "evil.example:" + port, "", 421},
		{"/", "chat.example.com.evil.example", "", 421},
		{"/", "127.0.0.1.evil.example:" + port, "", 421},
		{"/healthz", "evil.example:" + port, "", 200},
		// The public name, as a TLS-terminating proxy forwards it: the
		// request is plain HTTP, the page's origin is https.
		{handshake, "chat.example.com", "https://chat.example.com", 200},
		{handshake, "CHAT.example.com:443", "https://chat.example.com", 200},
		{handshake, "chat.example.com", "http://chat.example.com", 200}, // the request's own origin
		{handshake, "chat.example.com", "https://evil.example", 403},
		{handshake, "chat.example.com:8443", "", 421},
		// Loopback names, any port.
		{handshake, "localhost:" + port, "http://localhost:" + port, 200},
		{handshake, "127.0.0.1:" + port, "http://127.0.0.1:" + port, 200},
		{"/", "[::1]:" + port, "", 200},
		{"/", "app.localhost:" + port, "", 200},
		{handshake, "localhost:" + port, "http://evil.example", 403},
	} {
		if got := do("GET", tt.path, tt.host, tt.origin); got != tt.want {
			t.Errorf("GET %s Host %s Origin %q: %d, want %d", tt.path, tt.host, tt.origin, got, tt.want)
		}
	}

	// The WebSocket handshake too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, ts.url, &websocket.DialOptions{Host: "evil.example:" + port, HTTPHeader: http.Header{"Origin": {"http://evil.example:" + port}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("rebinding WebSocket: %v %v", resp, err)
	}
	c, _, err := websocket.Dial(ctx, ts.url, &websocket.DialOptions{Host: "chat.example.com", HTTPHeader: http.Header{"Origin": {"https://chat.example.com"}}})
	if err != nil {
		t.Fatalf("WebSocket from the public origin: %v", err)
	}
	c.CloseNow()
}

func TestParsePublicURL(t *testing.T) {
	if got, err := ParsePublicURL("https://Chat.Example.com:443/"); err != nil || got != "https://chat.example.com" {
		t.Fatalf("got %q %v", got, err)
	}
	for _, bad := range []string{"", "chat.example.com", "ftp://chat.example.com", "https://chat.example.com/app", "*"} {
		if _, err := ParsePublicURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := New(Config{PublicURL: "wss://x"}, Deps{Store: nil}); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("New with a bad public URL: %v", err)
	}
}
