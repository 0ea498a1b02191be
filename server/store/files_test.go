package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"chatapp/shared"
)

// fileUser creates account id with a session token and returns the
// token's hash.
func fileUser(t testing.TB, s *Store, id string) []byte {
	t.Helper()
	th := []byte("token-of-" + id)
	if err := s.CreateUserToken(t.Context(), User{ID: id, Hash: []byte("h")}, th, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return th
}

// upload stores b as file name of owner (folded id) with session th.
func upload(t *testing.T, s *Store, owner string, th []byte, name string, b []byte, quota int64) (File, error) {
	t.Helper()
	u, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write(b); err != nil {
		t.Fatal(err)
	}
	return s.AddFile(t.Context(), u, NewFile{Owner: owner, TokenHash: th, Name: name,
		Type: "application/octet-stream", Quota: quota, Now: time.Now()})
}

func mustUpload(t *testing.T, s *Store, owner string, th []byte, name string, b []byte) File {
	t.Helper()
	f, err := upload(t, s, owner, th, name, b, 1<<30)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return f
}

// diskFiles lists the regular files under dir/files, relative to it.
func diskFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, FilesDir)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func blobName(b []byte) string {
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	return h[:2] + "/" + h
}

func withFile(m shared.Message, f File) shared.Message {
	info := f.Info()
	m.Type, m.File = shared.TypeFile, &info
	return m
}

// TestFilesKeptOnceErasedWithTheirLastMessage: the same bytes uploaded
// twice are one blob; a message carries its file in fan-out, history and
// replay; deleting a message erases its file's row once no other
// message refers to it, and the blob once no file names it.
func TestFilesKeptOnceErasedWithTheirLastMessage(t *testing.T) {
	rec := newRecorder()
	s, dir := newStore(t, Options{OnCommit: rec.onCommit})
	ctx := t.Context()
	th := fileUser(t, s, "Amy")
	mustUser(t, s, "bob")
	body := []byte("the same bytes, twice")
	f1 := mustUpload(t, s, "amy", th, "one.txt", body)
	f2 := mustUpload(t, s, "amy", th, "two words.txt", body)
	if f1.ID == f2.ID || len(f1.ID) < 22 || f1.Hash != f2.Hash || f1.Size != int64(len(body)) {
		t.Fatalf("files %+v %+v", f1, f2)
	}
	if got, want := diskFiles(t, dir), []string{blobName(body)}; !slices.Equal(got, want) {
		t.Fatalf("on disk %v, want %v", got, want)
	}
	if n, b := s.FileStats(); n != 1 || b != int64(len(body)) {
		t.Fatalf("stats %d files %d bytes", n, b)
	}
	if f2.Info().URL != "/files/"+f2.ID+"/two%20words.txt" {
		t.Fatalf("url %s", f2.Info().URL)
	}

	m1 := mustAppend(t, s, withFile(chat("Amy", "bob", "look"), f1))
	m2 := mustAppend(t, s, withFile(chat("Amy", "bob", "again"), f1))
	mustAppend(t, s, withFile(chat("Amy", "ALL", "two"), f2))
	want := f1.Info()
	h, err := s.History(ctx, HistoryQuery{User: "bob", Command: "chat", Target: "amy"})
	if err != nil || len(h) != 2 || *h[0].File != want || h[0].Type != shared.TypeFile {
		t.Fatalf("history %+v %v", h, err)
	}
	since, _, err := s.Since(ctx, "bob", 0, s.LastSeq(), 10)
	if err != nil || len(since) != 3 || *since[2].File != f2.Info() {
		t.Fatalf("since %+v %v", since, err)
	}
	if _, msgs := rec.all(); *msgs[0].File != want {
		t.Fatalf("fan-out %+v", msgs[0].File)
	}

	// Two messages have f1: deleting one keeps it.
	mustAppend(t, s, change("delete", "amy", m1.Seq, ""))
	if _, err := s.File(ctx, f1.ID); err != nil {
		t.Fatalf("f1 after the first delete: %v", err)
	}
	mustAppend(t, s, change("delete", "amy", m2.Seq, ""))
	if _, err := s.File(ctx, f1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("f1 after the last delete: %v", err)
	}
	// f2 still names the blob.
	if got := diskFiles(t, dir); len(got) != 1 {
		t.Fatalf("on disk %v", got)
	}
	r, err := s.OpenFile(f2)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var rows int
	s.r.QueryRow(`SELECT count(*) FROM files`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d file rows", rows)
	}
	// A deleted message shows no file.
	if h, _ := s.History(ctx, HistoryQuery{User: "bob", Command: "chat", Target: "amy"}); h[0].File != nil || !h[0].Deleted {
		t.Fatalf("deleted in history %+v", h[0])
	}
}

