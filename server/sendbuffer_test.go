package server

import (
	"strings"
	"testing"
	"time"
)

// TestSendBufferSmallerThanAFrame: --send-buffer accepts 4096 bytes (main.go
// Validate), but one message of 4,000 characters is up to 16 KB on the
// wire (8 KB for "é"). sio.Socket.push kicks a socket as a slow consumer
// when queued+len(frame) > SendBuffer, even when nothing is queued: an
// idle recipient that reads at once is disconnected by a single message,
// and again after each reconnect. PROTOCOL.md §6: a socket is dropped once
// more than --send-buffer *waits* to be sent to it. It failed until a frame
// that meets an empty queue is accepted (or --send-buffer is validated
// against the largest frame).
func TestSendBufferSmallerThanAFrame(t *testing.T) {
	ts := newTestServer(t, Config{SendBuffer: 4096})
	a, _ := ts.login("alice")
	b, _ := ts.login("bob")
	r := a.req("message", map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": strings.Repeat("é", 4000)})
	if r.Code != "200" {
		t.Fatalf("send: %+v", r)
	}
	time.Sleep(200 * time.Millisecond)
	if kicks := ts.srv.sio.Stats().SlowConsumerKicks; kicks > 0 {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		t.Fatalf("an idle recipient was kicked as a slow consumer by one 8 KB message (kicks %d, bob's socket closed: %v)", kicks, closed)
	}
	if m := b.message(); len(m.Data) != 8000 {
		t.Fatalf("bob got %d bytes", len(m.Data))
	}
}
