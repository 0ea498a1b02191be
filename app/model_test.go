package app

import (
	"encoding/json"
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
		want conv
	}{
		{"room, any case", msg(1, "bob", "Lounge", shared.CommandGroupchat, "x"), conv{kindRoom, "lounge"}},
		{"ALL, any case", msg(1, "bob", "all", shared.CommandChat, "x"), allConv},
		{"from someone", msg(1, "Bob", "alice", shared.CommandChat, "x"), conv{kindUser, "bob"}},
		{"to someone", msg(1, "ALICE", "Bob", shared.CommandChat, "x"), conv{kindUser, "bob"}},
		{"to myself", msg(1, "alice", "Alice", shared.CommandChat, "x"), conv{kindUser, "alice"}},
	}
	for _, tt := range tests {
		if got := convOf("alice", &tt.m); got != tt.want {
			t.Errorf("%s: convOf = %v, want %v", tt.name, got, tt.want)
		}
	}
	// What a request names: the command and a target the server matches.
	for c, want := range map[conv][2]string{
		allConv:         {shared.CommandChat, shared.All},
		roomConv("Lo"):  {shared.CommandGroupchat, "lo"},
		userConv("Bob"): {shared.CommandChat, "bob"},
		roomConv("방 1"): {shared.CommandGroupchat, "방 1"},
	} {
		if c.command() != want[0] || c.target() != want[1] {
			t.Errorf("%v: %s %s, want %v", c, c.command(), c.target(), want)
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
	m.timeline(allConv).page([]shared.Message{msg(1, "bob", "ALL", shared.CommandChat, "old page")}, pageSize, true)
	m.outbox = []outgoing{{CID: "c", Recipient: "ALL", Command: shared.CommandChat, Data: "x"}}
	m.acked("c", 12, "2026-01-02T03:04:05.000Z")
	if m.offset != 9 {
		t.Fatalf("history or an ack moved the offset to %d", m.offset)
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
	m.selectConv(allConv)
	m.received(msg(2, "bob", "alice", shared.CommandChat, "dm"))
	m.received(msg(3, "bob", "ALL", shared.CommandChat, "seen"))
	m.received(msg(4, "alice", "bob", shared.CommandChat, "mine"))
	if got := m.unread; got[userConv("bob")] != 1 || got[allConv] != 0 || m.unreadTotal() != 1 {
		t.Fatalf("unread %v, want bob 1", got)
	}
	m.selectConv(userConv("bob"))
	if m.unread[userConv("bob")] != 0 {
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
	m.selectConv(userConv("bob"))
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
	if len(m.rooms) != 1 || m.member["lounge"] || m.convs[roomConv("lounge")] != nil || m.selected != everything {
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
	n := 0
	for _, cc := range c {
		n += len(cc.Msgs)
	}
	if len(c) != 2 || n != cachePerConv+1 {
		t.Fatalf("cache holds %d conversations, %d messages", len(c), n)
	}
	b, err := json.Marshal(c) // as localStorage holds it
	if err != nil {
		t.Fatal(err)
	}
	c = nil
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	r := loggedInModel("alice")
	r.restoreCache(c)
	if got := r.visible(); len(got) != cachePerConv+1 || got[len(got)-1].Seq != 500 {
		t.Fatalf("restored %d messages", len(got))
	}
	if from := r.convs[allConv].from; from != 21 {
		t.Fatalf("the cached window of ALL starts at %d, want 21 (older ones load with history)", from)
	}
}

func TestModel_LeavingARoomForgetsItsMessages(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(1, "bob", "den", shared.CommandGroupchat, "secret"))
	m.received(msg(2, "bob", "alice", shared.CommandChat, "dm"))
	m.selectConv(roomConv("den"))
	m.left("DEN")
	if got := m.visible(); len(got) != 0 || m.member["den"] {
		t.Fatalf("after leaving: %v, member %v", got, m.member["den"])
	}
	m.selectConv(everything)
	if got := seqsOf(m.visible()); !slices.Equal(got, []shared.Seq{2}) {
		t.Fatalf("all messages after leaving: %v", got)
	}
}

// A capped replay (206) means a gap before it: every window restarts.
func TestModel_CappedReplayRestartsTheWindows(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(3, "bob", "ALL", shared.CommandChat, "old"))
	m.capped(4990)
	m.received(msg(5000, "bob", "ALL", shared.CommandChat, "after the gap"))
	m.received(msg(5001, "bob", "dave", shared.CommandChat, "a conversation first seen"))
	tl := m.convs[allConv]
	if got := seqsOf(tl.msgs); !slices.Equal(got, []shared.Seq{5000}) || tl.from != 4990 {
		t.Fatalf("window %v from %d", got, tl.from)
	}
	if from := m.convs[userConv("bob")].from; from != 4990 {
		t.Fatalf("a conversation first seen in the capped replay is complete from %d", from)
	}
}

// The "All messages" view shows each conversation only within the span
// where all of them are complete.
func TestModel_HorizonOfAllMessages(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	for _, s := range []int{1, 4, 9} {
		m.received(msg(s, "bob", "ALL", shared.CommandChat, "all"))
	}
	m.received(msg(6, "bob", "lounge", shared.CommandGroupchat, "room"))
	m.received(msg(10, "bob", "lounge", shared.CommandGroupchat, "room"))
	m.convs[roomConv("lounge")].from = 6 // its older messages are not loaded
	if got := seqsOf(m.visible()); !slices.Equal(got, []shared.Seq{6, 9, 10}) {
		t.Fatalf("all messages %v, want from the room's first on", got)
	}
	if low, high := m.horizon(); low != 6 || high != 0 {
		t.Fatalf("horizon %d–%d", low, high)
	}
}
