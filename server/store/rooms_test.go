package store

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func roomByID(rooms []Room, id string) *Room {
	for i := range rooms {
		if rooms[i].ID == id {
			return &rooms[i]
		}
	}
	return nil
}

func TestRooms(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "Alice", "bob", "Carol")

	if err := s.CreateRoom(ctx, "Ärger", "Trouble", "ALICE"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"Ärger", "ärger", "ÄRGER"} {
		wantErr(t, "CreateRoom "+id, s.CreateRoom(ctx, id, "x", "bob"), ErrExists)
	}
	wantErr(t, "CreateRoom unknown owner", s.CreateRoom(ctx, "new", "x", "nobody"), ErrNotFound)
	for _, id := range []string{"b", "A", "z"} {
		if err := s.CreateRoom(ctx, id, "room "+id, "bob"); err != nil {
			t.Fatal(err)
		}
	}

	rooms, err := s.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rooms {
		ids = append(ids, r.ID)
	}
	// Byte order of fold keys: "a" < "b" < "z" < "ärger" (0xC3…).
	if want := []string{"A", "b", "z", "Ärger"}; !slices.Equal(ids, want) {
		t.Fatalf("Rooms order = %v, want %v", ids, want)
	}
	r := roomByID(rooms, "Ärger")
	if r.Name != "Trouble" || r.Owner != "Alice" || !slices.Equal(r.Members, []string{"Alice"}) {
		t.Fatalf("Ärger = %+v, want owner Alice as only member", *r)
	}

	// Join in any case; idempotent.
	for _, u := range []string{"carol", "BOB", "bob"} {
		if err := s.Join(ctx, "ärger", u); err != nil {
			t.Fatalf("Join(%q): %v", u, err)
		}
	}
	wantErr(t, "Join missing room", s.Join(ctx, "nowhere", "bob"), ErrNotFound)
	wantErr(t, "Join missing user", s.Join(ctx, "Ärger", "nobody"), ErrNotFound)
	rooms, _ = s.Rooms(ctx)
	if r := roomByID(rooms, "Ärger"); !slices.Equal(r.Members, []string{"Alice", "bob", "Carol"}) {
		t.Fatalf("members = %v, want [Alice bob Carol] (display ids, fold order)", r.Members)
	}
	if r := roomByID(rooms, "z"); !slices.Equal(r.Members, []string{"bob"}) {
		t.Fatalf("z members = %v", r.Members)
	}

	// Leave: idempotent, also for non-members; missing room is ErrNotFound.
	for _, u := range []string{"CAROL", "carol", "nobody"} {
		if err := s.Leave(ctx, "ÄRGER", u); err != nil {
			t.Fatalf("Leave(%q): %v", u, err)
		}
	}
	wantErr(t, "Leave missing room", s.Leave(ctx, "nowhere", "bob"), ErrNotFound)
	rooms, _ = s.Rooms(ctx)
	if r := roomByID(rooms, "Ärger"); !slices.Equal(r.Members, []string{"Alice", "bob"}) {
		t.Fatalf("members after Leave = %v", r.Members)
	}

	if err := s.RenameRoom(ctx, "ärger", "Big trouble"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "RenameRoom missing", s.RenameRoom(ctx, "nowhere", "x"), ErrNotFound)
	rooms, _ = s.Rooms(ctx)
	if r := roomByID(rooms, "Ärger"); r.Name != "Big trouble" || r.ID != "Ärger" {
		t.Fatalf("after rename = %+v", *r)
	}
}

