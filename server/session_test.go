package server

// Protocol version 2 sessions (issue 11): the session event of a token
// reconnect and read marks, against a real server with the test clients;
// and the helpers the version 2 tests share.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"chatapp/shared"
)

// send sends a message and fails unless it is answered 200.
func send(t *testing.T, c *tc, payload map[string]any) shared.Response {
	t.Helper()
	if _, ok := payload["type"]; !ok {
		payload["type"] = "text"
	}
	r := c.req(shared.EventMessage, payload)
	if r.Code != shared.CodeOK {
		t.Fatalf("%s: message %v: %+v", c.name, payload, r)
	}
	return r
}

func dm(to, data string) map[string]any {
	return map[string]any{"recepient": to, "command": "chat", "data": data}
}

func toRoom(id, data string) map[string]any {
	return map[string]any{"recepient": id, "command": "groupchat", "data": data}
}

func changeReq(command, ref, data string) map[string]any {
	m := map[string]any{"command": command, "ref": ref}
	if data != "" {
		m["data"] = data
	}
	return m
}

// mustRoom creates a room owned by owner and has the others join it.
func mustRoom(t *testing.T, id string, owner *tc, others ...*tc) {
	t.Helper()
	if r := owner.req("room", map[string]any{"command": "create", "roomId": id, "roomName": "Room " + id}); r.Code != "200" {
		t.Fatalf("create %s: %+v", id, r)
	}
	for _, o := range others {
		if r := o.req("room", map[string]any{"command": "join", "roomId": id}); r.Code != "200" {
			t.Fatalf("join %s: %+v", id, r)
		}
	}
}

// convOf finds a conversation in a list.
func convOf(list []shared.Conversation, target, command string) (shared.Conversation, bool) {
	for _, c := range list {
		if c.Target == target && c.Command == command {
			return c, true
		}
	}
	return shared.Conversation{}, false
}

// TestSessionEvent: a token reconnect gets the session event (what a
// login answer says) before the lists and the replay.
func TestSessionEvent(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, lr := ts.login("alice")
	bob, _ := ts.login("bob")
	mustRoom(t, "r", bob, alice)
	send(t, bob, dm("alice", "one"))
	m2 := send(t, bob, toRoom("r", "two"))

	c := ts.dial("alice2", map[string]any{"token": lr.Token, "offset": "0"})
	var order []string
	for deadline := time.Now().Add(wait); len(order) < 5; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for session, lists and replay: got %v", order)
		}
		order = order[:0]
		for _, e := range c.Events() {
			order = append(order, e.Name)
		}
	}
	if want := []string{"session", "room", "presence", "message", "message"}; !slices.Equal(order[:5], want) {
		t.Fatalf("events %v, want %v", order, want)
	}
	var sess shared.Session
	c.take("session", &sess)
	if sess.User == nil || sess.User.ID != "alice" || sess.Offset != m2.Seq || len(sess.Joined) != 1 || sess.Joined[0].ID != "r" {
		t.Fatalf("session %+v", sess)
	}
	if cb, ok := convOf(sess.Conversations, "bob", "chat"); !ok || cb.Unread != 1 {
		t.Fatalf("session conversations %+v", sess.Conversations)
	}
	// An anonymous CONNECT gets none.
	anon := ts.dial("anon", nil)
	anon.none("session", 100*time.Millisecond)
	_ = alice
}

// TestReadMarks: forward only, of an event of the conversation, told to
// the user's other sockets.
func TestReadMarks(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	alice2, _ := ts.login("alice")
	bob, _ := ts.login("bob")
	m1 := send(t, bob, dm("alice", "1"))
	m2 := send(t, bob, dm("alice", "2"))
	other := send(t, bob, map[string]any{"recepient": "ALL", "command": "chat", "data": "all"})
	read := func(seq any) shared.Response {
		return alice.req("read", map[string]any{"target": "bob", "command": "chat", "seq": seq})
	}
	if r := read(m2.Seq); r.Code != "200" {
		t.Fatal(r)
	}
	var ev shared.Read
	alice2.take("read", &ev)
	if ev.Target != "bob" || ev.Seq.String() != m2.Seq {
		t.Fatalf("read event %+v", ev)
	}
	if r := read(m1.Seq); r.Code != "200" { // backwards: nothing changes
		t.Fatal(r)
	}
	alice2.none("read", 100*time.Millisecond)
	for _, bad := range []struct {
		seq  any
		code string
	}{{other.Seq, "404"}, {"99999", "404"}, {"0", "404"}, {"x", "400"}, {-1, "400"}, {nil, "400"}} {
		r := alice.req("read", map[string]any{"target": "bob", "command": "chat", "seq": bad.seq})
		if r.Code != bad.code || !strings.Contains(r.Message, "seq") {
			t.Errorf("seq %v: %+v", bad.seq, r)
		}
	}
	_, lr := ts.login("alice")
	if c, _ := convOf(lr.Conversations, "bob", "chat"); c.Read.String() != m2.Seq || c.Unread != 0 {
		t.Fatalf("after reading %+v", c)
	}
}
