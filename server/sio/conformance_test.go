package sio

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestServeConformance checks the fixture the official suites run against
// (the suites themselves are run by hand, SOCKETIO.md §10).
func TestServeConformance(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeConformance(ctx, ln, testLogger(t)) }()
	base := "ws://" + ln.Addr().String()

	// /engine.io/: raw echo, text as text and binary as binary.
	e := dialURL(t, base+"/engine.io/?EIO=4&transport=websocket", nil)
	if o := e.open; o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 1000000 {
		t.Fatalf("open packet %s", e.raw)
	}
	e.send("4hello")
	e.expect("4hello")
	e.sendBinary([]byte{1, 2, 3, 4})
	e.expectBinary([]byte{1, 2, 3, 4})
	e.send("abc")
	e.expectClose()

	// /socket.io/: auth emit right after the CONNECT reply, echo, ack.
	s := dialURL(t, base+"/socket.io/?EIO=4&transport=websocket", nil)
	s.connect("/", "")
	s.expect(`42["auth",{}]`)
	s.connect("/custom", `{"token":"abc"}`)
	s.expect(`42/custom,["auth",{"token":"abc"}]`)
	s.send(`42["message",1,"2",{"3":[true]}]`)
	s.expect(`42["message-back",1,"2",{"3":[true]}]`)
	s.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	s.expect(`43456[1,"2",{"3":[false]}]`)
	s.send(`40/random`)
	s.expect(`44/random,{"message":"Invalid namespace"}`)

	cancel()
	if code := s.expectClose(); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %v, want 1001", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeConformance: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeConformance did not return")
	}
}
