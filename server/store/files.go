package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chatapp/shared"
)

// Uploaded files (PROTOCOL.md section 9, docs/STORAGE.md "Files"). A
// file's metadata is a row of files; its bytes are a blob named by their
// SHA-256, <data>/files/<first two hex digits>/<hex>. A blob is written
// once, complete, and never changed: the same bytes uploaded twice (by
// anyone) are kept once, a backup can copy blobs while the server runs,
// and erasing a file's bytes is one unlink. A blob lives while a row
// names its hash.

const (
	// FilesDir is the folder of the blobs inside the data directory.
	FilesDir = "files"
	// uploadsDir, inside FilesDir, holds uploads being received. On the
	// same file system as the blobs, so that a complete upload is renamed
	// into place, never copied.
	uploadsDir = "tmp"
	// MinFileCharge is the least one file counts toward its owner's
	// quota: a disk block, so that the quota also bounds how many files
	// (inodes, rows) one user can make.
	MinFileCharge = 4096
)

// ErrNoFile refuses a message whose file is gone or is not the sender's
// when its batch commits. It wraps ErrNotFound.
var ErrNoFile = fmt.Errorf("no such file: %w", ErrNotFound)

// File is an uploaded file.
type File struct {
	ID      string // at least 128 random bits, URL-safe base64
	Owner   string // the uploader's folded id
	Name    string
	Size    int64
	Type    string // media type, lower case, without parameters
	Hash    string // hex SHA-256 of the bytes: the blob's name
	Width   int    // images only
	Height  int
	Created time.Time
}

// Info is the file as the protocol shows it.
func (f File) Info() shared.FileInfo {
	return shared.FileInfo{ID: f.ID, Name: f.Name, Size: f.Size, Type: f.Type,
		URL: FileURL(f.ID, f.Name), Width: f.Width, Height: f.Height}
}

// FileURL is the address a file is served at: /files/<id>/<name>, the
// name percent-encoded as one path segment.
func FileURL(id, name string) string { return "/files/" + id + "/" + url.PathEscape(name) }

// charge is what a file of size bytes counts toward its owner's quota.
func charge(size int64) int64 { return max(size, MinFileCharge) }

// blobs is the folder of blobs and what the store knows of it.
type blobs struct {
	dir string // <data>/files
	// mu orders placing and erasing blobs against the rows that name
	// them: a blob is placed and its row committed, or its last row gone
	// and the blob unlinked, under mu, so neither sees the other halfway.
	mu sync.Mutex
	// count and bytes are the blobs named by rows, for the metrics.
	count, bytes atomic.Int64
}

func (b *blobs) path(hash string) string { return filepath.Join(b.dir, hash[:2], hash) }

// validHash reports whether s can name a blob: 64 lower-case hex digits.
func validHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FileStats returns the number of distinct blobs that files name and
// their bytes: what the files take on disk.
func (s *Store) FileStats() (count, bytes int64) {
	return s.files.count.Load(), s.files.bytes.Load()
}

