package app

import (
	"slices"
	"testing"

	"chatapp/shared"
)

func msg(seq int, from, to, command, text string) shared.Message {
	return shared.Message{
		Seq: shared.Seq(seq), Time: "2026-01-02T03:04:05.000Z", Sender: from, Recipient: to,
		Command: command, Type: shared.TypeText, Data: text,
	}
}

func loggedInModel(id string) *model {
	m := newModel()
	m.me = &shared.Profile{ID: id, Alias: "Me"}
	return m
}

func seqsOf(list []shared.Message) []shared.Seq {
	out := make([]shared.Seq, len(list))
	for i, m := range list {
		out[i] = m.Seq
	}
	return out
}

func TestConvOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    shared.Message
		want string
	}{
		{"room, any case", msg(1, "bob", "Lounge", shared.CommandGroupchat, "x"), "r:lounge"},
		{"ALL, any case", msg(1, "bob", "all", shared.CommandChat, "x"), convAll},
		{"from someone", msg(1, "Bob", "alice", shared.CommandChat, "x"), "u:bob"},
		{"to someone", msg(1, "ALICE", "Bob", shared.CommandChat, "x"), "u:bob"},
		{"to myself", msg(1, "alice", "Alice", shared.CommandChat, "x"), "u:alice"},
	}
	for _, tt := range tests {
		if got := convOf("alice", &tt.m); got != tt.want {
			t.Errorf("%s: convOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestModel_MessagesAreOrderedAndUnique(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	for _, s := range []int{5, 2, 9, 2, 5, 7} {
		m.received(msg(s, "bob", "ALL", shared.CommandChat, "m"))
	}
	if got, want := seqsOf(m.visible()), []shared.Seq{2, 5, 7, 9}; !slices.Equal(got, want) {
		t.Fatalf("visible seqs %v, want %v", got, want)
	}
	if m.offset != 9 {
		t.Fatalf("offset %d, want 9", m.offset)
	}
	// History and acks never move the offset: older messages may still be
	// on their way.
	m.addMessage(msg(12, "bob", "ALL", shared.CommandChat, "old page"), false)
	if m.offset != 9 {
		t.Fatalf("history moved the offset to %d", m.offset)
	}
}

func TestModel_AllMessagesViewMergesConversations(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(3, "bob", "alice", shared.CommandChat, "dm"))
	m.received(msg(1, "bob", "ALL", shared.CommandChat, "all"))
	m.received(msg(2, "bob", "lounge", shared.CommandGroupchat, "room"))
	if got, want := seqsOf(m.visible()), []shared.Seq{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("all messages %v, want %v", got, want)
	}
	m.selectConv(roomConv("LOUNGE"))
	if got := m.visible(); len(got) != 1 || got[0].Data != "room" {
		t.Fatalf("room view %v", got)
	}
	if !m.member["lounge"] {
		t.Fatal("a room message did not mark the membership")
	}
}

func TestModel_UnreadCountsOtherConversations(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(1, "bob", "alice", shared.CommandChat, "before any pick"))
	if len(m.unread) != 0 {
		t.Fatalf("unread %v while all messages show", m.unread)
	}
	m.selectConv(convAll)
	m.received(msg(2, "bob", "alice", shared.CommandChat, "dm"))
	m.received(msg(3, "bob", "ALL", shared.CommandChat, "seen"))
	m.received(msg(4, "alice", "bob", shared.CommandChat, "mine"))
	if got := m.unread; got["u:bob"] != 1 || got[convAll] != 0 {
		t.Fatalf("unread %v, want u:bob 1", got)
	}
	m.selectConv("u:bob")
	if m.unread["u:bob"] != 0 {
		t.Fatal("opening the conversation did not clear its count")
	}
}

func TestModel_OutboxAckAndEcho(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.outbox = []outgoing{
		{CID: "c1", Recipient: "bob", Command: shared.CommandChat, Data: "one"},
		{CID: "c2", Recipient: "ALL", Command: shared.CommandChat, Data: "two"},
	}
	m.acked("c1", 10, "2026-01-02T03:04:05.000Z")
	echo := msg(11, "alice", "ALL", shared.CommandChat, "two")
	echo.CID = "c2"
	m.received(echo)
	m.received(echo) // a replay of the same seq
	m.acked("c2", 11, "2026-01-02T03:04:05.000Z")
	if len(m.outbox) != 0 {
		t.Fatalf("outbox %v", m.outbox)
	}
	if got, want := seqsOf(m.visible()), []shared.Seq{10, 11}; !slices.Equal(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
}

func TestModel_PendingFollowsTheConversation(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.outbox = []outgoing{
		{CID: "a", Recipient: "Bob", Command: shared.CommandChat, Data: "to bob"},
		{CID: "b", Recipient: "lounge", Command: shared.CommandGroupchat, Data: "to the room"},
	}
	if got := m.pending(); len(got) != 2 {
		t.Fatalf("all messages view: %d pending", len(got))
	}
	m.selectConv("u:bob")
	if got := m.pending(); len(got) != 1 || got[0].CID != "a" {
		t.Fatalf("bob's conversation: %v", got)
	}
}

func TestModel_RoomDeletedForgetsIt(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.setRooms([]shared.RoomInfo{{ID: "Lounge", Name: "L", Members: 2}, {ID: "x", Name: "X", Members: 1}})
	m.received(msg(1, "bob", "Lounge", shared.CommandGroupchat, "hi"))
	m.selectConv(roomConv("lounge"))
	m.roomDeleted("LOUNGE")
	if len(m.rooms) != 1 || m.member["lounge"] || len(m.convs[roomConv("lounge")]) != 0 || m.selected != convEverything {
		t.Fatalf("after delete: rooms %v member %v selected %q", m.rooms, m.member, m.selected)
	}
}

func TestModel_PresenceOnlineFirst(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.presence(shared.Presence{Command: shared.PresenceList, Users: []shared.PresenceUser{
		{ID: "zed", Online: true}, {ID: "Amy"}, {ID: "bob", Online: true},
	}})
	m.presence(shared.Presence{Command: shared.PresenceOffline, User: &shared.PresenceUser{ID: "zed"}})
	m.presence(shared.Presence{Command: shared.PresenceOnline, User: &shared.PresenceUser{ID: "carl", Alias: "C"}})
	m.presence(shared.Presence{Command: shared.PresenceProfile, User: &shared.PresenceUser{ID: "bob", Alias: "Bobby"}})
	var got []string
	for _, p := range m.sortedPeople() {
		got = append(got, p.ID)
	}
	if want := []string{"bob", "carl", "Amy", "zed"}; !slices.Equal(got, want) {
		t.Fatalf("people %v, want %v", got, want)
	}
	if m.alias("BOB") != "Bobby" || !m.people["bob"].Online {
		t.Fatalf("profile change lost the alias or the online state: %+v", m.people["bob"])
	}
}

func TestModel_CacheRoundTrip(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	for i := 1; i <= cachePerConv+20; i++ {
		m.received(msg(i, "bob", "ALL", shared.CommandChat, "m"))
	}
	m.received(msg(500, "bob", "alice", shared.CommandChat, "dm"))
	c := m.cacheSnapshot()
	if len(c[convAll]) != cachePerConv || len(c["u:bob"]) != 1 {
		t.Fatalf("cache sizes: all %d, bob %d", len(c[convAll]), len(c["u:bob"]))
	}
	n := loggedInModel("alice")
	n.restoreCache(c)
	if got := n.visible(); len(got) != cachePerConv+1 || got[len(got)-1].Seq != 500 {
		t.Fatalf("restored %d messages", len(got))
	}
}
