package sio

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}}, h)

	c := dial(t, ts)
	id := c.connect("/", "")
	if id == c.open.SID || len(id) != 20 {
		t.Fatalf("socket id %q (engine sid %q): want a distinct 20-character id", id, c.open.SID)
	}
	if got := <-h.connects; got.nsp != "/" || got.auth != nil || got.s.ID() != id {
		t.Fatalf("Connect(%q, %q) for socket %q", got.nsp, got.auth, got.s.ID())
	}

	d := dial(t, ts)
	d.connect("/", `{"token":"123"}`)
	if got := <-h.connects; string(got.auth) != `{"token":"123"}` {
		t.Fatalf("auth %q", got.auth)
	}
	customID := d.connect("/custom", `{"token":"abc"}`)
	if got := <-h.connects; got.nsp != "/custom" || string(got.auth) != `{"token":"abc"}` || customID == got.s.ID() {
		t.Fatalf("Connect(%q, %q), ids %q/%q", got.nsp, got.auth, customID, got.s.ID())
	}
	d.expectOpen()
	d.send(`42/custom,["echo",1]`)
	d.expect(`42/custom,["echo-back",1]`)
	if got := d.c.Subprotocol(); got != "" {
		t.Fatalf("subprotocol %q", got)
	}
}

func TestConnectRefused(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}}, h)
	c := dial(t, ts)
	// Unknown namespace, without a comma as the suite sends it.
	c.send("40/random")
	c.expect(`44/random,{"message":"Invalid namespace"}`)
	c.send("40/random,{}")
	c.expect(`44/random,{"message":"Invalid namespace"}`)
	// Refused by the handler: the error text, JSON-escaped, no HTML escaping.
	c.send(`40{"token":"bad"}`)
	c.expect(`44{"message":"no <\"bad\"> tokens"}`)
	c.send(`40/custom,{"token":"bad"}`)
	c.expect(`44/custom,{"message":"no <\"bad\"> tokens"}`)
	// The connection stays open and can still connect.
	c.connect("/", "")
	c.expectOpen()
}

func TestEventsAndAcksInOrder(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	c.connect("/", "")
	const n = 200
	go func() { // writes while the test reads
		for i := range n {
			f := fmt.Sprintf(`42%d["echo",%d]`, i, i)
			if i%2 == 0 {
				f = fmt.Sprintf(`42["echo",%d,{"i":"<%d>"}]`, i, i)
			}
			if err := c.c.Write(t.Context(), websocket.MessageText, []byte(f)); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}()
	for i := range n {
		if i%2 == 0 {
			c.expect(fmt.Sprintf(`42["echo-back",%d,{"i":"<%d>"}]`, i, i))
		} else {
			c.expect(fmt.Sprintf(`43%d[%d]`, i, i))
		}
	}
	// The handler saw them in order, with ack ids.
	for i := range n {
		ev := <-h.events
		want := int64(-1)
		if i%2 == 1 {
			want = int64(i)
		}
		if ev.ev.Name != "echo" || ev.ev.AckID != want || string(ev.ev.Args[0]) != fmt.Sprint(i) {
			t.Fatalf("event %d: %+v", i, ev.ev)
		}
	}
	// Client acks (the server never asked) are ignored.
	c.send(`43[]`)
	c.send(`4312["x"]`)
	c.expectOpen()
}

func TestEmitAndAckEncoding(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}}, h)
	c := dial(t, ts)
	id := c.connect("/", "")
	c.connect("/custom", "")
	s := h.socket(t, id)

	if err := s.Emit("/", "news", map[string]string{"html": "<b>&</b>"}, 1, nil); err != nil {
		t.Fatal(err)
	}
	c.expect(`42["news",{"html":"<b>&</b>"},1,null]`)
	if err := s.Emit("/custom", "empty"); err != nil {
		t.Fatal(err)
	}
	c.expect(`42/custom,["empty"]`)
	if err := s.Ack("/custom", 5, 1, "2"); err != nil {
		t.Fatal(err)
	}
	c.expect(`43/custom,5[1,"2"]`)
	if err := s.Ack("/", 0); err != nil {
		t.Fatal(err)
	}
	c.expect(`430[]`)
	// []byte args travel as attachments.
	if err := s.Emit("/", "file", "name", []byte{1, 2, 3}, []byte{}); err != nil {
		t.Fatal(err)
	}
	c.expect(`452-["file","name",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{})
	if err := s.Ack("/", 9, []byte{7}); err != nil {
		t.Fatal(err)
	}
	c.expect(`461-9[{"_placeholder":true,"num":0}]`)
	c.expectBinary([]byte{7})

	if err := s.Ack("/", -1); err == nil {
		t.Fatal("Ack(-1) succeeded")
	}
	if err := s.Emit("/", "bad", func() {}); err == nil {
		t.Fatal("Emit of a func succeeded")
	}
	eleven := make([]any, 11)
	for i := range eleven {
		eleven[i] = []byte{byte(i)}
	}
	if err := s.Emit("/", "many", eleven...); err == nil {
		t.Fatal("Emit with 11 attachments succeeded")
	}
	c.expectOpen() // nothing was queued by the failures

	s.Close("bye")
	if err := s.Emit("/", "late"); err != ErrClosed {
		t.Fatalf("Emit after Close = %v, want ErrClosed", err)
	}
}

func TestBinaryPassthrough(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{AllowBinary: true}, h)
	c := dial(t, ts)
	c.connect("/", "")
	ph := `{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}`
	c.send(`452-["echo",` + ph + `]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expect(`452-["echo-back",` + ph + `]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
	ev := <-h.events
	if len(ev.ev.Attachments) != 2 || !bytes.Equal(ev.ev.Attachments[1], []byte{4, 5, 6}) {
		t.Fatalf("attachments %x", ev.ev.Attachments)
	}
	// With an ack: BINARY_ACK with the same id.
	c.send(`452-789["echo",` + ph + `]`)
	c.sendBinary([]byte{7})
	c.sendBinary([]byte{8})
	c.expect(`462-789[` + ph + `]`)
	c.expectBinary([]byte{7})
	c.expectBinary([]byte{8})
	// A client BINARY_ACK consumes its attachment and is ignored.
	c.send(`461-3[{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{9})
	c.expectOpen()

	// Text before the attachments are complete closes the session.
	c.send(`451-["echo",{"_placeholder":true,"num":0}]`)
	c.send(`42["echo"]`)
	if code := c.expectClose(); code != websocket.StatusProtocolError {
		t.Fatalf("closed with %v", code)
	}
}

func TestClientLeavesNamespace(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}, PingInterval: 100 * time.Millisecond}, h)
	c := dial(t, ts)
	c.seePings = true
	c.connect("/", "")
	c.connect("/custom", "")
	c.send("41/custom") // no comma, as the suite sends it
	if d := h.waitDisconnect(t); d.nsp != "/custom" || d.reason != "client namespace disconnect" {
		t.Fatalf("Disconnect(%q, %q)", d.nsp, d.reason)
	}
	c.send(`42["echo",1]`)
	c.expect(`42["echo-back",1]`)
	c.send("41")
	if d := h.waitDisconnect(t); d.nsp != "/" {
		t.Fatalf("Disconnect(%q, %q)", d.nsp, d.reason)
	}
	// No reply, the connection stays: the next frame is the ping.
	c.expect("2")
	c.send("3")
	// Events for "/" now close the connection...
	d := dial(t, ts)
	d.connect("/", "")
	d.send("41")
	h.waitDisconnect(t)
	d.send(`42["echo"]`)
	d.expectClose()
	// ...but joining again works.
	c.connect("/", "")
	c.send(`42["echo",2]`)
	c.expect(`42["echo-back",2]`)
}

