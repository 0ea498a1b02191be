package sio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// originAnswer dials a WebSocket and makes a polling handshake with
// Origin o, and returns the WebSocket's HTTP status (101 when accepted)
// and the polling answer.
func originAnswer(t *testing.T, ts *httptest.Server, o string) (int, pollResult) {
	t.Helper()
	h := http.Header{"Origin": {o}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(ts, "/socket.io/"), &websocket.DialOptions{HTTPHeader: h})
	ws := 0
	if err == nil {
		ws = http.StatusSwitchingProtocols
		_ = c.CloseNow()
	} else if resp != nil {
		ws = resp.StatusCode
	}
	return ws, (&pollClient{t: t, ts: ts, header: h}).do("GET", ts.URL+"/socket.io/?EIO=4&transport=polling", "")
}

// TestOriginOptIns: "*" allows any Origin and "null" the opaque one of
// pages opened from disk; both get CORS that echoes the Origin with
// credentials (a literal "*" is refused by browsers with credentials).
// Exact origins keep working beside them.
func TestOriginOptIns(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		allowed []string
		origin  string
		ok      bool
	}{
		{nil, "null", false},
		{[]string{"null"}, "null", true},
		{[]string{"null"}, "https://evil.example.com", false},
		{[]string{"null", "https://app.example.com"}, "https://app.example.com", true},
		{[]string{"*"}, "https://evil.example.com", true},
		{[]string{"*"}, "null", true},
		{[]string{"*"}, "chrome-extension://abcdef", true},
		{[]string{" * "}, "http://any.test:8080", true},
		{[]string{"not an origin"}, "https://evil.example.com", false},
	} {
		t.Run(strings.Join(tt.allowed, ",")+" "+tt.origin, func(t *testing.T) {
			t.Parallel()
			_, ts := newTestServer(t, Config{AllowedOrigins: tt.allowed}, newTestHandler())
			ws, poll := originAnswer(t, ts, tt.origin)
			if !tt.ok {
				if ws != http.StatusForbidden || poll.status != http.StatusForbidden || poll.header.Get("Access-Control-Allow-Origin") != "" {
					t.Fatalf("refusal expected: WebSocket %d, polling %d %v", ws, poll.status, poll.header)
				}
				return
			}
			h := poll.header
			if ws != http.StatusSwitchingProtocols || poll.status != http.StatusOK || !strings.HasPrefix(poll.body, `0{"sid":`) {
				t.Fatalf("WebSocket %d, polling %d %q", ws, poll.status, poll.body)
			}
			if h.Get("Access-Control-Allow-Origin") != tt.origin || h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Fatalf("CORS headers %v, want the Origin %q echoed with credentials", h, tt.origin)
			}
		})
	}
}

func TestParseOrigin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://Chat.Example.com":     "https://chat.example.com",
		"https://chat.example.com:443": "https://chat.example.com",
		"http://localhost:8080/":       "http://localhost:8080",
		"http://[::1]:80":              "http://[::1]",
		"capacitor://localhost":        "capacitor://localhost",
	} {
		if got, err := ParseOrigin(in); err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "*", "null", "chat.example.com", "https://", "https://chat.example.com/app",
		"https://user@chat.example.com", "https://chat.example.com?x", "https://chat.example.com#x", "https://chat.example.com:port", "mailto:x@y"} {
		if got, err := ParseOrigin(in); err == nil {
			t.Errorf("ParseOrigin(%q) = %q, want an error", in, got)
		}
	}
}
