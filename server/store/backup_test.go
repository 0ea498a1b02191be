package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"chatapp/shared"
)

// allMessages reads every message of a store visible to "anyone" (those
// to ALL), by seq.
func allMessages(t *testing.T, s *Store) map[shared.Seq]shared.Message {
	t.Helper()
	msgs, more, err := s.Since(context.Background(), "anyone", 0, s.LastSeq(), 1<<30)
	if err != nil || more {
		t.Fatalf("Since: %v (more: %v)", err, more)
	}
	out := map[shared.Seq]shared.Message{}
	for _, m := range msgs {
		out[m.Seq] = m
	}
	return out
}

// TestBackupUnderWriteLoad: a backup taken while writers append holds
// every message acknowledged before it started, exactly as stored.
func TestBackupUnderWriteLoad(t *testing.T) {
	s, dir := newStore(t, Options{})
	mustUser(t, s, "alice")
	mustRoom(t, s, "lobby", "alice", "alice")

	var (
		mu    sync.Mutex
		acked []shared.Message
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				m := chat(fmt.Sprintf("w%d", w), shared.All, fmt.Sprintf("w%d message %d", w, i))
				m.CID = fmt.Sprintf("c%d", i)
				got, _, err := s.Append(context.Background(), m)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, got)
				mu.Unlock()
			}
		})
	}
	waitAcked := func(n int) []shared.Message {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := append([]shared.Message(nil), acked...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("fewer than %d appends acknowledged in a minute", n)
		return nil
	}
	before := waitAcked(200)
	dst := filepath.Join(t.TempDir(), "backup.db")
	info, err := Backup(context.Background(), dir, dst)
	if err != nil {
		t.Fatal(err)
	}
	waitAcked(len(before) + 100) // the writers went on during and after it
	stop()
	wg.Wait()

	if info.Schema != len(migrations) || info.Bytes < 4096 {
		t.Errorf("info %+v", info)
	}
	restored := t.TempDir()
	if _, _, err := Restore(context.Background(), restored, dst); err != nil {
		t.Fatal(err)
	}
	copy, err := Open(restored, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	got := allMessages(t, copy)
	for _, m := range before {
		if !reflect.DeepEqual(got[m.Seq], m) {
			t.Fatalf("message %d acknowledged before the backup: in the copy %+v, stored %+v", m.Seq, got[m.Seq], m)
		}
	}
	if copy.LastSeq() != info.LastSeq || info.LastSeq < before[len(before)-1].Seq || info.LastSeq >= s.LastSeq() {
		t.Errorf("copy's last seq %d, backup info %d, acknowledged before %d, store after %d",
			copy.LastSeq(), info.LastSeq, before[len(before)-1].Seq, s.LastSeq())
	}
	if rooms, err := copy.Rooms(context.Background()); err != nil || len(rooms) != 1 || len(rooms[0].Members) != 1 {
		t.Errorf("rooms of the copy: %+v %v", rooms, err)
	}
	if _, err := copy.User(context.Background(), "ALICE"); err != nil {
		t.Errorf("user of the copy: %v", err)
	}
}

// TestRestoreRefusesOpenDatabase: while a Store is open on the data
// directory, Restore refuses and changes nothing; once it is closed,
// Restore replaces the database and keeps the old one beside it.
func TestRestoreRefusesOpenDatabase(t *testing.T) {
	ctx := context.Background()
	src, srcDir := newStore(t, Options{})
	mustAppend(t, src, chat("alice", shared.All, "from the backup"))
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := Backup(ctx, srcDir, backup); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	live, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, live, chat("bob", shared.All, "live"))
	dbBefore, _ := os.ReadFile(filepath.Join(dir, FileName))
	_, _, err = Restore(ctx, dir, backup)
	wantErr(t, "Restore into an open store", err, ErrInUse)
	if !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("error %q does not say what to do", err)
	}
	if dbAfter, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(dbBefore, dbAfter) {
		t.Error("the refused restore changed the database")
	}
	mustAppend(t, live, chat("bob", shared.All, "still live"))
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}

	previous, info, err := Restore(ctx, dir, backup)
	if err != nil {
		t.Fatal(err)
	}
	if info.LastSeq != 1 || !strings.HasPrefix(filepath.Base(previous), FileName+".replaced-") {
		t.Errorf("restore: previous %q, info %+v", previous, info)
	}
	old, err := sql.Open("sqlite", dsn(previous, nil))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := old.QueryRow("SELECT count(*) FROM events WHERE command IN ('chat', 'groupchat')").Scan(&n); err != nil || n != 2 {
		t.Errorf("the replaced database holds %d messages (%v), want its 2", n, err)
	}
	old.Close()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := allMessages(t, s)
	if len(got) != 1 || got[1].Data != "from the backup" {
		t.Errorf("restored messages %+v", got)
	}
}