func TestServerKick(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Namespaces: []string{"/", "/custom"}}, h)
	c := dial(t, ts)
	c.connect("/", "")
	c.connect("/custom", "")
	c.send(`42["kick"]`)
	c.expect("41")
	if code := c.expectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v, want 1000", code)
	}
	for range 2 {
		if d := h.waitDisconnect(t); d.reason != "server namespace disconnect" {
			t.Fatalf("Disconnect(%q, %q)", d.nsp, d.reason)
		}
	}
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	c.connect("/", "")
	c.send(`42["close"]`)
	ctx := t.Context()
	_, _, err := c.c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("read: %v", err)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Reason != "bye" {
		t.Fatalf("close reason: %v", err)
	}
	if d := h.waitDisconnect(t); d.reason != "bye" {
		t.Fatalf("Disconnect reason %q", d.reason)
	}
	if s := (<-h.events).s; s.Context().Err() == nil {
		t.Fatal("Context not done after Close")
	}
}

func TestHandlerPanicClosesOnlyThatSocket(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := newTestHandler()
	_, ts := newTestServer(t, Config{Logger: logger}, h)
	bystander := dial(t, ts)
	bystander.connect("/", "")
	c := dial(t, ts)
	c.connect("/", "")
	c.send(`42["panic"]`)
	if code := c.expectClose(); code != websocket.StatusInternalError {
		t.Fatalf("closed with %v, want 1011", code)
	}
	if d := h.waitDisconnect(t); d.reason != "server error" {
		t.Fatalf("reason %q", d.reason)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "test panic") {
		t.Fatalf("panic not logged at Error: %s", logs.String())
	}
	bystander.expectOpen()
}

func TestSocketAccessors(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	_, ts := newTestServer(t, Config{}, h)
	c := dial(t, ts)
	s := h.socket(t, c.connect("/", ""))
	if s.RemoteAddr() != "127.0.0.1" {
		t.Fatalf("RemoteAddr %q", s.RemoteAddr())
	}
	if s.Context().Err() != nil {
		t.Fatal("Context done on a live socket")
	}
}