// TestFileDeletedLastErasesBlob: when the last file naming a blob goes,
// the blob goes, and a message can no longer name the file.
func TestFileDeletedLastErasesBlob(t *testing.T) {
	s, dir := newStore(t, Options{})
	ctx := t.Context()
	th := fileUser(t, s, "amy")
	mustUser(t, s, "bob")
	f := mustUpload(t, s, "amy", th, "a.bin", []byte("only once"))
	m := mustAppend(t, s, withFile(chat("amy", "bob", "x"), f))
	mustAppend(t, s, change("delete", "amy", m.Seq, ""))
	if got := diskFiles(t, dir); len(got) != 0 {
		t.Fatalf("on disk after delete: %v", got)
	}
	if n, b := s.FileStats(); n != 0 || b != 0 {
		t.Fatalf("stats %d %d", n, b)
	}
	if _, err := s.OpenFile(f); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open erased: %v", err)
	}
	_, _, err := s.Append(ctx, withFile(chat("amy", "bob", "again"), f))
	if !errors.Is(err, ErrNoFile) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("message with an erased file: %v", err)
	}
}

// TestAppendFileOfAnother: a message may name only its sender's file.
func TestAppendFileOfAnother(t *testing.T) {
	s, _ := newStore(t, Options{})
	th := fileUser(t, s, "amy")
	mustUser(t, s, "bob")
	f := mustUpload(t, s, "amy", th, "a.bin", []byte("amy's"))
	_, _, err := s.Append(t.Context(), withFile(chat("bob", "amy", "mine now"), f))
	if !errors.Is(err, ErrNoFile) {
		t.Fatalf("bob sends amy's file: %v", err)
	}
}

// TestAddFileRefusals: over the quota (each file counting at least
// MinFileCharge) and with a session revoked meanwhile, nothing stays:
// no row, no blob, no temporary file.
func TestAddFileRefusals(t *testing.T) {
	s, dir := newStore(t, Options{})
	ctx := t.Context()
	th := fileUser(t, s, "amy")
	quota := int64(3 * MinFileCharge)
	for i := range 3 {
		if _, err := upload(t, s, "amy", th, "small", []byte{byte(i)}, quota); err != nil {
			t.Fatalf("small file %d: %v", i, err)
		}
	}
	if used, _ := s.FileUsage(ctx, "amy"); used != quota {
		t.Fatalf("usage %d, want %d", used, quota)
	}
	_, err := upload(t, s, "amy", th, "one too many", []byte("x"), quota)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("over quota: %v", err)
	}
	if got := diskFiles(t, dir); len(got) != 3 {
		t.Fatalf("on disk after refusal: %v", got)
	}

	if err := s.DeleteToken(ctx, th); err != nil {
		t.Fatal(err)
	}
	_, err = upload(t, s, "amy", th, "late", []byte("after logout"), 1<<30)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoked session: %v", err)
	}
	if got := diskFiles(t, dir); len(got) != 3 || slices.Contains(got, blobName([]byte("after logout"))) {
		t.Fatalf("on disk after refusal: %v", got)
	}
	// Someone else's token does not do either.
	bob := fileUser(t, s, "bob")
	if _, err := upload(t, s, "amy", bob, "x", []byte("y"), 1<<30); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob's token for amy: %v", err)
	}
	// A discarded upload leaves nothing.
	u, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("cut off"))
	u.Discard()
	u.Discard()
	if got := diskFiles(t, dir); len(got) != 3 {
		t.Fatalf("on disk after discard: %v", got)
	}
}

