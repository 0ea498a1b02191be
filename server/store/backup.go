package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"chatapp/shared"
)

// LockName is the lock file in the data directory. Every open Store holds
// a shared lock on it and Restore an exclusive one, so that Restore can
// tell that a server (or an admin command) has the database open and
// refuse to replace it under them. The file is never removed: removing a
// lock file races with the next process that opens it.
const LockName = "chatapp.lock"

// ErrInUse is returned by Restore while a Store is open on the data
// directory (a server or an admin command runs), and by Open and Backup
// while a Restore runs.
var ErrInUse = errors.New("store: the database is in use")

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked")

// dirLock is a held lock on a data directory's LockName.
type dirLock struct{ f *os.File }

// lockDir takes the lock of dir (shared or exclusive) without waiting; if
// another process holds it the other way, the error wraps ErrInUse.
func lockDir(dir string, exclusive bool) (*dirLock, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := lockFile(f, exclusive); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			if exclusive {
				return nil, fmt.Errorf("%w: a chatapp server or command has %s open; stop it first", ErrInUse, dir)
			}
			return nil, fmt.Errorf("%w: a restore into %s is running", ErrInUse, dir)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

// unlock releases the lock (closing the file releases it).
func (l *dirLock) unlock() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}

// BackupInfo describes a backup written by Backup, or put in place by
// Restore.
type BackupInfo struct {
	Bytes   int64      // size of the database copy
	LastSeq shared.Seq // the newest seq the copy holds (its high-water mark)
	Schema  int        // schema version of the copy

	// The uploaded files the copy refers to (one per distinct content).
	Files        int   // in place: in FILE.files/ (Backup) or the data directory (Restore)
	FilesCopied  int   // of them, copied by this run (the others were there already)
	FileBytes    int64 // the bytes of the Files
	FilesMissing int   // not found: erased after the snapshot (Backup), not in FILE.files/ (Restore)
}