// loadFileStats reads FileStats' figures at open.
func (s *Store) loadFileStats(ctx context.Context) error {
	var n, size int64
	err := s.w.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0)
		FROM (SELECT max(size) AS size FROM files GROUP BY hash)`).Scan(&n, &size)
	if err != nil {
		return fmt.Errorf("store: open: file statistics: %w", err)
	}
	s.files.count.Store(n)
	s.files.bytes.Store(size)
	return nil
}

// Upload is a file being received: its bytes go to a temporary file in
// the data directory and through SHA-256 as they arrive. AddFile stores
// it; Discard drops it. Not safe for concurrent use.
type Upload struct {
	f    *os.File
	name string // the temporary file; "" once moved or removed
	h    hash.Hash
	n    int64
}

// StartUpload creates the temporary file of a new upload.
func (s *Store) StartUpload() (*Upload, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.files.dir, uploadsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: upload: %w", err)
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("store: upload: %w", err)
	}
	return &Upload{f: f, name: f.Name(), h: sha256.New()}, nil
}

// Write appends p to the upload.
func (u *Upload) Write(p []byte) (int, error) {
	n, err := u.f.Write(p)
	u.h.Write(p[:n])
	u.n += int64(n)
	return n, err
}

// Size is the number of bytes written so far.
func (u *Upload) Size() int64 { return u.n }

// Reader reads the bytes written so far from the start (to check what
// they are), independently of Write.
func (u *Upload) Reader() io.Reader { return io.NewSectionReader(u.f, 0, u.n) }

// Discard removes the temporary file, if AddFile has not moved it. It
// may be called more than once.
func (u *Upload) Discard() {
	if u.f != nil {
		u.f.Close()
		u.f = nil
	}
	if u.name != "" {
		os.Remove(u.name)
		u.name = ""
	}
}

// NewFile is what AddFile needs besides the bytes.
type NewFile struct {
	Owner     string // the uploader's folded id
	TokenHash []byte // the session the upload came with
	Name      string
	Type      string
	Width     int
	Height    int
	Quota     int64     // the most the owner's files may count together
	Now       time.Time // the upload's time: Created, and the session's expiry check
}

// AddFile stores upload u as a new file and returns it. It makes the
// bytes durable, moves them into place as the blob of their hash (or
// drops them when that blob exists), then in one transaction checks that
// the session nf.TokenHash is still the owner's and valid (ErrNotFound
// otherwise: a logout stops an upload even at its last byte) and that
// the owner's files stay within nf.Quota, each counted at least
// MinFileCharge (ErrLimit otherwise), and adds the row. On any error
// nothing is left behind: no row, and no blob that no row names. u is
// discarded in every case.
func (s *Store) AddFile(ctx context.Context, u *Upload, nf NewFile) (File, error) {
	defer u.Discard()
	if err := s.live(); err != nil {
		return File{}, err
	}
	if err := u.f.Sync(); err != nil {
		return File{}, fmt.Errorf("store: add file: %w", err)
	}
	if err := u.f.Close(); err != nil {
		return File{}, fmt.Errorf("store: add file: %w", err)
	}
	u.f = nil
	f := File{ID: newFileID(), Owner: nf.Owner, Name: nf.Name, Size: u.n, Type: nf.Type,
		Hash: hex.EncodeToString(u.h.Sum(nil)), Width: nf.Width, Height: nf.Height,
		Created: nf.Now.UTC().Truncate(time.Millisecond)}

	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	placed, err := s.files.place(u, f.Hash)
	if err == nil {
		err = s.insertFile(ctx, f, nf)
	}
	if err != nil {
		if _, eerr := s.eraseUnused(f.Hash, placed); eerr != nil {
			s.log.Error("store: erase file", "err", eerr) // swept at the next start
		}
		return File{}, fmt.Errorf("store: add file: %w", err)
	}
	return f, nil
}

// insertFile adds the row of f in a transaction that checks nf's session
// and quota (see AddFile).
func (s *Store) insertFile(ctx context.Context, f File, nf NewFile) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE hash = ? AND user_key = ? AND expires > ?`,
			nf.TokenHash, nf.Owner, nf.Now.UnixMilli()).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		var used int64
		if err := tx.QueryRowContext(ctx, fileUsageSQL, MinFileCharge, nf.Owner).Scan(&used); err != nil {
			return err
		}
		if used+charge(f.Size) > nf.Quota {
			return fmt.Errorf("quota: %d bytes used of %d: %w", used, nf.Quota, ErrLimit)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO files (id, owner_key, name, size, type, hash, width, height, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.ID, f.Owner, f.Name, f.Size, f.Type, f.Hash,
			nullInt(f.Width), nullInt(f.Height), shared.FormatTime(f.Created))
		return err
	})
}

// place moves upload u's bytes to the blob of hash, unless that blob
// exists (the same bytes are kept once), and says whether it did. b.mu
// must be held.
func (b *blobs) place(u *Upload, hash string) (placed bool, err error) {
	dst := b.path(hash)
	if _, err := os.Lstat(dst); err == nil {
		return false, nil // u.Discard drops the copy
	}
	dir := filepath.Dir(dst)
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	if err := os.Rename(u.name, dst); err != nil {
		return false, err
	}
	u.name = ""
	b.count.Add(1)
	b.bytes.Add(u.n)
	if statErr != nil { // a new folder: its own entry must be durable too
		if err := syncDir(b.dir); err != nil {
			return true, err
		}
	}
	return true, syncDir(dir)
}