// TestSweepFiles: files no message refers to go once older than the
// cut-off; files a message has stay.
func TestSweepFiles(t *testing.T) {
	s, dir := newStore(t, Options{})
	ctx := t.Context()
	th := fileUser(t, s, "amy")
	mustUser(t, s, "bob")
	sent := mustUpload(t, s, "amy", th, "sent", []byte("sent bytes"))
	unsent := mustUpload(t, s, "amy", th, "unsent", []byte("unsent bytes"))
	mustAppend(t, s, withFile(chat("amy", "bob", "x"), sent))
	if n, err := s.SweepFiles(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep of recent files: %d %v", n, err)
	}
	if n, err := s.SweepFiles(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := s.File(ctx, unsent.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unsent after sweep: %v", err)
	}
	if _, err := s.File(ctx, sent.ID); err != nil {
		t.Fatalf("sent after sweep: %v", err)
	}
	if got, want := diskFiles(t, dir), []string{blobName([]byte("sent bytes"))}; !slices.Equal(got, want) {
		t.Fatalf("on disk %v, want %v", got, want)
	}
}

// TestSweepDisk: what a crash leaves (an old temporary file, a blob no
// row names) goes; a live upload, a named blob and foreign files stay.
func TestSweepDisk(t *testing.T) {
	s, dir := newStore(t, Options{})
	th := fileUser(t, s, "amy")
	kept := []byte("named")
	mustUpload(t, s, "amy", th, "k", kept)
	orphan := []byte("orphan")
	root := filepath.Join(dir, FilesDir)
	os.MkdirAll(filepath.Dir(filepath.Join(root, blobName(orphan))), 0o700)
	writeFile(t, filepath.Join(root, blobName(orphan)), orphan)
	writeFile(t, filepath.Join(root, "notes.txt"), []byte("not a blob"))
	old := writeFile(t, filepath.Join(root, uploadsDir, "upload-old"), []byte("stale"))
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, past, past)
	live, err := s.StartUpload()
	if err != nil {
		t.Fatal(err)
	}
	defer live.Discard()
	live.Write([]byte("still coming"))

	n, err := s.SweepDisk(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	got := strings.Join(diskFiles(t, dir), " ")
	want := blobName(kept) + " notes.txt " + uploadsDir + "/" + filepath.Base(live.name)
	if got != want {
		t.Fatalf("on disk %q, want %q", got, want)
	}
	if n, b := s.FileStats(); n != 1 || b != int64(len(kept)) {
		t.Fatalf("stats %d %d", n, b)
	}
}

// TestFileStatsSurviveReopen: the figures are read back at open.
func TestFileStatsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th := fileUser(t, s, "amy")
	mustUpload(t, s, "amy", th, "a", bytes.Repeat([]byte("a"), 100))
	mustUpload(t, s, "amy", th, "b", bytes.Repeat([]byte("a"), 100))
	mustUpload(t, s, "amy", th, "c", bytes.Repeat([]byte("c"), 10))
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, b := s.FileStats(); n != 2 || b != 110 {
		t.Fatalf("stats %d %d, want 2 110", n, b)
	}
}

