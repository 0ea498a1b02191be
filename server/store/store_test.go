package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"chatapp/shared"
)

// newStore opens a store in a fresh temp dir and closes it at the end.
func newStore(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, dir
}

func mustUser(t testing.TB, s *Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.CreateUser(context.Background(), User{ID: id, Hash: []byte("h-" + id)}); err != nil {
			t.Fatalf("CreateUser(%q): %v", id, err)
		}
	}
}

func mustRoom(t testing.TB, s *Store, id, owner string, members ...string) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateRoom(ctx, id, "room "+id, owner); err != nil {
		t.Fatalf("CreateRoom(%q): %v", id, err)
	}
	for _, m := range members {
		if err := s.Join(ctx, id, m); err != nil {
			t.Fatalf("Join(%q, %q): %v", id, m, err)
		}
	}
}

func chat(from, to, data string) shared.Message {
	return shared.Message{Sender: from, Recipient: to, Command: shared.CommandChat, Type: shared.TypeText, Data: data}
}

func group(from, room, data string) shared.Message {
	return shared.Message{Sender: from, Recipient: room, Command: shared.CommandGroupchat, Type: shared.TypeText, Data: data}
}

func mustAppend(t testing.TB, s *Store, m shared.Message) shared.Message {
	t.Helper()
	got, dup, err := s.Append(context.Background(), m)
	if err != nil {
		t.Fatalf("Append(%+v): %v", m, err)
	}
	if dup {
		t.Fatalf("Append(%+v): unexpected dup", m)
	}
	return got
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOpenCreatesDirAndConfiguresSQLite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode = %v, want 0700", perm)
	}
	fi, err = os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %v, want 0600", perm)
	}

	ctx := t.Context()
	var mode string
	var sync, fk, version int
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("user_version = %d, %v; want %d", version, err, len(migrations))
	}
	// The read pool cannot write.
	if _, err := s.r.ExecContext(ctx, "DELETE FROM users"); err == nil {
		t.Error("write through the read pool succeeded")
	}
}

func TestOpenUnusableDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(file, "data"), Options{})
	if err == nil || !strings.Contains(err.Error(), "create data directory") {
		t.Fatalf("Open under a file: err = %v, want a create data directory error", err)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}

	t.Run("read-only dir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir := filepath.Join(base, "ro")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("Open read-only dir: err = %v", err)
		}
	})
}

func TestOpenNewerSchemaTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	newer := len(migrations) + 1
	if _, err := db.Exec("PRAGMA user_version = " + itoa(newer)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileSum(t, path)

	_, err = Open(dir, Options{})
	wantErr(t, "Open newer schema", err, ErrNewerSchema)

	if fileSum(t, path) != before {
		t.Error("Open changed the file of a newer schema")
	}
	db, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != newer {
		t.Fatalf("user_version after refused Open = %d, %v; want %d", v, err, newer)
	}
}

func itoa(n int) string { return shared.Seq(n).String() }

func TestOpenCorruptFileTouchesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"text", bytes.Repeat([]byte("this is not a database\n"), 300)},
		{"short", []byte("SQLite")},
		{"header then garbage", append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xAB}, 8192)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, Options{})
			if err == nil {
				t.Fatal("Open of a corrupt file succeeded")
			}
			wantErr(t, "Open corrupt", err, ErrCorrupt)
			got, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("corrupt file changed by Open (%v)", rerr)
			}
			for _, ext := range []string{"-wal", "-journal"} {
				if fi, err := os.Stat(path + ext); err == nil && fi.Size() > 0 {
					t.Errorf("%s%s written", FileName, ext)
				}
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "Alice", "bob")
	alias := "Al"
	if _, err := s.UpdateProfile(ctx, "alice", &alias, nil); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	if err := s.CreateToken(ctx, []byte("tok"), "ALICE", exp); err != nil {
		t.Fatal(err)
	}
	mustRoom(t, s, "Ärger", "alice", "bob")
	m1 := mustAppend(t, s, chat("Alice", "bob", "hi"))
	m2 := mustAppend(t, s, group("bob", "Ärger", "yo"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.TokenUser(ctx, []byte("tok"), time.Now())
	if err != nil || u.ID != "Alice" || u.Alias != "Al" || string(u.Hash) != "h-Alice" {
		t.Fatalf("TokenUser after reopen = %+v, %v", u, err)
	}
	rooms, err := s.Rooms(ctx)
	if err != nil || len(rooms) != 1 || rooms[0].ID != "Ärger" || strings.Join(rooms[0].Members, ",") != "Alice,bob" {
		t.Fatalf("Rooms after reopen = %+v, %v", rooms, err)
	}
	if got := s.LastSeq(); got != m2.Seq {
		t.Fatalf("LastSeq after reopen = %d, want %d", got, m2.Seq)
	}
	msgs, _, err := s.Since(ctx, "bob", 0, s.LastSeq(), 10)
	if err != nil || len(msgs) != 2 || !reflect.DeepEqual(msgs[0], m1) || !reflect.DeepEqual(msgs[1], m2) {
		t.Fatalf("Since after reopen = %+v, %v; want %+v, %+v", msgs, err, m1, m2)
	}
	if m3 := mustAppend(t, s, chat("bob", "alice", "again")); m3.Seq != m2.Seq+1 {
		t.Fatalf("seq after reopen = %d, want %d", m3.Seq, m2.Seq+1)
	}
}

func TestMethodsAfterClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, _, err = s.Append(ctx, chat("a", "b", "x"))
	wantErr(t, "Append", err, ErrClosed)
	_, err = s.User(ctx, "a")
	wantErr(t, "User", err, ErrClosed)
	wantErr(t, "CreateUser", s.CreateUser(ctx, User{ID: "a"}), ErrClosed)
	_, _, err = s.Since(ctx, "a", 0, 10, 10)
	wantErr(t, "Since", err, ErrClosed)
	_, err = s.History(ctx, HistoryQuery{User: "a", Command: "chat", Target: "ALL"})
	wantErr(t, "History", err, ErrClosed)
	_, err = s.Rooms(ctx)
	wantErr(t, "Rooms", err, ErrClosed)
}

func TestLoadMigrations(t *testing.T) {
	ok := fstest.MapFS{
		"migrations/002_more.sql": {Data: []byte("B")},
		"migrations/001_init.sql": {Data: []byte("A")},
	}
	ms, err := loadMigrations(ok)
	if err != nil || len(ms) != 2 || ms[0].sql != "A" || ms[1].version != 2 {
		t.Fatalf("loadMigrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"migrations/001_a.sql": {}, "migrations/003_c.sql": {}},
		"bad name": {"migrations/init.sql": {}},
		"zero":     {"migrations/000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations succeeded", name)
		}
	}
	if len(migrations) == 0 || migrations[0].version != 1 {
		t.Fatalf("embedded migrations = %+v", migrations)
	}
}

// TestQueryPlansUseIndexes keeps the recovery and history queries indexed:
// no full scan of events, members or user_convs.
func TestQueryPlansUseIndexes(t *testing.T) {
	s, _ := newStore(t, Options{})
	tables := []string{"events", "members", "user_convs", "mentions", "reactions", "rooms", "users", "files"}
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"since":         {sinceSQL, []any{"u", 1, 10, 5}},
		"count":         {countSQL, []any{"u", 1, 10, 5}},
		"nthNewest":     {nthNewestSQL, []any{"u", 1, 10, 5}},
		"lastVisible":   {lastVisibleSQL, []any{"u"}},
		"history":       {historySQL, []any{"d:a/b", 10, 5}},
		"conversations": {conversationsSQL, []any{"u", 500}},
		"fileByID":      {fileByIDSQL, []any{"x"}},
		"blobNamed":     {blobNamedSQL, []any{"ab"}},
		"fileUsage":     {fileUsageSQL, []any{MinFileCharge, "u"}},
		"releaseFile":   {releaseFileSQL, []any{"x"}},
		"event":         {`SELECT ` + eventCols + ` FROM events WHERE seq = ?`, []any{1}},
	} {
		plan := queryPlan(t, s, q.sql, q.args...)
		for _, d := range plan {
			if table, _, _ := strings.Cut(strings.TrimPrefix(d, "SCAN "), " "); d != table && slices.Contains(tables, table) {
				t.Errorf("%s: full scan in plan:\n%s", name, strings.Join(plan, "\n"))
			}
		}
	}
}

// queryPlan returns the details of EXPLAIN QUERY PLAN for q.
func queryPlan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

func TestOpenRelativeDirWithOddCharacters(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	dir := filepath.Join("data dir", "a:b?c#d%20")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, dir, FileName)); err != nil {
		t.Fatalf("database not where asked: %v", err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.User(t.Context(), "ALICE"); err != nil {
		t.Fatal(err)
	}
}
