package sio

import (
	"io"
	"net/http"
	"testing"
	"time"
)

func TestMaxSessionsPerAddr(t *testing.T) {
	srv, ts := newTestServer(t, Config{MaxSessionsPerAddr: 2}, newTestHandler())
	a := dial(t, ts)
	dial(t, ts)
	for _, url := range []string{ts.URL + "/socket.io/?EIO=4&transport=polling", wsURL(ts, "/socket.io/")} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if url[:2] == "ws" {
			req.URL.Scheme = "http"
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || string(body) != `{"code":4,"message":"Too many connections from this address"}` {
			t.Fatalf("third session: %d %s", resp.StatusCode, body)
		}
	}
	// A closed session frees its place.
	a.c.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Connections > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("connections %d", srv.Stats().Connections)
		}
		time.Sleep(5 * time.Millisecond)
	}
	dial(t, ts)
}