func TestDeleteRoomRemovesMembershipAndMessages(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "alice", "bob")
	mustRoom(t, s, "Ärger", "alice", "bob")
	mustRoom(t, s, "other", "alice", "bob")
	g1 := mustAppend(t, s, group("alice", "Ärger", "one"))
	keep := mustAppend(t, s, group("bob", "other", "kept"))
	dm := mustAppend(t, s, chat("alice", "bob", "dm"))
	g2 := mustAppend(t, s, group("bob", "ärger", "two"))
	_ = g1

	if err := s.DeleteRoom(ctx, "ÄRGER"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteRoom again", s.DeleteRoom(ctx, "Ärger"), ErrNotFound)
	rooms, _ := s.Rooms(ctx)
	if len(rooms) != 1 || rooms[0].ID != "other" {
		t.Fatalf("Rooms after delete = %+v", rooms)
	}
	msgs, _, err := s.Since(ctx, "bob", 0, s.LastSeq(), 100)
	if err != nil || len(msgs) != 2 || !reflect.DeepEqual(msgs[0], keep) || !reflect.DeepEqual(msgs[1], dm) {
		t.Fatalf("Since after DeleteRoom = %+v, %v; want [%v %v]", msgs, err, keep, dm)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE conv = 'r:ärger'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("room messages left = %d, %v", n, err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE room_key = 'ärger'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("memberships left = %d, %v", n, err)
	}

	// A room created again under the same id starts empty, and seqs of the
	// deleted messages are not reused, even across a restart.
	mustRoom(t, s, "ärger", "bob")
	h, err := s.History(ctx, HistoryQuery{User: "bob", Command: "groupchat", Target: "Ärger"})
	if err != nil || len(h) != 0 {
		t.Fatalf("history of re-created room = %+v, %v", h, err)
	}
	if s.LastSeq() != g2.Seq {
		t.Fatalf("LastSeq = %d, want %d (not lowered by deletion)", s.LastSeq(), g2.Seq)
	}
	if m := mustAppend(t, s, group("bob", "ärger", "new")); m.Seq != g2.Seq+1 {
		t.Fatalf("seq after delete = %d, want %d", m.Seq, g2.Seq+1)
	}
}

func TestSeqNotReusedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mustUser(t, s, "alice")
	mustRoom(t, s, "r", "alice")
	mustAppend(t, s, chat("alice", "ALL", "x"))
	last := mustAppend(t, s, group("alice", "r", "y"))
	if err := s.DeleteRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.LastSeq() != last.Seq {
		t.Fatalf("LastSeq after restart = %d, want %d", s.LastSeq(), last.Seq)
	}
	if m := mustAppend(t, s, chat("alice", "ALL", "z")); m.Seq != last.Seq+1 {
		t.Fatalf("seq = %d, want %d", m.Seq, last.Seq+1)
	}
}

func TestRoomAndUserNamespacesAreSeparate(t *testing.T) {
	// A room may have the id of a user; room messages and DMs to that user
	// must not mix.
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "alice", "bob", "carol")
	mustRoom(t, s, "Carol", "alice") // room "Carol", member alice only
	gm := mustAppend(t, s, group("alice", "carol", "room msg"))
	dm := mustAppend(t, s, chat("bob", "carol", "dm to carol"))

	got, _, _ := s.Since(ctx, "alice", 0, s.LastSeq(), 10)
	if len(got) != 1 || !reflect.DeepEqual(got[0], gm) {
		t.Fatalf("alice sees %+v, want only the room message", got)
	}
	got, _, _ = s.Since(ctx, "carol", 0, s.LastSeq(), 10)
	if len(got) != 1 || !reflect.DeepEqual(got[0], dm) {
		t.Fatalf("carol sees %+v, want only the DM", got)
	}
	h, _ := s.History(ctx, HistoryQuery{User: "alice", Command: "groupchat", Target: "CAROL"})
	if len(h) != 1 || !reflect.DeepEqual(h[0], gm) {
		t.Fatalf("room history = %+v", h)
	}
	if err := s.DeleteRoom(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.Since(ctx, "carol", 0, s.LastSeq(), 10)
	if len(got) != 1 || !reflect.DeepEqual(got[0], dm) {
		t.Fatalf("DeleteRoom removed a DM: carol sees %+v", got)
	}
	if !strings.EqualFold(dm.Recipient, "carol") {
		t.Fatal("bad fixture")
	}
}