// readBlob reads the blob of b under root (a files folder).
func readBlob(t *testing.T, root string, b []byte) []byte {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(blobName(b))))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestBackupRestoreFiles: a backup copies the blobs its snapshot refers
// to into FILE.files/, skipping those already there and counting those
// gone; a restore puts them back in a new files/ folder, keeps the one
// it replaces beside the replaced database, and takes a blob the backup
// lacks from the data directory when it has it.
func TestBackupRestoreFiles(t *testing.T) {
	ctx := t.Context()
	s, dir := newStore(t, Options{})
	th := fileUser(t, s, "amy")
	mustUser(t, s, "bob")
	one, two, gone := []byte("file one"), []byte("file two"), []byte("erased meanwhile")
	f1 := mustUpload(t, s, "amy", th, "1", one)
	mustUpload(t, s, "amy", th, "1 again", one)
	mustUpload(t, s, "amy", th, "2", two)
	mustUpload(t, s, "amy", th, "3", gone)
	mustAppend(t, s, withFile(chat("amy", "bob", "x"), f1))

	out := t.TempDir()
	b1 := filepath.Join(out, "b1.db")
	info, err := Backup(ctx, dir, b1)
	if err != nil {
		t.Fatal(err)
	}
	if info.Files != 3 || info.FilesCopied != 3 || info.FilesMissing != 0 || info.FileBytes != int64(len(one)+len(two)+len(gone)) {
		t.Fatalf("backup %+v", info)
	}
	for _, b := range [][]byte{one, two, gone} {
		if got := readBlob(t, b1+".files", b); !bytes.Equal(got, b) {
			t.Fatalf("backup holds %q for %q", got, b)
		}
	}

	// A second backup beside blobs already there, with one blob erased
	// (as by a delete after the snapshot): skipped, and counted.
	b2 := filepath.Join(out, "b2.db")
	os.MkdirAll(filepath.Dir(filepath.Join(b2+".files", blobName(one))), 0o700)
	writeFile(t, filepath.Join(b2+".files", blobName(one)), one)
	os.Remove(filepath.Join(dir, FilesDir, blobName(gone)))
	info, err = Backup(ctx, dir, b2)
	if err != nil {
		t.Fatal(err)
	}
	if info.Files != 2 || info.FilesCopied != 1 || info.FilesMissing != 1 {
		t.Fatalf("second backup %+v", info)
	}

	// A damaged blob is an error, not a bad copy.
	writeFile(t, filepath.Join(dir, FilesDir, blobName(two)), []byte("file TWO"))
	if _, err := Backup(ctx, dir, filepath.Join(out, "b3.db")); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("backup of a damaged blob: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "b3.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed backup left its file")
	}

	// Restore into a fresh directory: every blob comes back.
	fresh := t.TempDir()
	_, info, err = Restore(ctx, fresh, b1)
	if err != nil {
		t.Fatal(err)
	}
	if info.Files != 3 || info.FilesCopied != 3 || info.FilesMissing != 0 {
		t.Fatalf("restore %+v", info)
	}
	r, err := Open(fresh, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.File(ctx, f1.ID)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := r.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(blob)
	blob.Close()
	if !bytes.Equal(got, one) {
		t.Fatalf("restored file holds %q", got)
	}
	if n, size := r.FileStats(); n != 3 || size != info.FileBytes {
		t.Fatalf("restored stats %d %d", n, size)
	}
	r.Close()

	// Restore b2 (it lacks one blob) over fresh: the blob comes from
	// fresh's own files, and the files it replaces stay with the
	// replaced database.
	previous, info, err := Restore(ctx, fresh, b2)
	if err != nil {
		t.Fatal(err)
	}
	if info.Files != 3 || info.FilesMissing != 0 {
		t.Fatalf("restore of b2 %+v", info)
	}
	if got := readBlob(t, previous+".files", gone); !bytes.Equal(got, gone) {
		t.Fatalf("replaced files hold %q", got)
	}
	// Without FILE.files/ nor the blobs in the directory: counted.
	os.RemoveAll(b1 + ".files")
	_, info, err = Restore(ctx, t.TempDir(), b1)
	if err != nil || info.Files != 0 || info.FilesMissing != 3 {
		t.Fatalf("restore without files: %+v %v", info, err)
	}
}

// BenchmarkAddFile measures storing a 1 MiB upload of new bytes: the
// write to the temporary file, its fsync, the rename and the directory
// sync, and the transaction with the session and quota checks.
func BenchmarkAddFile(b *testing.B) {
	s, _ := newStore(b, Options{})
	th := fileUser(b, s, "amy")
	body := bytes.Repeat([]byte("x"), 1<<20)
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		copy(body, fmt.Sprint(i)) // new bytes each time: a new blob
		u, err := s.StartUpload()
		if err != nil {
			b.Fatal(err)
		}
		u.Write(body)
		if _, err := s.AddFile(b.Context(), u, NewFile{Owner: "amy", TokenHash: th, Name: "f",
			Type: "application/octet-stream", Quota: 1 << 40, Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}
