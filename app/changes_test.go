package app

import (
	"slices"
	"testing"

	"chatapp/shared"
)

func change(seq int, by, to, of, command string, ref int, data string) shared.Message {
	return shared.Message{Seq: shared.Seq(seq), Time: "2026-01-02T03:05:00.000Z", Sender: by, Recipient: to,
		Command: command, Of: of, Ref: shared.Seq(ref), Data: data}
}

func react(seq int, by, to, of string, ref int, emoji string, on bool) shared.Message {
	ch := change(seq, by, to, of, shared.CommandReact, ref, emoji)
	ch.On = &on
	return ch
}

func TestChanged(t *testing.T) {
	t.Parallel()
	orig := msg(5, "bob", "alice", shared.CommandChat, "helo")
	orig.ReplyTo = 3
	edited := changed(orig, change(6, "bob", "alice", shared.CommandChat, shared.CommandEdit, 5, "hello"))
	if edited.Data != "hello" || edited.Edited != "2026-01-02T03:05:00.000Z" || edited.ReplyTo != 3 {
		t.Fatalf("edited %+v", edited)
	}
	liked := changed(edited, react(7, "alice", "alice", shared.CommandChat, 5, "👍", true))
	liked = changed(liked, react(8, "carol", "alice", shared.CommandChat, 5, "👍", true))
	liked = changed(liked, react(8, "carol", "alice", shared.CommandChat, 5, "👍", true)) // again: a state, not a toggle
	if got := liked.Reactions["👍"]; !slices.Equal(got, []string{"alice", "carol"}) {
		t.Fatalf("reactions %v", liked.Reactions)
	}
	if edited.Reactions != nil {
		t.Fatal("a reaction changed the map of the message it was applied to")
	}
	unliked := changed(liked, react(9, "ALICE", "alice", shared.CommandChat, 5, "👍", false))
	unliked = changed(unliked, react(10, "carol", "alice", shared.CommandChat, 5, "👍", false))
	if unliked.Reactions != nil {
		t.Fatalf("every reaction off leaves %v", unliked.Reactions)
	}
	deleted := changed(liked, change(11, "bob", "alice", shared.CommandChat, shared.CommandDelete, 5, ""))
	if !deleted.Deleted || deleted.Data != "" || deleted.Reactions != nil || deleted.ReplyTo != 0 || deleted.Sender != "bob" {
		t.Fatalf("deleted %+v", deleted)
	}
	// A replayed edit of a since-deleted message has no text; nothing
	// brings a deleted message back.
	for _, ch := range []shared.Message{
		change(12, "bob", "alice", shared.CommandChat, shared.CommandEdit, 5, ""),
		change(13, "bob", "alice", shared.CommandChat, shared.CommandEdit, 5, "back?"),
		react(14, "bob", "alice", shared.CommandChat, 5, "👍", true),
	} {
		if again := changed(deleted, ch); !again.Deleted || again.Data != "" || again.Reactions != nil {
			t.Fatalf("%s brought the deleted message back: %+v", ch.Command, again)
		}
	}
}

// Changes update the message they name, live or replayed, however often
// they come; they are never messages of their own.
func TestModel_ChangesNeverShowAsMessages(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(1, "bob", "alice", shared.CommandChat, "helo"))
	m.received(msg(2, "alice", "bob", shared.CommandChat, "hi"))
	for range 2 { // a live event, then the same in a replay
		m.received(change(3, "bob", "alice", shared.CommandChat, shared.CommandEdit, 1, "hello"))
		m.received(react(4, "bob", "bob", shared.CommandChat, 2, "❤️", true))
	}
	// alice reacted to bob's message on another device: sender and
	// recepient are both her; the message itself tells the conversation.
	m.received(react(5, "alice", "alice", shared.CommandChat, 1, "👍", true))
	got := m.visible()
	if !slices.Equal(seqsOf(got), []shared.Seq{1, 2}) {
		t.Fatalf("messages %v: a change was shown as a message", seqsOf(got))
	}
	if got[0].Data != "hello" || got[0].Edited == "" || !hasReacted(got[0].Reactions, "👍", "alice") || !hasReacted(got[1].Reactions, "❤️", "bob") {
		t.Fatalf("after the changes: %+v", got)
	}
	if m.offset != 5 || m.meta[userConv("bob")].Last != 5 {
		t.Fatalf("offset %d, bob's conversation ends at %d; want 5", m.offset, m.meta[userConv("bob")].Last)
	}
	if m.counts(userConv("bob")).Unread != 1 {
		t.Fatalf("changes counted as unread: %+v", m.counts(userConv("bob")))
	}
	// A change of a message no window holds moves its conversation's
	// activity, when the event tells the conversation.
	m.received(change(6, "carol", "lounge", shared.CommandGroupchat, shared.CommandEdit, 99, "x"))
	m.received(react(7, "alice", "alice", shared.CommandChat, 98, "👍", true)) // cannot tell
	if m.meta[roomConv("lounge")].Last != 6 || m.offset != 7 || len(m.visible()) != 2 {
		t.Fatalf("lounge ends at %d, offset %d", m.meta[roomConv("lounge")].Last, m.offset)
	}
}

func TestConvOfChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   shared.Message
		want conv
		ok   bool
	}{
		{"a room", change(1, "alice", "Lounge", shared.CommandGroupchat, shared.CommandEdit, 1, "x"), roomConv("lounge"), true},
		{"ALL", change(1, "bob", "ALL", shared.CommandChat, shared.CommandEdit, 1, "x"), allConv, true},
		{"bob changed his message to me", change(1, "bob", "alice", shared.CommandChat, shared.CommandEdit, 1, "x"), userConv("bob"), true},
		{"bob reacted to mine", change(1, "bob", "bob", shared.CommandChat, shared.CommandReact, 1, "x"), userConv("bob"), true},
		{"I changed mine to bob", change(1, "alice", "Bob", shared.CommandChat, shared.CommandEdit, 1, "x"), userConv("bob"), true},
		{"I reacted to one sent to me", change(1, "alice", "alice", shared.CommandChat, shared.CommandReact, 1, "x"), conv{}, false},
	}
	for _, tt := range tests {
		if got, ok := convOfChange("alice", &tt.ev); got != tt.want || ok != tt.ok {
			t.Errorf("%s: %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	for _, c := range []conv{everything, allConv, roomConv("방 1"), userConv("Bob")} {
		if got, ok := parseConv(c.String()); !ok || got != c {
			t.Errorf("parseConv(%q) = %v %v", c.String(), got, ok)
		}
	}
	for _, bad := range []string{"", "room:", "user", "bob", "chan:x"} {
		if _, ok := parseConv(bad); ok {
			t.Errorf("parseConv(%q) accepted", bad)
		}
	}
}