// eraseUnused unlinks the blob of hash when no row names it and says
// whether it did. counted says whether FileStats counts the blob (a row
// named it until now); an orphan SweepDisk finds is not counted.
// s.files.mu must be held.
func (s *Store) eraseUnused(hash string, counted bool) (bool, error) {
	var one int
	err := s.w.QueryRow(blobNamedSQL, hash).Scan(&one)
	if err == nil {
		return false, nil // still named
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	path := s.files.path(hash)
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil {
		return false, err
	}
	if counted {
		s.files.count.Add(-1)
		s.files.bytes.Add(-fi.Size())
	}
	return true, nil
}

// eraseBlobs unlinks the blobs of hashes that no row names any more:
// the committer's erasures once their transaction committed, a sweep's.
func (s *Store) eraseBlobs(hashes []string) {
	if len(hashes) == 0 {
		return
	}
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	for _, h := range hashes {
		if _, err := s.eraseUnused(h, true); err != nil {
			// It stays until the next start sweeps it (SweepDisk).
			s.log.Error("store: erase file", "err", err)
		}
	}
}

// newFileID returns a new file id: 144 random bits, URL-safe base64.
func newFileID() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func nullInt(v int) any {
	if v == 0 {
		return nil
	}
	return v
}

// The queries of files, each served by an index (TestQueryPlansUseIndexes).
const (
	fileCols    = `id, owner_key, name, size, type, hash, width, height, created`
	fileByIDSQL = `SELECT ` + fileCols + ` FROM files WHERE id = ?`
	// Whether a row names a blob: files_hash.
	blobNamedSQL = `SELECT 1 FROM files WHERE hash = ? LIMIT 1`
	// ?1 MinFileCharge, ?2 the owner: files_owner alone.
	fileUsageSQL = `SELECT coalesce(sum(max(size, ?1)), 0) FROM files WHERE owner_key = ?2`
	// A deleted message's file, unless another message has it: events_file.
	releaseFileSQL = `DELETE FROM files WHERE id = ?1
		AND NOT EXISTS (SELECT 1 FROM events WHERE file = ?1) RETURNING hash`
)

func scanFile(row interface{ Scan(...any) error }) (File, error) {
	var f File
	var w, h sql.NullInt64
	var hash sql.NullString
	var created string
	if err := row.Scan(&f.ID, &f.Owner, &f.Name, &f.Size, &f.Type, &hash, &w, &h, &created); err != nil {
		return File{}, err
	}
	f.Hash, f.Width, f.Height = hash.String, int(w.Int64), int(h.Int64)
	f.Created, _ = time.Parse(shared.TimeFormat, created)
	return f, nil
}

// File returns the file with id; ErrNotFound if there is none (never
// uploaded, or erased).
func (s *Store) File(ctx context.Context, id string) (File, error) {
	if err := s.live(); err != nil {
		return File{}, err
	}
	f, err := scanFile(s.r.QueryRowContext(ctx, fileByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, fmt.Errorf("store: file: %w", ErrNotFound)
	}
	if err != nil {
		return File{}, fmt.Errorf("store: file: %w", err)
	}
	return f, nil
}

// OpenFile opens the bytes of f for reading; ErrNotFound if its blob is
// gone (erased since f was read, or missing from a restored backup).
func (s *Store) OpenFile(f File) (*os.File, error) {
	if !validHash(f.Hash) {
		return nil, fmt.Errorf("store: open file: %w", ErrNotFound)
	}
	r, err := os.Open(s.files.path(f.Hash))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store: open file: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open file: %w", err)
	}
	return r, nil
}

// FileUsage returns what the files of user (folded id) count toward the
// quota: their sizes, each at least MinFileCharge.
func (s *Store) FileUsage(ctx context.Context, user string) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var used int64
	err := s.r.QueryRowContext(ctx, fileUsageSQL, MinFileCharge, user).Scan(&used)
	if err != nil {
		return 0, fmt.Errorf("store: file usage: %w", err)
	}
	return used, nil
}

