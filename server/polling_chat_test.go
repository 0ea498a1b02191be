package server

import (
	"fmt"
	"testing"
	"time"

	"chatapp/shared"
)

// The chat over HTTP long-polling, and across the upgrade: the hub and the
// handlers must not care which transport a socket uses.

func TestPolling_ChatAcrossTransports(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, ra := ts.loginPolling("alice") // stays on polling
	if ra.Token == "" {
		t.Fatalf("login: %+v", ra)
	}
	b, _ := ts.login("bob") // WebSocket

	r := a.req("message", map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "hi bob"})
	if r.Code != "200" {
		t.Fatalf("send: %+v", r)
	}
	if m := b.message(); m.Sender != "alice" || m.Data != "hi bob" || m.Seq.String() != r.Seq {
		t.Fatalf("bob got %+v", m)
	}
	r = b.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": "hi alice"})
	if m := a.message(); m.Sender != "bob" || m.Data != "hi alice" || m.Seq.String() != r.Seq {
		t.Fatalf("alice got %+v", m)
	}
	a.none("message", 50*time.Millisecond) // her own message came back as the ack only

	// Rooms: alice (polling) creates and posts, bob (WebSocket) joins.
	if r := a.req("room", map[string]any{"command": "create", "roomId": "lobby", "roomName": "Lobby"}); r.Code != "200" {
		t.Fatalf("create: %+v", r)
	}
	a.take("room", nil)
	b.take("room", nil)
	if r := b.req("room", map[string]any{"command": "join", "roomId": "lobby"}); r.Code != "200" {
		t.Fatalf("join: %+v", r)
	}
	a.take("room", nil)
	b.take("room", nil)
	r = a.req("message", map[string]any{"recepient": "lobby", "command": "groupchat", "type": "text", "data": "room msg"})
	for _, m := range []shared.Message{a.message(), b.message()} {
		if m.Command != "groupchat" || m.Recipient != "lobby" || m.Data != "room msg" || m.Seq.String() != r.Seq {
			t.Fatalf("groupchat %+v", m)
		}
	}

	// Alice upgrades; the session, login and rooms carry over.
	a.upgrade()
	r = b.req("message", map[string]any{"recepient": "lobby", "command": "groupchat", "type": "text", "data": "after upgrade"})
	if m := a.message(); m.Data != "after upgrade" || m.Seq.String() != r.Seq {
		t.Fatalf("after upgrade: %+v", m)
	}
	b.message()
	if r := a.req("message", map[string]any{"recepient": "ALL", "command": "chat", "type": "text", "data": "all"}); r.Code != "200" {
		t.Fatalf("send over the upgraded socket: %+v", r)
	}
	a.message()
	b.message()

	// Closing the upgraded socket takes alice offline.
	a.tc.close()
	var off shared.Presence
	b.take(shared.EventPresence, &off)
	if off.Command != "offline" || off.User == nil || off.User.ID != "alice" {
		t.Fatalf("presence %+v", off)
	}
}

// TestPolling_UpgradeDuringBurst: messages fanned out to a polling socket
// while it upgrades arrive exactly once and in seq order.
func TestPolling_UpgradeDuringBurst(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, _ := ts.loginPolling("alice")
	b, _ := ts.login("bob")
	const n = 600
	sent := make(chan string, n)
	go func() {
		for i := range n {
			// Acks not awaited: the burst goes out as fast as bob can write.
			b.emit("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": fmt.Sprint(i)}, false)
		}
		close(sent)
	}()
	var seqs []shared.Seq
	for len(seqs) < n/3 {
		seqs = append(seqs, a.message().Seq)
	}
	a.upgrade()
	for len(seqs) < n {
		seqs = append(seqs, a.message().Seq)
	}
	a.none("message", 100*time.Millisecond)
	for i := 1; i < n; i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("message %d: seq %s after %s", i, seqs[i], seqs[i-1])
		}
	}
	<-sent
}

// TestPolling_TokenReplay: recovery with {token, offset} over polling.
func TestPolling_TokenReplay(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, ra := ts.loginPolling("alice")
	b, _ := ts.login("bob")
	seen := b.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": "seen"})
	a.message()
	a.close()
	var off shared.Presence
	b.take(shared.EventPresence, &off)

	var sent []string
	for i := range 5 {
		r := b.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": fmt.Sprint("missed ", i)})
		sent = append(sent, r.Seq)
	}
	a = ts.dialPolling("alice", map[string]any{"token": ra.Token, "offset": seen.Seq})
	if a.cerr != "" {
		t.Fatalf("token connect: %s", a.cerr)
	}
	a.take("room", nil)
	a.take("presence", nil)
	for i, want := range sent {
		if i == 2 {
			a.upgrade() // mid-replay
		}
		if m := a.message(); m.Seq.String() != want {
			t.Fatalf("replay got seq %s (%q), want %s", m.Seq, m.Data, want)
		}
	}
	a.none("message", 100*time.Millisecond)
	if r := a.req("message", map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "back"}); r.Code != "200" {
		t.Fatalf("send after resume: %+v", r)
	}
}
