package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestRevocationLog: every way sessions end is logged in the transaction
// of the change, in order, and LastRevocation follows it.
func TestRevocationLog(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "alice", "bob", "carol")
	if last, err := s.LastRevocation(ctx); err != nil || last != 0 {
		t.Fatalf("LastRevocation of a new store = %d, %v", last, err)
	}
	exp := time.Now().Add(time.Hour)
	for _, tok := range []string{"a1", "a2"} {
		if err := s.CreateToken(ctx, []byte(tok), "alice", exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteToken(ctx, []byte("a1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, []byte("unknown")); err != nil { // logs nothing
		t.Fatal(err)
	}
	if err := s.RevokeSessions(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
	_, err := s.TokenUser(ctx, []byte("a2"), time.Now())
	wantErr(t, "token after RevokeSessions", err, ErrNotFound)
	wantErr(t, "RevokeSessions nobody", s.RevokeSessions(ctx, "nobody"), ErrNotFound)
	if err := s.SetPassword(ctx, "bob", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUser(ctx, "Carol"); err != nil {
		t.Fatal(err)
	}

	revs, err := s.Revocations(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []Revocation{
		{Seq: 1, User: "alice", Token: []byte("a1")},
		{Seq: 2, User: "alice"},
		{Seq: 3, User: "bob"},
		{Seq: 4, User: "carol", Deleted: true},
	}
	if fmt.Sprint(revs) != fmt.Sprint(want) {
		t.Fatalf("Revocations = %+v\nwant %+v", revs, want)
	}
	if revs, _ := s.Revocations(ctx, 2, 1); len(revs) != 1 || revs[0].Seq != 3 {
		t.Fatalf("Revocations(2, 1) = %+v", revs)
	}
	if last, err := s.LastRevocation(ctx); err != nil || last != 4 {
		t.Fatalf("LastRevocation = %d, %v", last, err)
	}
	// Pruning keeps the seq: the next entry is 5, and LastRevocation
	// still says 4 with the log empty.
	if n, err := s.DeleteRevocationsBefore(ctx, time.Now().Add(time.Minute)); err != nil || n != 4 {
		t.Fatalf("DeleteRevocationsBefore = %d, %v", n, err)
	}
	if last, _ := s.LastRevocation(ctx); last != 4 {
		t.Fatalf("LastRevocation after pruning = %d", last)
	}
	if err := s.RevokeSessions(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if revs, _ := s.Revocations(ctx, 4, 10); len(revs) != 1 || revs[0].Seq != 5 {
		t.Fatalf("after pruning: %+v", revs)
	}
}

// TestCreateTokenIfHash: a login's token is stored only while the hash it
// checked the password against is the account's.
func TestCreateTokenIfHash(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "alice")
	exp := time.Now().Add(time.Hour)
	if err := s.CreateTokenIfHash(ctx, []byte("t1"), "ALICE", []byte("h-alice"), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "alice", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "token for the old hash", s.CreateTokenIfHash(ctx, []byte("t2"), "alice", []byte("h-alice"), exp), ErrNotFound)
	if _, err := s.TokenUser(ctx, []byte("t2"), time.Now()); err == nil {
		t.Fatal("a token for the old hash was stored")
	}
	if err := s.CreateTokenIfHash(ctx, []byte("t3"), "alice", []byte("changed"), exp); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "same token again", s.CreateTokenIfHash(ctx, []byte("t3"), "alice", []byte("changed"), exp), ErrExists)
	wantErr(t, "unknown user", s.CreateTokenIfHash(ctx, []byte("t4"), "nobody", []byte("x"), exp), ErrNotFound)
}

// TestMigrateMembersJoined: memberships from a version 1 database get the
// later of the room's and the account's creation time, so members whose
// accounts are older than the room tie (the fold decides) and rank before
// those who signed up later.
func TestMigrateMembersJoined(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{migrations[0].sql, "PRAGMA user_version = 1",
		`INSERT INTO users (id_key, id, hash, created) VALUES
			('old', 'old', x'00', '2024-01-01T00:00:00.000Z'),
			('owner', 'Owner', x'00', '2024-02-01T00:00:00.000Z'),
			('new', 'new', x'00', '2024-06-01T00:00:00.000Z')`,
		`INSERT INTO rooms (id_key, id, name, owner, created) VALUES ('r', 'r', 'R', 'Owner', '2024-03-01T00:00:00.000Z')`,
		`INSERT INTO members (room_key, user_key) VALUES ('r', 'old'), ('r', 'owner'), ('r', 'new')`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[string]string{}
	rows, err := s.r.Query(`SELECT user_key, joined FROM members ORDER BY user_key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, j string
		rows.Scan(&k, &j)
		got[k] = j
	}
	rows.Close()
	want := map[string]string{"old": "2024-03-01T00:00:00.000Z", "owner": "2024-03-01T00:00:00.000Z", "new": "2024-06-01T00:00:00.000Z"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("joined = %v, want %v", got, want)
	}
	// old and owner tie on the room's creation; the fold breaks it.
	d, err := s.DeleteUser(t.Context(), "Owner")
	if err != nil || d.Passed["r"] != "old" {
		t.Fatalf("DeleteUser = %+v, %v; want r passed to old", d, err)
	}
}
