package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"chatapp/shared"
)

func TestConvKeys(t *testing.T) {
	for _, tt := range []struct {
		command, sender, recipient string
		want                       Conv
	}{
		{"chat", "Bob", "alice", "d:alice/bob"},
		{"chat", "alice", "BOB", "d:alice/bob"},
		{"chat", "Alice", "alice", "d:alice/alice"},
		{"chat", "alice", "All", "all"},
		{"groupchat", "alice", "ÄRGER", "r:ärger"},
	} {
		c := ConvOf(tt.command, tt.sender, tt.recipient)
		if c != tt.want {
			t.Errorf("ConvOf(%s, %s, %s) = %s, want %s", tt.command, tt.sender, tt.recipient, c, tt.want)
		}
		if c.Command() != map[bool]string{true: "groupchat", false: "chat"}[tt.command == "groupchat"] {
			t.Errorf("%s.Command() = %s", c, c.Command())
		}
	}
	if a, b, ok := DirectConv("Zed", "amy").Users(); !ok || a != "amy" || b != "zed" {
		t.Errorf("Users: %s %s %v", a, b, ok)
	}
	if _, _, ok := ConvAll.Users(); ok {
		t.Error("ALL has users")
	}
	if k, ok := RoomConv("Lobby").RoomKey(); !ok || k != "lobby" {
		t.Errorf("RoomKey: %s %v", k, ok)
	}
	c := DirectConv("amy", "zed")
	if !c.Has("amy") || !c.Has("zed") || c.Has("bob") || !ConvAll.Has("bob") || RoomConv("x").Has("bob") {
		t.Error("Has")
	}
}

// userConv is a row of user_convs.
type userConv struct {
	peer              string
	readSeq, readOrd  int64
	ownAfter, lastOwn int64
	present           bool
}

func readUserConv(t *testing.T, s *Store, user string, c Conv) userConv {
	t.Helper()
	var u userConv
	err := s.r.QueryRowContext(t.Context(), `SELECT peer, read_seq, read_ord, own_after, last_own
		FROM user_convs WHERE user_key = ? AND conv = ?`, shared.Fold(user), string(c)).
		Scan(&u.peer, &u.readSeq, &u.readOrd, &u.ownAfter, &u.lastOwn)
	u.present = err == nil
	return u
}

