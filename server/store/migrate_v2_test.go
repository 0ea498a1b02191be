package store

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"chatapp/shared"
)

// v1Fixture is a version 1 database written the way the version 1 store
// wrote it: migration 001 and version 1's own INSERT statements.
type v1Fixture struct {
	users   []string // display ids
	tokens  map[string]string
	rooms   map[string][]string // display id → members' display ids
	owners  map[string]string
	msgs    []shared.Message // every message left, in seq order
	lastSeq int64            // sqlite_sequence: above the last message (a deleted room's messages)
}

// writeV1 creates a version 1 database in dir holding a random but
// reproducible history: direct messages (notes to self included), ALL,
// rooms, cids, and a deleted room whose messages were the newest.
func writeV1(t *testing.T, dir string) v1Fixture {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(migrations[0].sql)
	exec("PRAGMA user_version = 1")

	f := v1Fixture{
		users:  []string{"Alice", "bob", "Carol.C", "dave-1", "eve", "frank"},
		tokens: map[string]string{},
		rooms:  map[string][]string{"Lobby": {"Alice", "bob", "Carol.C"}, "ärger": {"bob", "dave-1"}, "empty": {"eve"}},
		owners: map[string]string{"Lobby": "Alice", "ärger": "bob", "empty": "eve"},
	}
	created := "2025-01-02T03:04:05.000Z"
	for i, u := range f.users {
		exec(`INSERT INTO users (id_key, id, hash, alias, today, created) VALUES (?, ?, ?, ?, ?, ?)`,
			shared.Fold(u), u, []byte("hash-"+u), "Alias "+u, "today "+strconv.Itoa(i), created)
		tok := "token-hash-" + u
		f.tokens[u] = tok
		exec(`INSERT INTO tokens (hash, user_key, expires) VALUES (?, ?, ?)`, []byte(tok), shared.Fold(u), time.Now().Add(time.Hour).UnixMilli())
	}
	for _, r := range []string{"Lobby", "ärger", "empty", "Gone"} {
		owner := f.owners[r]
		if r == "Gone" {
			owner = "Alice"
		}
		exec(`INSERT INTO rooms (id_key, id, name, owner, created) VALUES (?, ?, ?, ?, ?)`, shared.Fold(r), r, "Room "+r, owner, created)
		for _, m := range append(f.rooms[r], "Alice") {
			exec(`INSERT INTO members (room_key, user_key) VALUES (?, ?) ON CONFLICT DO NOTHING`, shared.Fold(r), shared.Fold(m))
		}
	}
	f.rooms["ärger"] = append(f.rooms["ärger"], "Alice")
	f.rooms["empty"] = append(f.rooms["empty"], "Alice")

	insert := `INSERT INTO messages (seq, time, sender, sender_key, recipient, recipient_key, command, type, data, cid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	rng := rand.New(rand.NewPCG(1, 2))
	seq := int64(0)
	for i := range 400 {
		seq++
		from := f.users[rng.IntN(len(f.users)-1)] // not frank
		m := shared.Message{Seq: shared.Seq(seq), Time: fmt.Sprintf("2025-02-03T04:05:%02d.%03dZ", i/1000, i%1000),
			Sender: from, Type: shared.TypeText, Data: fmt.Sprintf("message %d from %s", i, from)}
		switch k := rng.IntN(10); {
		case k < 4:
			m.Command, m.Recipient = shared.CommandChat, f.users[rng.IntN(len(f.users)-1)] // notes to self too
		case k < 6:
			m.Command, m.Recipient = shared.CommandChat, shared.All
		default:
			rooms := []string{"Lobby", "ärger", "Gone"}
			m.Command, m.Recipient = shared.CommandGroupchat, rooms[rng.IntN(len(rooms))]
		}
		if rng.IntN(3) == 0 {
			m.CID = "cid-" + strconv.Itoa(i)
		}
		exec(insert, seq, m.Time, m.Sender, shared.Fold(m.Sender), m.Recipient, shared.Fold(m.Recipient),
			m.Command, m.Type, m.Data, m.CID)
		if m.Recipient != "Gone" {
			f.msgs = append(f.msgs, m)
		}
	}
	// frank never sends: his side of the conversation comes from
	// Alice's message alone.
	seq++
	m := shared.Message{Seq: shared.Seq(seq), Time: "2025-02-28T00:00:00.000Z", Sender: "Alice", Recipient: "frank",
		Command: shared.CommandChat, Type: shared.TypeText, Data: "hello frank"}
	exec(insert, seq, m.Time, m.Sender, "alice", m.Recipient, "frank", m.Command, m.Type, m.Data, "")
	f.msgs = append(f.msgs, m)
	// The newest messages were in a room that was then deleted, as
	// version 1's DeleteRoom did: sqlite_sequence stays above them.
	for range 5 {
		seq++
		exec(insert, seq, "2025-03-01T00:00:00.000Z", "Alice", "alice", "Gone", "gone", "groupchat", "text", "last words", "")
	}
	exec(`DELETE FROM rooms WHERE id_key = 'gone'`)
	exec(`DELETE FROM members WHERE room_key = 'gone'`)
	exec(`DELETE FROM messages WHERE recipient_key = 'gone' AND command = 'groupchat'`)
	f.lastSeq = seq
	return f
}

// visibleV1 is version 1's visibility rule, computed from the messages.
func (f v1Fixture) visibleV1(user string) []shared.Message {
	var out []shared.Message
	u := shared.Fold(user)
	for _, m := range f.msgs {
		switch {
		case m.Command == shared.CommandGroupchat:
			if slices.ContainsFunc(f.rooms[m.Recipient], func(x string) bool { return shared.Fold(x) == u }) {
				out = append(out, m)
			}
		case m.Recipient == shared.All, shared.Fold(m.Recipient) == u, shared.Fold(m.Sender) == u:
			out = append(out, m)
		}
	}
	return out
}

// TestMigrateV1 opens a version 1 database with this store: every
// account, token, room, membership, message and cid is there, and the
// state derived from the messages (conversations, their message counts,
// each user's sides) is what the events say.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	f := writeV1(t, dir)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()

	var version int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("user_version %d, %v; want %d", version, err, len(migrations))
	}
	var tables int
	s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'messages'`).Scan(&tables)
	if tables != 0 {
		t.Fatal("the messages table is still there")
	}

	// Accounts and tokens.
	users, err := s.Users(ctx)
	if err != nil || len(users) != len(f.users) {
		t.Fatalf("Users: %d, %v", len(users), err)
	}
	for i, u := range f.users {
		got, err := s.User(ctx, u)
		if err != nil || got.ID != u || got.Alias != "Alias "+u || got.Today != "today "+strconv.Itoa(i) || string(got.Hash) != "hash-"+u {
			t.Errorf("user %s: %+v, %v", u, got, err)
		}
		if tu, err := s.TokenUser(ctx, []byte(f.tokens[u]), time.Now()); err != nil || tu.ID != u {
			t.Errorf("token of %s: %+v, %v", u, tu, err)
		}
	}
	// Rooms and membership.
	rooms, err := s.Rooms(ctx)
	if err != nil || len(rooms) != len(f.rooms) {
		t.Fatalf("Rooms: %+v, %v", rooms, err)
	}
	for _, r := range rooms {
		want := slices.Clone(f.rooms[r.ID])
		slices.SortFunc(want, func(a, b string) int { return compareFold(a, b) })
		if r.Name != "Room "+r.ID || r.Owner != f.owners[r.ID] || !slices.Equal(r.Members, want) {
			t.Errorf("room %+v, want members %v owner %s", r, want, f.owners[r.ID])
		}
	}

	// Every message, as each user sees it, in seq order.
	if got := s.LastSeq(); int64(got) != f.lastSeq {
		t.Fatalf("LastSeq %d, want %d (the deleted room's seqs are not reused)", got, f.lastSeq)
	}
	for _, u := range f.users {
		want := f.visibleV1(u)
		got, more, err := s.Since(ctx, u, 0, s.LastSeq(), 10000)
		if err != nil || more || !equalMessages(got, want) {
			t.Errorf("Since(%s): %d messages (more %v, %v), want %d; first difference %s", u, len(got), more, err, len(want), firstDifference(got, want))
		}
		if last, err := s.LastVisibleSeq(ctx, u); err != nil || len(want) > 0 && last != want[len(want)-1].Seq {
			t.Errorf("LastVisibleSeq(%s) = %d, %v", u, last, err)
		}
	}
	// History of every conversation.
	convs := map[Conv][]shared.Message{}
	for _, m := range f.msgs {
		c := ConvOf(m.Command, m.Sender, m.Recipient)
		convs[c] = append(convs[c], m)
	}
	for c, want := range convs {
		q := HistoryQuery{Command: c.Command(), Limit: 100}
		switch a, b, direct := c.Users(); {
		case direct:
			q.User, q.Target = a, b
		case c == ConvAll:
			q.Target = shared.All
		default:
			q.Target, _ = c.RoomKey()
		}
		got, err := s.History(ctx, q)
		if err != nil || !equalMessages(got, want[max(0, len(want)-100):]) {
			t.Errorf("History %s: %d messages, %v; want %d; first difference %s", c, len(got), err, len(want), firstDifference(got, want[max(0, len(want)-100):]))
		}
	}

	// Derived state: ord counts each conversation's messages; every direct
	// conversation has both sides with the other's display id; each
	// sender's row counts their messages and knows their last.
	rows, err := s.r.QueryContext(ctx, `SELECT conv, seq, ord FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	count := map[Conv]int64{}
	for rows.Next() {
		var c Conv
		var seq, ord int64
		rows.Scan(&c, &seq, &ord)
		count[c]++
		if ord != count[c] {
			t.Errorf("event %d of %s: ord %d, want %d", seq, c, ord, count[c])
		}
	}
	rows.Close()
	type side struct {
		peer          string
		own, lastOwn  int64
		readSeq, read int64
	}
	want := map[ownKey]side{}
	for _, m := range f.msgs {
		c := ConvOf(m.Command, m.Sender, m.Recipient)
		k := ownKey{shared.Fold(m.Sender), c}
		sd := want[k]
		if c.IsDirect() {
			sd.peer = m.Recipient
			if o := (ownKey{shared.Fold(m.Recipient), c}); o != k {
				r := want[o]
				r.peer = m.Sender
				want[o] = r
			}
		}
		sd.own++
		sd.lastOwn = int64(m.Seq)
		want[k] = sd
	}
	got := map[ownKey]side{}
	rows, err = s.r.QueryContext(ctx, `SELECT user_key, conv, peer, own_after, last_own, read_seq, read_ord FROM user_convs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k ownKey
		var sd side
		rows.Scan(&k.user, &k.conv, &sd.peer, &sd.own, &sd.lastOwn, &sd.readSeq, &sd.read)
		got[k] = sd
	}
	rows.Close()
	if len(got) != len(want) {
		t.Errorf("%d user_convs rows, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("user_convs %v = %+v, want %+v", k, got[k], w)
		}
	}

	// Retries of version 1 messages are still answered with the first
	// seq, and new messages continue the sequence and the counts.
	for _, m := range f.msgs {
		if m.CID == "" {
			continue
		}
		again, dup, err := s.Append(ctx, shared.Message{Sender: m.Sender, Recipient: m.Recipient, Command: m.Command, Type: "text", Data: "retry", CID: m.CID})
		if err != nil || !dup || again.Seq != m.Seq {
			t.Fatalf("retry of %+v: %+v dup=%v %v", m, again, dup, err)
		}
		break
	}
	n := mustAppend(t, s, chat("bob", "Alice", "after the upgrade"))
	if int64(n.Seq) != f.lastSeq+1 {
		t.Fatalf("first seq after the upgrade %d, want %d", n.Seq, f.lastSeq+1)
	}
	c := DirectConv("bob", "alice")
	var ord int64
	if err := s.r.QueryRowContext(ctx, `SELECT ord FROM events WHERE seq = ?`, int64(n.Seq)).Scan(&ord); err != nil || ord != count[c]+1 {
		t.Fatalf("ord of the new message %d, %v; want %d", ord, err, count[c]+1)
	}
}

func compareFold(a, b string) int {
	switch fa, fb := shared.Fold(a), shared.Fold(b); {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

func equalMessages(a, b []shared.Message) bool {
	return firstDifference(a, b) == ""
}

// firstDifference describes where two message lists first differ, "" if
// they do not.
func firstDifference(a, b []shared.Message) string {
	for i := range min(len(a), len(b)) {
		if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
			return fmt.Sprintf("at %d: %+v\nwant %+v", i, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("lengths %d and %d", len(a), len(b))
	}
	return ""
}

// A version 1 database with nothing in it upgrades too.
func TestMigrateEmptyV1(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0].sql + "; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.LastSeq() != 0 {
		t.Fatalf("LastSeq %d", s.LastSeq())
	}
	if m := mustAppend(t, s, chat("a", "b", "first")); m.Seq != 1 {
		t.Fatalf("first seq %d", m.Seq)
	}
}