// TestOpenRefusedDuringRestore: a restore's exclusive lock keeps servers
// and backups out until it is done.
func TestOpenRefusedDuringRestore(t *testing.T) {
	_, srcDir := newStore(t, Options{})
	dir := t.TempDir()
	lock, err := lockDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, Options{}); err == nil {
		s.Close()
		t.Fatal("Open during a restore succeeded")
	} else {
		wantErr(t, "Open during a restore", err, ErrInUse)
	}
	if _, err := os.Stat(filepath.Join(srcDir, FileName)); err != nil {
		t.Fatal(err)
	}
	copyTo := filepath.Join(dir, FileName)
	data, _ := os.ReadFile(filepath.Join(srcDir, FileName))
	os.WriteFile(copyTo, data, 0o600)
	_, err = Backup(context.Background(), dir, filepath.Join(t.TempDir(), "b.db"))
	wantErr(t, "Backup during a restore", err, ErrInUse)
	lock.unlock()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after the restore: %v", err)
	}
	s.Close()
}

// TestBackupRestoreBadInput: each mistake gets a clear error and changes
// nothing.
func TestBackupRestoreBadInput(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t, Options{})
	mustAppend(t, s, chat("alice", shared.All, "hello"))
	out := t.TempDir()

	existing := filepath.Join(out, "exists.db")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	if _, err := Backup(ctx, dir, existing); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup onto an existing file: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Error("backup overwrote a file")
	}
	empty := filepath.Join(t.TempDir(), "none")
	if _, err := Backup(ctx, empty, filepath.Join(out, "x.db")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup of a missing data dir: %v", err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Error("backup of a missing data dir created it")
	}

	good := filepath.Join(out, "good.db")
	if _, err := Backup(ctx, dir, good); err != nil {
		t.Fatal(err)
	}
	goodBytes, _ := os.ReadFile(good)
	newer := filepath.Join(out, "newer.db")
	os.WriteFile(newer, goodBytes, 0o600)
	db, _ := sql.Open("sqlite", dsn(newer, nil))
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	truncated := filepath.Join(out, "truncated.db")
	os.WriteFile(truncated, goodBytes[:len(goodBytes)/2], 0o600)
	notDB := filepath.Join(out, "notes.txt")
	os.WriteFile(notDB, []byte("SQLite format 2, honestly"), 0o600)

	target := t.TempDir()
	if _, _, err := Restore(ctx, target, good); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, target)
	for name, src := range map[string]string{
		"missing file":  filepath.Join(out, "nope.db"),
		"not a db":      notDB,
		"truncated":     truncated,
		"newer schema":  newer,
		"a directory":   out,
		"empty file":    writeFile(t, filepath.Join(out, "empty.db"), nil),
		"no chatapp db": writeFile(t, filepath.Join(out, "plain.db"), plainSQLite(t)),
	} {
		if _, _, err := Restore(ctx, target, src); err == nil {
			t.Errorf("restore of %s: no error", name)
		} else {
			t.Logf("restore of %s: %v", name, err)
		}
		if after := dirState(t, target); after != before {
			t.Errorf("restore of %s changed the data dir:\n%s\nwas\n%s", name, after, before)
		}
	}
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// plainSQLite is a valid SQLite database that chatapp did not write.
func plainSQLite(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plain.db")
	db, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, _ := os.ReadFile(path)
	return b
}

// dirState lists a directory's files, those of its folders included
// (files/), with their contents' hashes.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			fmt.Fprintf(&b, "%s/\n", rel)
		} else {
			fmt.Fprintf(&b, "%s %x\n", rel, fileSum(t, path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
