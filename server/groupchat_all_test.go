package server

import (
	"testing"
	"time"
)

// TestGroupchatToAll: groupchat to ALL (the last page of the tutorial
// sends it by default) is the broadcast, delivered, stored and listed as
// chat to ALL, as the original server treated it; before, it was
// "404 no such room ALL".
func TestGroupchatToAll(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, _ := ts.login("alice")
	b, _ := ts.login("bob")
	anon := ts.dial("anon", nil)

	for _, to := range []string{"ALL", "all"} {
		r := a.req("message", map[string]any{"sender": "alice", "recepient": to, "command": "groupchat", "type": "text", "data": "hello " + to})
		if r.Code != "200" || r.Seq == "" {
			t.Fatalf("groupchat to %s: %+v", to, r)
		}
		for _, c := range []*tc{a, b} {
			m := c.message()
			if m.Command != "chat" || m.Recipient != "ALL" || m.Sender != "alice" || m.Data != "hello "+to || m.Seq.String() != r.Seq {
				t.Fatalf("%s got %+v", c.name, m)
			}
		}
	}
	anon.none("message", 50*time.Millisecond) // the broadcast is for logged-in sockets
	h := b.req("history", map[string]any{"target": "ALL", "command": "chat"})
	if h.Code != "200" || len(h.Messages) != 2 || h.Messages[0].Data != "hello ALL" || h.Messages[1].Command != "chat" {
		t.Fatalf("history of ALL: %+v", h)
	}
	// ALL is still no room: it cannot be created, and its history is chat's.
	if r := a.req("room", map[string]any{"command": "create", "roomId": "ALL", "roomName": "x"}); r.Code != "400" {
		t.Fatalf("create room ALL: %+v", r)
	}
	if r := a.req("history", map[string]any{"target": "ALL", "command": "groupchat"}); r.Code != "404" {
		t.Fatalf("groupchat history of ALL: %+v", r)
	}
}
