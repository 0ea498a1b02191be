package app

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"chatapp/shared"
)

func ops(m *model) string {
	var out []string
	for _, o := range m.outbox {
		op := o.Op
		if op == "" {
			op = "message"
		}
		out = append(out, op+":"+o.Data)
	}
	return strings.Join(out, " ")
}

// What waits unsent folds: the server gets what the person meant, once.
func TestOutbox_QueueFolds(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.queue(outgoing{Op: opRead, Recipient: "bob", Command: shared.CommandChat, Seq: 4, Data: "4"})
	m.queue(outgoing{Op: opRead, Recipient: "Bob", Command: shared.CommandChat, Seq: 6, Data: "6"})
	m.queue(outgoing{Op: opRead, Recipient: "lounge", Command: shared.CommandGroupchat, Seq: 6, Data: "lounge"})
	m.queue(outgoing{Op: opReact, Ref: 5, Data: "👍", On: true})
	m.queue(outgoing{Op: opReact, Ref: 5, Data: "🎉", On: true})
	m.queue(outgoing{Op: opReact, Ref: 5, Data: "👍", On: false}) // clicked again: both go
	m.queue(outgoing{Op: opEdit, Ref: 5, Data: "helo"})
	m.queue(outgoing{Op: opEdit, Ref: 5, Data: "hello"}) // the first one's text changes
	m.queue(outgoing{Op: opEdit, Ref: 7, Data: "seven"})
	if got, want := ops(m), "read:6 read:lounge react:🎉 edit:hello edit:seven"; got != want {
		t.Fatalf("outbox %s, want %s", got, want)
	}
	m.outbox[len(m.outbox)-1].sentIn = 3 // the edit of 7 is on its way: it stays
	m.queue(outgoing{Op: opDelete, Ref: 5})
	m.queue(outgoing{Op: opDelete, Ref: 7})
	if got, want := ops(m), "read:6 read:lounge edit:seven delete: delete:"; got != want {
		t.Fatalf("after the deletions %s, want %s", got, want)
	}
	m.queue(outgoing{Op: opEdit, Ref: 7, Data: "later"}) // the sent one cannot change: a new edit
	if got := ops(m); !strings.HasSuffix(got, "edit:later") {
		t.Fatalf("outbox %s", got)
	}
}

// Each operation goes out as the protocol writes it (PROTOCOL.md 4.3,
// 4.6, 4.9), and the outbox persists as JSON that an earlier version's
// messages still read as.
func TestOutbox_Requests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o          outgoing
		name, want string
	}{
		{outgoing{CID: "c1", Recipient: "bob", Command: shared.CommandChat, Data: "hi"},
			shared.EventMessage, `{"recepient":"bob","command":"chat","type":"text","data":"hi","cid":"c1"}`},
		{outgoing{CID: "c2", Recipient: "lounge", Command: shared.CommandGroupchat, Data: "yes", ReplyTo: 7},
			shared.EventMessage, `{"recepient":"lounge","command":"groupchat","type":"text","data":"yes","cid":"c2","replyTo":"7"}`},
		{outgoing{Op: opEdit, CID: "c3", Ref: 7, Data: "new"},
			shared.EventMessage, `{"recepient":"","command":"edit","type":"","data":"new","cid":"c3","ref":"7"}`},
		{outgoing{Op: opDelete, CID: "c4", Ref: 7},
			shared.EventMessage, `{"recepient":"","command":"delete","type":"","data":"","cid":"c4","ref":"7"}`},
		{outgoing{Op: opReact, CID: "c5", Ref: 7, Data: "👍", On: true},
			shared.EventMessage, `{"recepient":"","command":"react","type":"","data":"👍","cid":"c5","ref":"7"}`},
		{outgoing{Op: opRead, CID: "c6", Recipient: "ALL", Command: shared.CommandChat, Seq: 9},
			shared.EventRead, `{"target":"ALL","command":"chat","seq":"9"}`},
	}
	for _, tt := range tests {
		name, payload := tt.o.request()
		b, _ := json.Marshal(payload)
		if name != tt.name || !jsonEqual(string(b), tt.want) {
			t.Errorf("%+v: %s %s, want %s %s", tt.o, name, b, tt.name, tt.want)
		}
	}
	var old []outgoing // what the first UI stored
	if err := json.Unmarshal([]byte(`[{"cid":"x","recepient":"bob","command":"chat","data":"hi","created":"2026-01-02T03:04:05.000Z"}]`), &old); err != nil {
		t.Fatal(err)
	}
	if name, _ := old[0].request(); name != shared.EventMessage || old[0].Op != opMessage {
		t.Fatalf("an old outbox entry reads as %+v", old[0])
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// Until the server answers, the page shows a message as the changes
// waiting for it will leave it; the answer to a change of a direct
// message (no event comes back to the sending socket) applies it.
func TestModel_PendingChangesShowAndTheAnswerApplies(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(1, "alice", "bob", shared.CommandChat, "helo"))
	m.received(msg(2, "bob", "alice", shared.CommandChat, "look"))
	m.queue(outgoing{Op: opEdit, CID: "e", Ref: 1, Data: "hello"})
	m.queue(outgoing{Op: opReact, CID: "r", Ref: 2, Data: "👍", On: true})
	shown, pending := m.overlay(m.convs[userConv("bob")].msgs[0])
	if !pending || shown.Data != "hello" {
		t.Fatalf("pending edit shows %+v", shown)
	}
	shown, pending = m.overlay(m.convs[userConv("bob")].msgs[1])
	if !pending || !hasReacted(shown.Reactions, "👍", "alice") {
		t.Fatalf("pending reaction shows %+v", shown)
	}
	if stored := m.convs[userConv("bob")].msgs[0]; stored.Data != "helo" {
		t.Fatal("a pending change was stored as done")
	}

	m.acked("e", 3, "2026-01-02T03:06:00.000Z")
	m.acked("r", 4, "2026-01-02T03:06:01.000Z")
	got := m.convs[userConv("bob")].msgs
	if len(m.outbox) != 0 || got[0].Data != "hello" || got[0].Edited != "2026-01-02T03:06:00.000Z" || !hasReacted(got[1].Reactions, "👍", "alice") {
		t.Fatalf("after the answers: outbox %v, messages %+v", m.outbox, got)
	}
	if _, pending := m.overlay(got[0]); pending {
		t.Fatal("still pending after the answer")
	}
	// The event of the same change, as a room's sender gets it too,
	// changes nothing more.
	m.received(react(4, "alice", "bob", shared.CommandChat, 2, "👍", true))
	if users := m.convs[userConv("bob")].msgs[1].Reactions["👍"]; !slices.Equal(users, []string{"alice"}) {
		t.Fatalf("reactions %v", users)
	}
}