// eventOrds returns conv's events' ords in seq order.
func eventOrds(t *testing.T, s *Store, c Conv) []int64 {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT ord FROM events WHERE conv = ? ORDER BY seq`, string(c))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ords []int64
	for rows.Next() {
		var o int64
		rows.Scan(&o)
		ords = append(ords, o)
	}
	return ords
}

// Messages in one batch and in several: each conversation's ords count
// its messages; the senders' rows count theirs; both sides of a direct
// conversation have a row from its first message.
func TestAppendDerivedState(t *testing.T) {
	rec := newRecorder()
	s, dir := newStore(t, Options{OnCommit: rec.onCommit})
	mustUser(t, s, "amy", "Bob", "cy")
	mustRoom(t, s, "R", "amy", "Bob")
	release := stallCommitter(t, s, rec) // the gate: amy → ALL
	var wg sync.WaitGroup
	for _, m := range []shared.Message{
		chat("amy", "bob", "1"), chat("Bob", "amy", "2"), chat("amy", "BOB", "3"),
		group("amy", "r", "4"), chat("cy", "cy", "self"), chat("amy", "ALL", "5"),
	} {
		wg.Go(func() { mustAppend(t, s, m) })
		waitFor(t, "queued", func() bool { return len(s.reqs) > 0 })
	}
	waitFor(t, "six queued", func() bool { return len(s.reqs) == 6 })
	release()
	wg.Wait()
	batches, _ := rec.all()
	if len(batches) != 2 || len(batches[1]) != 6 {
		t.Fatalf("batches %d, want the gate and one of 6", len(batches))
	}
	// And one more batch each.
	mustAppend(t, s, chat("bob", "amy", "6"))
	mustAppend(t, s, group("Bob", "R", "7"))

	check := func() {
		t.Helper()
		dm := DirectConv("amy", "bob")
		if got := eventOrds(t, s, dm); !slices.Equal(got, []int64{1, 2, 3, 4}) {
			t.Errorf("ords of %s: %v", dm, got)
		}
		if got := eventOrds(t, s, RoomConv("r")); !slices.Equal(got, []int64{1, 2}) {
			t.Errorf("ords of the room: %v", got)
		}
		if got := eventOrds(t, s, ConvAll); !slices.Equal(got, []int64{1, 2}) {
			t.Errorf("ords of ALL: %v", got)
		}
		amy, bob := readUserConv(t, s, "amy", dm), readUserConv(t, s, "bob", dm)
		if amy.peer != "bob" || amy.ownAfter != 2 || bob.peer != "amy" || bob.ownAfter != 2 || bob.lastOwn <= amy.lastOwn {
			// peer: the other side's display id as the first message named it
			t.Errorf("amy %+v, bob %+v", amy, bob)
		}
		if cy := readUserConv(t, s, "cy", DirectConv("cy", "cy")); cy.peer != "cy" || cy.ownAfter != 1 {
			t.Errorf("notes to self %+v", cy)
		}
		if r := readUserConv(t, s, "amy", RoomConv("r")); r.peer != "" || r.ownAfter != 1 {
			t.Errorf("amy in the room %+v", r)
		}
		if r := readUserConv(t, s, "cy", RoomConv("r")); r.present {
			t.Errorf("cy has a row for a room she never sent in: %+v", r)
		}
		if a := readUserConv(t, s, "amy", ConvAll); a.ownAfter != 1 {
			t.Errorf("amy in ALL %+v (the gate was gate's)", a)
		}
	}
	check()
	// The caches are only caches: after a restart the same appends give
	// the same state.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s = s2
	check()
	m := mustAppend(t, s, chat("amy", "bob", "8"))
	if got := eventOrds(t, s, DirectConv("amy", "bob")); got[len(got)-1] != 5 {
		t.Fatalf("ord after restart: %v (seq %d)", got, m.Seq)
	}
}

// A deleted room's conversation starts over when the room is created
// again: the committer's cached count is dropped with it.
func TestDeleteRoomForgetsConversation(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "amy", "bob")
	mustRoom(t, s, "r", "amy", "bob")
	for i := range 3 {
		mustAppend(t, s, group("amy", "r", fmt.Sprint(i)))
	}
	if err := s.DeleteRoom(ctx, "R"); err != nil {
		t.Fatal(err)
	}
	if u := readUserConv(t, s, "amy", RoomConv("r")); u.present {
		t.Fatalf("amy's row of the deleted room: %+v", u)
	}
	mustRoom(t, s, "r", "bob")
	mustAppend(t, s, group("bob", "r", "new"))
	if got := eventOrds(t, s, RoomConv("r")); !slices.Equal(got, []int64{1}) {
		t.Fatalf("ords of the new room: %v", got)
	}
}

// A failed batch leaves the counts as they were.
func TestFailedBatchKeepsCounts(t *testing.T) {
	s, _ := newStore(t, Options{})
	mustAppend(t, s, chat("amy", "bob", "1"))
	if _, err := s.w.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON events
		WHEN NEW.data = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(t.Context(), chat("amy", "bob", "boom")); err == nil {
		t.Fatal("boom stored")
	}
	mustAppend(t, s, chat("bob", "amy", "2"))
	if got := eventOrds(t, s, DirectConv("amy", "bob")); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("ords %v", got)
	}
	if u := readUserConv(t, s, "amy", DirectConv("amy", "bob")); u.ownAfter != 1 {
		t.Fatalf("amy %+v", u)
	}
}

func change(command, sender string, ref shared.Seq, data string) shared.Message {
	return shared.Message{Command: command, Sender: sender, Ref: ref, Data: data}
}

func mentionRows(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT user_key, conv, seq FROM mentions ORDER BY seq, user_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u, c string
		var seq int64
		rows.Scan(&u, &c, &seq)
		out = append(out, fmt.Sprintf("%s %s %d", u, c, seq))
	}
	return out
}

// Edits, deletions and reactions: each is an event of its message's
// conversation; the message shows its current state; the derived rows
// follow.
func TestChanges(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	ctx := t.Context()
	mustUser(t, s, "amy", "bob", "cy")
	mustRoom(t, s, "r", "amy", "bob", "cy")
	m := group("amy", "r", "hi @bob")
	m.Mentions = []string{"bob", "amy"}
	orig := mustAppend(t, s, m)
	if got := mentionRows(t, s); !slices.Equal(got, []string{fmt.Sprintf("bob r:r %d", orig.Seq)}) {
		t.Fatalf("mentions %v (the sender is never counted)", got)
	}

	// Edit: new text and mentions; the event carries neither mentions nor
	// the message's type.
	e := change("edit", "amy", orig.Seq, "hi @cy")
	e.Mentions = []string{"cy"}
	edit := mustAppend(t, s, e)
	if edit.Recipient != "r" || edit.Of != "groupchat" || edit.Ref != orig.Seq || edit.Data != "hi @cy" || edit.Mentions != nil || edit.Type != "" {
		t.Fatalf("edit event %+v", edit)
	}
	if got := mentionRows(t, s); !slices.Equal(got, []string{fmt.Sprintf("cy r:r %d", orig.Seq)}) {
		t.Fatalf("mentions after edit %v", got)
	}
	// React: toggles, and the direction is the store's.
	r1 := mustAppend(t, s, change("react", "bob", orig.Seq, "👍"))
	r2 := mustAppend(t, s, change("react", "cy", orig.Seq, "👍"))
	r3 := mustAppend(t, s, change("react", "bob", orig.Seq, "🎉"))
	r4 := mustAppend(t, s, change("react", "bob", orig.Seq, "👍"))
	if !*r1.On || !*r2.On || !*r3.On || *r4.On || r4.Data != "👍" {
		t.Fatalf("toggles %v %v %v %v", *r1.On, *r2.On, *r3.On, *r4.On)
	}
	h, err := s.History(ctx, HistoryQuery{User: "amy", Command: "groupchat", Target: "r"})
	if err != nil || len(h) != 1 {
		t.Fatalf("history %+v %v", h, err)
	}
	cur := h[0]
	if cur.Data != "hi @cy" || cur.Edited != edit.Time || !slices.Equal(cur.Mentions, []string{"cy"}) ||
		fmt.Sprint(cur.Reactions) != "map[🎉:[bob] 👍:[cy]]" {
		t.Fatalf("current state %+v", cur)
	}
	// Every change is visible to the room's members, in order, after
	// the message, which shows its current state.
	since, _, err := s.Since(ctx, "cy", orig.Seq-1, s.LastSeq(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, x := range since {
		cmds = append(cmds, x.Command)
	}
	if !slices.Equal(cmds, []string{"groupchat", "edit", "react", "react", "react", "react"}) || since[0].Data != "hi @cy" {
		t.Fatalf("since %v %+v", cmds, since[0])
	}
	// The unread count's ord: a change carries the conversation's count.
	if got := eventOrds(t, s, RoomConv("r")); !slices.Equal(got, []int64{1, 1, 1, 1, 1, 1}) {
		t.Fatalf("ords %v", got)
	}

	// Delete: text, edits' text, mentions and reactions go; the message
	// stays as deleted.
	del := mustAppend(t, s, change("delete", "amy", orig.Seq, "ignored"))
	if del.Data != "" || del.Of != "groupchat" || del.Recipient != "r" {
		t.Fatalf("delete event %+v", del)
	}
	h, _ = s.History(ctx, HistoryQuery{User: "amy", Command: "groupchat", Target: "r"})
	if len(h) != 1 || !h[0].Deleted || h[0].Data != "" || h[0].Type != "" || h[0].Reactions != nil || h[0].Mentions != nil || h[0].Edited != "" {
		t.Fatalf("deleted %+v", h)
	}
	if got := mentionRows(t, s); len(got) != 0 {
		t.Fatalf("mentions left %v", got)
	}
	since, _, _ = s.Since(ctx, "cy", orig.Seq-1, s.LastSeq(), 100)
	if since[1].Command != "edit" || since[1].Data != "" {
		t.Fatalf("the edit of a deleted message keeps its text: %+v", since[1])
	}
	var n int
	s.r.QueryRowContext(ctx, `SELECT count(*) FROM reactions`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d reactions left", n)
	}
	// Nothing more happens to a deleted message, nor to a change, nor to
	// what does not exist.
	for _, c := range []shared.Message{
		change("edit", "amy", orig.Seq, "again"), change("delete", "amy", orig.Seq, ""),
		change("react", "bob", orig.Seq, "👍"), change("react", "bob", edit.Seq, "👍"),
		change("edit", "amy", s.LastSeq()+5, "x"),
	} {
		before := s.LastSeq()
		if _, _, err := s.Append(ctx, c); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v: %v, want ErrNotFound", c, err)
		}
		if s.LastSeq() != before {
			t.Errorf("%+v took a seq", c)
		}
	}
}

// A message holds at most 20 distinct reactions; more people can add an
// existing one.
func TestReactionLimit(t *testing.T) {
	s, _ := newStore(t, Options{})
	m := mustAppend(t, s, chat("amy", "ALL", "react to me"))
	emojis := strings.Fields("😀 😃 😄 😁 😆 😅 😂 🤣 😊 😇 🙂 🙃 😉 😌 😍 🥰 😘 😗 😙 😚 😋")
	for _, e := range emojis[:20] {
		mustAppend(t, s, change("react", "bob", m.Seq, e))
	}
	before := s.LastSeq()
	if _, _, err := s.Append(t.Context(), change("react", "bob", m.Seq, emojis[20])); !errors.Is(err, ErrLimit) {
		t.Fatalf("21st: %v", err)
	}
	if s.LastSeq() != before {
		t.Fatal("refused reaction took a seq")
	}
	mustAppend(t, s, change("react", "cy", m.Seq, emojis[0]))  // an existing one
	mustAppend(t, s, change("react", "bob", m.Seq, emojis[1])) // removing is always fine
	mustAppend(t, s, change("react", "cy", m.Seq, emojis[20])) // and makes room
}

// A delete and an edit of one message racing in one batch: the first in
// the queue wins, the other gets ErrNotFound or edits before the delete.
func TestConcurrentDeleteWins(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	m := mustAppend(t, s, chat("amy", "bob", "x"))
	release := stallCommitter(t, s, rec)
	errs := make(chan error, 2)
	go func() { _, _, err := s.Append(context.Background(), change("delete", "amy", m.Seq, "")); errs <- err }()
	waitFor(t, "delete queued", func() bool { return len(s.reqs) == 1 })
	go func() { _, _, err := s.Append(context.Background(), change("edit", "amy", m.Seq, "y")); errs <- err }()
	waitFor(t, "edit queued", func() bool { return len(s.reqs) == 2 })
	release()
	e1, e2 := <-errs, <-errs
	if e1 != nil && e2 != nil || !(errors.Is(e1, ErrNotFound) || errors.Is(e2, ErrNotFound)) {
		t.Fatalf("delete then edit in one batch: %v, %v", e1, e2)
	}
}

// A change with a cid is stored once.
func TestChangeCID(t *testing.T) {
	s, _ := newStore(t, Options{})
	m := mustAppend(t, s, chat("amy", "ALL", "x"))
	c := change("react", "bob", m.Seq, "👍")
	c.CID = "r1"
	first := mustAppend(t, s, c)
	again, dup, err := s.Append(t.Context(), c)
	if err != nil || !dup || again.Seq != first.Seq {
		t.Fatalf("retry %+v %v %v", again, dup, err)
	}
	h, _ := s.History(t.Context(), HistoryQuery{User: "bob", Command: "chat", Target: "ALL"})
	if len(h[0].Reactions["👍"]) != 1 {
		t.Fatalf("reactions %v: the retry toggled again", h[0].Reactions)
	}
}