// Backup writes a consistent copy of the database in dir to dst, a file
// that must not exist yet. It works while a server has the database
// open: VACUUM INTO reads it in one read transaction, which in WAL mode
// is a snapshot of every transaction committed when it began (so of every
// message answered 200 before Backup was called) and does not block the
// server's writer. The copy is written under a temporary name beside dst,
// synced, checked and renamed, so dst is either complete or absent.
//
// Uploaded files are content-addressed blobs under <dir>/files/ that never
// change once written: after the snapshot, Backup copies the ones it
// refers to into dst+".files/" (same layout), each checked against its
// hash, skipping those already there (from an earlier run). A file whose
// message is deleted between the snapshot and its copy is erased and
// cannot be copied; it is counted in FilesMissing, and a restore of the
// pair shows that message with a file that answers 404. dst is renamed
// into place only after its files are copied.
func Backup(ctx context.Context, dir, dst string) (BackupInfo, error) {
	var info BackupInfo
	src := filepath.Join(dir, FileName)
	if err := checkDatabaseFile(src); err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return info, fmt.Errorf("store: backup: %s exists; a backup never overwrites a file", dst)
	}
	lock, err := lockDir(dir, false)
	if err != nil {
		return info, err
	}
	defer lock.unlock()

	absSrc, err := filepath.Abs(src)
	if err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(absSrc, url.Values{
		"mode":          {"ro"},
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
	}))
	if err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	defer db.Close()

	// VACUUM INTO writes into a file that is missing or empty: the
	// temporary file, created empty so that its name is ours.
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // after the rename: no such file, ignored
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmpName); err != nil {
		return info, fmt.Errorf("store: backup %s: %w", src, err)
	}
	if info, err = checkCopy(ctx, tmpName); err != nil {
		return info, fmt.Errorf("store: backup: the copy: %w", err)
	}
	if err := syncFile(tmpName); err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	if err := copyFiles(ctx, tmpName, &info, dst+".files", filepath.Join(dir, FilesDir)); err != nil {
		return info, fmt.Errorf("store: backup: files: %w", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return info, fmt.Errorf("store: backup: %s appeared meanwhile; not overwriting it", dst)
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	return info, syncDir(filepath.Dir(dst))
}

// Restore replaces the database in dir (created if missing) with the
// backup src, refusing (ErrInUse) while a server or admin command has the
// database open. src is copied into dir first and checked there (it must
// be an intact chatapp database of a schema this binary knows, which Open
// migrates as usual), so a bad backup changes nothing. The database it
// replaces is not deleted: it is renamed, with its write-ahead log if a
// crash left one, to chatapp.db.replaced-<UTC time>, returned as previous
// ("" if dir had none).
//
// The files the backup refers to are copied from src+".files/" (see
// Backup), or from dir's own files/ when a blob is not there, into a new
// files/ folder; the one it replaces goes along with the old database, as
// previous+".files". A file found in neither is counted in FilesMissing:
// its message stays, and its URL answers 404.
func Restore(ctx context.Context, dir, src string) (previous string, info BackupInfo, err error) {
	if err := checkDatabaseFile(src); err != nil {
		return "", info, fmt.Errorf("store: restore: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", info, fmt.Errorf("store: restore: create data directory: %w", err)
	}
	lock, err := lockDir(dir, true)
	if err != nil {
		return "", info, err
	}
	defer lock.unlock()

	tmp, err := os.CreateTemp(dir, ".chatapp.db.restore-*")
	if err != nil {
		return "", info, fmt.Errorf("store: restore: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	err = copyInto(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", info, fmt.Errorf("store: restore: copy %s: %w", src, err)
	}
	if info, err = checkCopy(ctx, tmpName); err != nil {
		return "", info, fmt.Errorf("store: restore: %s: %w", src, err)
	}
	files := filepath.Join(dir, FilesDir)
	stage, err := os.MkdirTemp(dir, ".files.restore-*")
	if err != nil {
		return "", info, fmt.Errorf("store: restore: %w", err)
	}
	defer os.RemoveAll(stage) // after the rename: no such folder, ignored
	if err := copyFiles(ctx, tmpName, &info, stage, src+".files", files); err != nil {
		return "", info, fmt.Errorf("store: restore: files: %w", err)
	}

	db := filepath.Join(dir, FileName)
	replaced := db + ".replaced-" + time.Now().UTC().Format("20060102T150405.000Z")
	if _, err := os.Lstat(files); err == nil {
		if err := os.Rename(files, replaced+".files"); err != nil {
			return "", info, fmt.Errorf("store: restore: %w", err)
		}
	}
	if _, err := os.Lstat(db); err == nil {
		previous = replaced
		if err := os.Rename(db, previous); err != nil {
			return "", info, fmt.Errorf("store: restore: %w", err)
		}
		// SQLite finds the log by the database's name: a log a crash left
		// goes along, so the old database stays whole.
		if err := os.Rename(db+"-wal", previous+"-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return previous, info, fmt.Errorf("store: restore: %w", err)
		}
		if err := os.Remove(db + "-shm"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return previous, info, fmt.Errorf("store: restore: %w", err)
		}
	}
	if err := os.Rename(tmpName, db); err != nil {
		return previous, info, fmt.Errorf("store: restore: %w", err)
	}
	if err := os.Rename(stage, files); err != nil {
		return previous, info, fmt.Errorf("store: restore: %w", err)
	}
	return previous, info, syncDir(dir)
}

// copyFiles copies the blobs that the database at db (a private copy)
// refers to into the folder to, each from the first of from that has it,
// checked against its hash on the way, skipping those already in to with
// the right size. It counts them in info.
func copyFiles(ctx context.Context, db string, info *BackupInfo, to string, from ...string) error {
	blobs, err := referencedBlobs(ctx, db)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, b := range blobs {
		dst := filepath.Join(to, b.hash[:2], b.hash)
		if fi, err := os.Stat(dst); err == nil && fi.Size() == b.size {
			info.Files++
			info.FileBytes += b.size
			continue
		}
		copied := false
		for _, dir := range from {
			ok, err := copyBlob(filepath.Join(dir, b.hash[:2], b.hash), dst, b.hash)
			if err != nil {
				return err
			}
			if copied = ok; copied {
				break
			}
		}
		if !copied {
			info.FilesMissing++
			continue
		}
		info.Files++
		info.FilesCopied++
		info.FileBytes += b.size
	}
	return nil
}

type blobRef struct {
	hash string
	size int64
}

// referencedBlobs lists the blobs the files of the database at path
// name (none before schema 3, which made the files table).
func referencedBlobs(ctx context.Context, path string) ([]blobRef, error) {
	db, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'files'`).Scan(&tables); err != nil || tables == 0 {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT hash, max(size) FROM files WHERE hash IS NOT NULL GROUP BY hash`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []blobRef
	for rows.Next() {
		var b blobRef
		if err := rows.Scan(&b.hash, &b.size); err != nil {
			return nil, err
		}
		if !validHash(b.hash) {
			return nil, fmt.Errorf("%w: file hash %q", ErrCorrupt, b.hash)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// copyBlob copies the blob src to dst through a temporary file beside
// dst, checking that its bytes hash to hash; ok is false when src does
// not exist.
func copyBlob(src, dst, hash string) (ok bool, err error) {
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer in.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, ".copy-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // after the rename: no such file, ignored
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hash {
		return false, fmt.Errorf("%s: its bytes hash to %s: the file is damaged", src, got[:12])
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return false, err
	}
	return true, syncDir(dir)
}

// checkDatabaseFile gives a clear error for a missing file or one that is
// not a SQLite database, before SQLite sees it (SQLite would create a
// missing one).
func checkDatabaseFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr) != "SQLite format 3\x00" {
		return fmt.Errorf("%s: %w", path, ErrCorrupt)
	}
	return nil
}

// checkCopy opens a private copy of a database (read-write: a copy of a
// WAL-mode file needs its shared memory), checks its integrity and schema
// version and reads its high-water mark.
func checkCopy(ctx context.Context, path string) (BackupInfo, error) {
	var info BackupInfo
	fi, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	info.Bytes = fi.Size()
	db, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		return info, err
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return info, fmt.Errorf("%w (%v)", ErrCorrupt, err)
	}
	if result != "ok" {
		return info, fmt.Errorf("%w: %s", ErrCorrupt, result)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&info.Schema); err != nil {
		return info, err
	}
	if info.Schema == 0 || info.Schema > len(migrations) {
		return info, fmt.Errorf("schema version %d, this binary knows 1 to %d: not a chatapp database of this or an earlier version", info.Schema, len(migrations))
	}
	last, err := readLastSeq(ctx, db)
	if err != nil {
		return info, err
	}
	info.LastSeq = shared.Seq(last)
	return info, db.Close()
}

func copyInto(dst *os.File, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(dst, f); err != nil {
		return err
	}
	return dst.Sync()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// (nor needs to); its error is ignored there.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return err
	}
	return nil
}