// fileSQL is, in eventCols, a message's file as a JSON object of
// shared.FileInfo's fields but url (scanEvent): a lookup in files only for
// the rows that have one, and the id alone if its row were gone. The
// unqualified file is the events row's (files has no such column), so it
// works whatever name the outer query gives events.
const fileSQL = `CASE WHEN file IS NULL THEN NULL ELSE coalesce((SELECT json_object('id', files.id,
	'name', files.name, 'size', files.size, 'type', files.type, 'width', files.width, 'height', files.height)
	FROM files WHERE files.id = file), json_object('id', file)) END`

// fileInfo is the file of a message from fileSQL.
func fileInfo(obj string) *shared.FileInfo {
	fi := &shared.FileInfo{}
	json.Unmarshal([]byte(obj), fi)
	if fi.Name != "" {
		fi.URL = FileURL(fi.ID, fi.Name)
	}
	return fi
}

// checkMessageFile refuses with ErrNoFile, inside the batch's
// transaction, a message whose file is gone or is not its sender's: the
// handler checked it, but a sweep of unsent files may have erased it
// since.
func (s *Store) checkMessageFile(b *batchTx, id, senderKey string) error {
	var one int
	err := b.tx.QueryRowContext(b.ctx, `SELECT 1 FROM files WHERE id = ? AND owner_key = ?`, id, senderKey).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoFile
	}
	return err
}

// releaseFile is a delete's part in the batch's transaction, once the
// message row no longer names its file id: the file's row goes when no
// other message refers to it, and its hash is kept in c.erase for
// eraseBlobs once the batch has committed.
func (s *Store) releaseFile(b *batchTx, c *commitState, id sql.NullString) error {
	if !id.Valid {
		return nil
	}
	var hash sql.NullString
	err := b.tx.QueryRowContext(b.ctx, releaseFileSQL, id.String).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // another message still has it
	}
	if err != nil {
		return fmt.Errorf("release file: %w", err)
	}
	if validHash(hash.String) {
		c.erase = append(c.erase, hash.String)
	}
	return nil
}

// SweepFiles erases the files that no message refers to and that were
// uploaded before cutoff (the server passes 24 hours ago): uploads never
// sent, and the files of deleted rooms. It returns how many.
func (s *Store) SweepFiles(ctx context.Context, cutoff time.Time) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var hashes []string
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		hashes = hashes[:0]
		rows, err := tx.QueryContext(ctx, `DELETE FROM files WHERE created < ?
			AND NOT EXISTS (SELECT 1 FROM events WHERE file = files.id) RETURNING hash`, shared.FormatTime(cutoff))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h sql.NullString
			if err := rows.Scan(&h); err != nil {
				return err
			}
			if validHash(h.String) {
				hashes = append(hashes, h.String)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("store: sweep files: %w", err)
	}
	s.eraseBlobs(hashes)
	return len(hashes), nil
}

// SweepDisk removes what a crash can leave in the files folder: uploads
// in progress not written to since stale (a live upload writes at least
// every minute or is cut off), and blobs that no row names (a crash
// between a file's erasure and its unlink, or between a blob's placing
// and its row). The server runs it at start. It returns how many files
// it removed.
func (s *Store) SweepDisk(ctx context.Context, stale time.Time) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	removed := 0
	tmp := filepath.Join(s.files.dir, uploadsDir)
	entries, err := os.ReadDir(tmp)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("store: sweep files: %w", err)
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(stale) {
			if os.Remove(filepath.Join(tmp, e.Name())) == nil {
				removed++
			}
		}
	}
	dirs, err := os.ReadDir(s.files.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return removed, fmt.Errorf("store: sweep files: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		names, err := os.ReadDir(filepath.Join(s.files.dir, d.Name()))
		if err != nil {
			return removed, fmt.Errorf("store: sweep files: %w", err)
		}
		for _, n := range names {
			h := n.Name()
			if !validHash(h) || !strings.HasPrefix(h, d.Name()) {
				continue // not a blob: not ours to remove
			}
			if ctx.Err() != nil {
				return removed, ctx.Err()
			}
			s.files.mu.Lock()
			gone, err := s.eraseUnused(h, false)
			s.files.mu.Unlock()
			if err != nil {
				return removed, fmt.Errorf("store: sweep files: %w", err)
			}
			if gone {
				removed++
			}
		}
	}
	if removed > 0 {
		s.log.Info("store: swept files a crash left behind", "count", removed)
	}
	return removed, nil
}
