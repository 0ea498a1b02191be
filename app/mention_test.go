package app

import (
	"slices"
	"testing"

	"chatapp/shared"
)

func TestMentionAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		before string
		query  string
		at     int
		ok     bool
	}{
		{"@", "", 0, true},
		{"hi @bo", "bo", 3, true},
		{"(@Bob.s", "Bob.s", 1, true},
		{"mail me@example", "", 0, false}, // an @ inside a word is not a mention
		{"@bob ", "", 0, false},           // done: a space after it
		{"안녕 @보", "", 0, false},           // ids are A–Z, 0–9, _ . -
		{"", "", 0, false},
	}
	for _, tt := range tests {
		q, at, ok := mentionAt(tt.before)
		if q != tt.query || at != tt.at || ok != tt.ok {
			t.Errorf("mentionAt(%q) = %q %d %v, want %q %d %v", tt.before, q, at, ok, tt.query, tt.at, tt.ok)
		}
	}
}

// The completion offers the users the client knows, the open
// conversation's writers first, never the user.
func TestModel_MentionCandidates(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.presence(shared.Presence{Command: shared.PresenceList, Users: []shared.PresenceUser{
		{ID: "alice", Alias: "Alice"}, {ID: "Bella", Alias: "Bee"}, {ID: "zed", Alias: "Bob the Builder"},
	}})
	m.meta[userConv("brian")] = convMeta{Last: 3}
	m.setJoined([]shared.JoinedRoom{{ID: "lounge"}})
	m.received(msg(1, "bob", "lounge", shared.CommandGroupchat, "hi"))
	m.received(msg(2, "carol", "lounge", shared.CommandGroupchat, "hi"))
	m.received(msg(4, "bert", "ALL", shared.CommandChat, "hi"))
	m.selectConv(roomConv("lounge"))
	ids := func(q string) []string {
		var out []string
		for _, u := range m.candidates(q) {
			out = append(out, u.ID)
		}
		return out
	}
	if got, want := ids("b"), []string{"bob", "Bella", "bert", "brian", "zed"}; !slices.Equal(got, want) {
		t.Fatalf("@b offers %v, want %v (the room's writers first, then by id; zed by his name)", got, want)
	}
	if got := ids(""); len(got) != 6 || got[0] != "carol" || slices.Contains(got, "alice") {
		t.Fatalf("@ offers %v", got)
	}
	if got := ids("BEE"); !slices.Equal(got, []string{"Bella"}) {
		t.Fatalf("@BEE offers %v", got)
	}
	for i := range 20 {
		m.people[shared.Fold("user"+string(rune('a'+i)))] = shared.PresenceUser{ID: "user" + string(rune('a'+i))}
	}
	if got := ids("user"); len(got) != maxCandidates {
		t.Fatalf("%d offered, want at most %d", len(got), maxCandidates)
	}
}
