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
	m.setJoined([]shared.JoinedRoom{{ID: "Lounge", Name: "L", Owner: "bob", Members: 2}})
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
	// A room joined on another device: its history is older than its
	// first message here.
	m.received(msg(4, "bob", "den", shared.CommandGroupchat, "hello den"))
	if !m.member["den"] || m.convs[roomConv("den")].from != 4 {
		t.Fatalf("den: member %v, window from %d", m.member["den"], m.convs[roomConv("den")].from)
	}
}

func TestModel_UnreadCountsWhatIsNotOnScreen(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.received(msg(1, "bob", "alice", shared.CommandChat, "before any pick"))
	if got := m.counts(userConv("bob")); got.Unread != 1 {
		t.Fatalf("a direct message in All messages: %+v (a conversation is read when opened)", got)
	}
	m.selectConv(allConv)
	m.received(msg(2, "bob", "alice", shared.CommandChat, "dm"))
	m.received(msg(3, "bob", "ALL", shared.CommandChat, "seen"))
	m.received(msg(4, "alice", "bob", shared.CommandChat, "mine"))
	mention := msg(5, "bob", "lounge", shared.CommandGroupchat, "@alice look")
	mention.Mentions = []string{"Alice"}
	m.received(mention)
	if b, a, l := m.counts(userConv("bob")), m.counts(allConv), m.counts(roomConv("lounge")); b.Unread != 2 || a.Unread != 0 || l != (Counts{1, 1}) || m.unreadTotal() != 3 {
		t.Fatalf("bob %+v, ALL %+v, lounge %+v, total %d", b, a, l, m.unreadTotal())
	}
	if meta := m.meta[userConv("bob")]; meta.Last != 4 {
		t.Fatalf("bob's conversation ends at %d, want 4 (own messages count as activity)", meta.Last)
	}
	// With the page hidden the open conversation counts too.
	m.hidden = true
	m.received(msg(6, "bob", "ALL", shared.CommandChat, "while away"))
	if a := m.counts(allConv); a.Unread != 1 {
		t.Fatalf("ALL while hidden %+v", a)
	}
}

// Read marks move forward only; one below the newest event counts what
// the window holds after it.
func TestModel_ReadMarks(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	bob := userConv("bob")
	for i := 1; i <= 4; i++ {
		m.received(msg(i, "bob", "alice", shared.CommandChat, "m"))
	}
	if !m.markRead(bob, 2) || m.counts(bob).Unread != 2 {
		t.Fatalf("read up to 2 of 4: %+v", m.counts(bob))
	}
	if m.markRead(bob, 1) || m.meta[bob].Read != 2 {
		t.Fatal("a read mark moved back")
	}
	m.markRead(bob, 4)
	if m.counts(bob).Unread != 0 {
		t.Fatalf("read to the end: %+v", m.counts(bob))
	}
	// A deleted unread message is no longer counted.
	m.received(msg(5, "bob", "alice", shared.CommandChat, "oops"))
	del := shared.Message{Seq: 6, Sender: "bob", Recipient: "alice", Command: shared.CommandDelete, Ref: 5, Of: shared.CommandChat}
	m.received(del)
	if m.counts(bob).Unread != 0 || m.meta[bob].Last != 6 {
		t.Fatalf("after the delete: %+v", m.meta[bob])
	}
}

// The login's conversations make a new device right: counts as the
// server has them, and a window for each that knows where its messages
// end, so that history loads them; the replay that follows is not
// counted twice.
func TestModel_ConversationsOfTheLogin(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.outbox = []outgoing{{Op: opRead, CID: "r", Recipient: "lounge", Command: shared.CommandGroupchat, Seq: 40}}
	m.setConversations([]shared.Conversation{
		{Target: "bob", Command: shared.CommandChat, Last: 30, Read: 28, Unread: 2},
		{Target: "lounge", Command: shared.CommandGroupchat, Last: 40, Read: 10, Unread: 9, Mentions: 1},
		{Target: "ALL", Command: shared.CommandChat, Last: 0},
	}, 25)
	if got := m.counts(userConv("bob")); got.Unread != 2 {
		t.Fatalf("bob %+v", got)
	}
	if got := m.counts(roomConv("lounge")); got.Unread != 0 {
		t.Fatalf("lounge %+v: the read mark waiting in the outbox is not applied", got)
	}
	if b, a := m.convs[userConv("bob")].from, m.convs[allConv].from; b != 26 || a != 0 {
		t.Fatalf("windows start at bob %d, ALL %d; want 26 (the replay brings what is newer) and 0 (nothing)", b, a)
	}
	m.received(msg(29, "bob", "alice", shared.CommandChat, "replayed"))
	m.received(msg(41, "bob", "alice", shared.CommandChat, "live"))
	if got := m.counts(userConv("bob")); got.Unread != 3 {
		t.Fatalf("bob after the replay and a live message: %+v, want 3", got)
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
