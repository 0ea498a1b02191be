package server

// Typing (PROTOCOL.md 4.8, issue 11), against a real server with the
// test clients.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"chatapp/shared"
)

// TestTypingGate: one event per key every shared.TypingEvery, and the
// gate forgets what is older once it has grown.
func TestTypingGate(t *testing.T) {
	var g typingGate
	t0 := time.Unix(1000, 0)
	steps := []struct {
		key  string
		at   time.Duration
		want bool
	}{
		{"a", 0, true}, {"a", time.Second, false}, {"b", time.Second, true},
		{"a", 1999 * time.Millisecond, false}, {"a", 2 * time.Second, true}, {"a", 3 * time.Second, false},
	}
	for _, s := range steps {
		if got := g.allow(s.key, t0.Add(s.at)); got != s.want {
			t.Errorf("%s at %v: %v", s.key, s.at, got)
		}
	}
	// It forgets what is older than the interval once it has grown.
	for i := range typingSweepAt + 10 {
		g.allow(fmt.Sprint("k", i), t0.Add(10*time.Second))
	}
	g.allow("late", t0.Add(20*time.Second))
	if n := len(g.last); n > 2 {
		t.Fatalf("%d entries kept", n)
	}
}

// TestTyping: delivered to the others in the conversation, never stored,
// throttled, and answered only with an ack.
func TestTyping(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	alice2, _ := ts.login("alice")
	bob, _ := ts.login("bob")
	carol, _ := ts.login("carol")
	mustRoom(t, "r", alice, bob)
	before := ts.st.LastSeq()

	if r := alice.req("typing", map[string]any{"recepient": "r", "command": "groupchat"}); r.Code != "200" {
		t.Fatal(r)
	}
	var ty shared.Typing
	bob.take("typing", &ty)
	if ty != (shared.Typing{Sender: "alice", Recipient: "r", Command: "groupchat"}) {
		t.Fatalf("room typing %+v", ty)
	}
	alice2.none("typing", 50*time.Millisecond) // one's own sockets are not the others
	if r := alice.req("typing", map[string]any{"recepient": "bob", "command": "chat"}); r.Code != "200" {
		t.Fatal(r)
	}
	bob.take("typing", &ty)
	alice2.take("typing", &ty)
	if ty != (shared.Typing{Sender: "alice", Recipient: "bob", Command: "chat"}) {
		t.Fatalf("DM typing %+v", ty)
	}
	// Again at once: answered, not delivered.
	if r := alice.req("typing", map[string]any{"recepient": "bob", "command": "chat"}); r.Code != "200" {
		t.Fatal(r)
	}
	bob.none("typing", 100*time.Millisecond)
	// Without an ack id nothing answers, not even a refusal.
	alice.emit("typing", map[string]any{"recepient": "carol", "command": "chat"}, false)
	alice.emit("typing", map[string]any{"recepient": "ALL", "command": "chat"}, false)
	carol.take("typing", &ty)
	alice.none("response", 100*time.Millisecond)
	for _, bad := range []struct {
		p    map[string]any
		code string
		what string
	}{
		{map[string]any{"recepient": "ALL", "command": "chat"}, "400", "recepient"},
		{map[string]any{"command": "chat"}, "400", "recepient"},
		{map[string]any{"recepient": "bob"}, "400", "command"},
		{map[string]any{"recepient": "bob", "command": "edit"}, "400", "command"},
		{map[string]any{"recepient": "nobody", "command": "chat"}, "404", "nobody"},
		{map[string]any{"recepient": "nowhere", "command": "groupchat"}, "404", "nowhere"},
	} {
		if r := alice.req("typing", bad.p); r.Code != bad.code || !strings.Contains(r.Message, bad.what) {
			t.Errorf("%v: %+v", bad.p, r)
		}
	}
	if r := carol.req("typing", map[string]any{"recepient": "r", "command": "groupchat"}); r.Code != "403" {
		t.Errorf("typing in a room one is not in: %+v", r)
	}
	if ts.st.LastSeq() != before {
		t.Fatal("typing was stored")
	}
}
