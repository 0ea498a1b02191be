package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"chatapp/shared"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrDeleted is returned for an id whose account was deleted: it is
	// reserved for good. User's error for it is also ErrNotFound.
	ErrDeleted     = errors.New("store: id was deleted")
	ErrNewerSchema = errors.New("store: database schema is newer than this binary")
	ErrClosed      = errors.New("store: closed")
	// ErrLimit refuses a change that would pass a limit of the protocol
	// (a message's 21st distinct reaction).
	ErrLimit = errors.New("store: limit reached")
	// ErrCorrupt is returned by Open for a file that is not a SQLite
	// database or whose schema cannot be read. Open touches nothing then.
	ErrCorrupt = errors.New("store: database file is corrupt or not a database")
)

// FileName is the name of the database file inside the data directory.
const FileName = "chatapp.db"

// busyTimeout is how long a statement waits for another connection's lock.
// Within this process only the writer connection writes, so it matters only
// when an outside process (the sqlite3 shell, a backup) holds a lock.
const busyTimeout = 5 * time.Second

// Options configure a Store. The zero value is usable.
type Options struct {
	// Logger receives migration and committer messages. Nil discards.
	Logger *slog.Logger

	// OnCommit is called by the single committer goroutine after each batch
	// of appended messages is durable, with the new (non-duplicate) messages
	// of the batch in seq order, before the Append callers of the batch are
	// woken. Fan-out from here therefore happens in seq order. It must not
	// block for long and must not call Append. The slice is not reused by
	// the store. May be nil.
	OnCommit func(msgs []shared.Message)

	// OnCommitFrom is OnCommit with the origin each message was appended
	// with (AppendFrom; nil for Append), origins[i] for msgs[i]. When set,
	// it is called instead of OnCommit.
	OnCommitFrom func(msgs []shared.Message, origins []any)

	// MaxBatch is the most messages one group-commit transaction holds.
	// Zero means 256.
	MaxBatch int
}

// Store is the embedded SQLite store. All methods are safe for concurrent
// use. See the package documentation.
type Store struct {
	log          *slog.Logger
	lock         *dirLock // shared lock on the data directory, released by closeDBs
	path         string
	onCommit     func([]shared.Message)
	onCommitFrom func([]shared.Message, []any)
	maxBatch     int

	w *sql.DB // the one write connection (MaxOpenConns 1)
	r *sql.DB // read-only pool

	// Prepared statements, all listed in stmts for Close. The write ones
	// are prepared on w, the read ones on r; database/sql re-prepares them
	// per pooled connection.
	stmts []*sql.Stmt
	// The committer's.
	insertEvent, selectCID, roomExists, lastOrd, upsertOwn, insertPeer *sql.Stmt
	insertMention, deleteMention, setLastSeq                           *sql.Stmt
	changeTarget, editMessage, deleteMessage, eraseEdits               *sql.Stmt
	deleteReactions, deleteReaction, reactionKinds, insertReaction     *sql.Stmt
	// Readers.
	since, count, nthNewest *sql.Stmt
	user                    *sql.Stmt // every login
	tokenUser               *sql.Stmt // every session resume
	conversations           *sql.Stmt // every login and session resume
	revsAfter               *sql.Stmt // every server, about once a second

	// files are the uploaded files' blobs (files.go).
	files blobs

	// convEpoch moves whenever a conversation's events are deleted
	// (deleteConv), which tells the committer to drop its caches.
	convEpoch atomic.Int64

	// mu guards closed against Append's send on reqs: Append holds it for
	// reading while it queues, Close takes it for writing to close reqs.
	mu     sync.RWMutex
	closed bool
	// isClosed mirrors closed for the cheap check at the top of each method.
	isClosed atomic.Bool

	reqs          chan *appendReq
	committerDone chan struct{}

	// committed is the highest seq committed, for LastSeq. The committer
	// alone writes it, after each commit and before OnCommit.
	committed atomic.Int64

	// Counters for Stats.
	batches  atomic.Int64
	appended atomic.Int64
	dups     atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// Stats are counters since Open.
type Stats struct {
	Batches  int64 // committed group-commit transactions
	Appended int64 // new events stored (messages and changes)
	Dups     int64 // appends answered with an earlier event (same sender and cid)
}

// Stats returns the committer's counters.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.batches.Load(), Appended: s.appended.Load(), Dups: s.dups.Load()}
}

// Open opens (creating if needed) the database chatapp.db in dir, creating
// dir with mode 0700 if it is missing, brings the schema up to date and
// starts the committer.
//
// A database whose schema is newer than this binary knows gives an error
// wrapping ErrNewerSchema; a file that is not a SQLite database gives one
// wrapping ErrCorrupt. In both cases the file is left as it was.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: open: empty data directory")
	}
	// Absolute, so that the file: URI below cannot be misread (a relative
	// path, or one with a colon).
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: open: create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if err := checkFile(dir, path); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir, false) // backup.go: Restore refuses while held
	if err != nil {
		return nil, err
	}

	s := &Store{
		log:           opts.Logger,
		lock:          lock,
		path:          path,
		onCommit:      opts.OnCommit,
		onCommitFrom:  opts.OnCommitFrom,
		maxBatch:      opts.MaxBatch,
		committerDone: make(chan struct{}),
	}
	s.files.dir = filepath.Join(dir, FilesDir)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	if err := s.open(); err != nil {
		s.closeDBs()
		if free, ok := freeBytes(dir); ok && free < lowDiskSpace {
			err = fmt.Errorf("%w (the disk of %s is full: %d bytes free)", err, dir, free)
		}
		return nil, err
	}
	s.reqs = make(chan *appendReq, s.maxBatch)
	go s.committer()
	return s, nil
}

// checkFile gives clear errors for an unwritable directory and for a file
// that is not a database before SQLite sees either, and creates a missing
// database file with mode 0600 (SQLite gives its -wal and -shm files the
// same mode).
func checkFile(dir, path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("store: open: database file %s is not writable: %w", path, err)
	}
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("store: open: create %s: %w", path, err)
		}
		return f.Close()
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	// An empty file is a new database to SQLite; anything else must start
	// with the SQLite header.
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	switch {
	case n == 0 && (err == io.EOF):
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("store: open %s: %w", path, err)
	case n < len(hdr) || !bytes.HasPrefix(hdr, []byte("SQLite format 3\x00")):
		return fmt.Errorf("store: open %s: %w", path, ErrCorrupt)
	}
	// SQLite needs to create the -wal and -shm files beside the database.
	probe, err := os.CreateTemp(dir, ".chatapp-probe-*")
	if err != nil {
		return fmt.Errorf("store: open: data directory %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// dsn builds a file: URI for path with the given query parameters.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: path, RawQuery: params.Encode()}
	return u.String()
}

func (s *Store) open() error {
	bt := fmt.Sprint(busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", dsn(s.path, url.Values{
		"_busy_timeout": {bt},
		"_foreign_keys": {"1"},
		// FULL: a commit is on stable storage before it returns, so an
		// acknowledged message survives power loss, not only a crash.
		"_synchronous": {"FULL"},
		"_txlock":      {"immediate"},
		// Freed cells and pages are zeroed, so an erased message's text
		// leaves the file (PROTOCOL.md 4.6).
		"_pragma": {"secure_delete = 1"},
	}))
	if err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	s.w = w
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	ctx := context.Background()
	version, err := s.check(ctx)
	if err != nil {
		return err
	}
	// Persistent; readers and every later open see WAL too.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("store: open %s: set WAL mode: %w", s.path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("store: open %s: journal mode is %q, want wal", s.path, mode)
	}
	if err := s.migrate(ctx, version); err != nil {
		return err
	}

	readers := min(max(runtime.GOMAXPROCS(0), 2), 8)
	r, err := sql.Open("sqlite", dsn(s.path, url.Values{
		"mode":          {"ro"},
		"_busy_timeout": {bt},
	}))
	if err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	s.r = r
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)

	if err := s.loadLastSeq(ctx); err != nil {
		return err
	}
	if err := s.loadFileStats(ctx); err != nil {
		return err
	}
	return s.prepare(ctx)
}

// check reads the schema version and the schema itself, so that a corrupt
// file or a newer schema is refused before anything is written.
func (s *Store) check(ctx context.Context) (int, error) {
	var version, tables int
	err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version)
	if err == nil {
		err = s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables)
	}
	if err != nil {
		if isCorrupt(err) {
			return 0, fmt.Errorf("store: open %s: %w (%v)", s.path, ErrCorrupt, err)
		}
		return 0, fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if known := len(migrations); version > known {
		return 0, fmt.Errorf("store: open %s: schema version %d, this binary knows up to %d: %w",
			s.path, version, known, ErrNewerSchema)
	}
	return version, nil
}

func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return true
	}
	return false
}

// loadLastSeq sets the committed high-water mark from the database:
// meta.last_seq, which deleted events do not lower.
func (s *Store) loadLastSeq(ctx context.Context) error {
	last, err := readLastSeq(ctx, s.w)
	if err != nil {
		return fmt.Errorf("store: open: read last seq: %w", err)
	}
	s.committed.Store(last)
	return nil
}

func readLastSeq(ctx context.Context, db *sql.DB) (int64, error) {
	var last int64
	err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'last_seq'`).Scan(&last)
	return last, err
}

func (s *Store) prepare(ctx context.Context) error {
	stmts := []struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}{
		{s.w, &s.insertEvent, `INSERT INTO events (seq, conv, ord, time, sender, sender_key, recipient,
			command, type, cid, reply_to, mentions, ref, on_, file, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{s.w, &s.selectCID, `SELECT ` + eventCols + ` FROM events WHERE sender_key = ? AND cid = ? AND cid <> ''`},
		{s.w, &s.roomExists, `SELECT 1 FROM rooms WHERE id_key = ?`},
		{s.w, &s.lastOrd, `SELECT ord FROM events WHERE conv = ? ORDER BY seq DESC LIMIT 1`},
		{s.w, &s.upsertOwn, `INSERT INTO user_convs (user_key, conv, peer, own_after, last_own) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_key, conv) DO UPDATE SET own_after = own_after + excluded.own_after, last_own = excluded.last_own`},
		{s.w, &s.insertPeer, `INSERT INTO user_convs (user_key, conv, peer) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{s.w, &s.insertMention, `INSERT INTO mentions (user_key, conv, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{s.w, &s.deleteMention, `DELETE FROM mentions WHERE user_key = ? AND conv = ? AND seq = ?`},
		{s.w, &s.setLastSeq, `UPDATE meta SET value = ? WHERE key = 'last_seq'`},
		{s.w, &s.changeTarget, `SELECT conv, command, sender_key, recipient, mentions, deleted, file FROM events WHERE seq = ?`},
		{s.w, &s.editMessage, `UPDATE events SET data = ?, edited = ?, mentions = ? WHERE seq = ?`},
		{s.w, &s.deleteMessage, `UPDATE events SET data = '', file = NULL, mentions = NULL, edited = NULL, deleted = 1 WHERE seq = ?`},
		{s.w, &s.eraseEdits, `UPDATE events SET data = '' WHERE ref = ? AND command = 'edit'`},
		{s.w, &s.deleteReactions, `DELETE FROM reactions WHERE seq = ?`},
		{s.w, &s.deleteReaction, `DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user_key = ?`},
		{s.w, &s.reactionKinds, `SELECT count(DISTINCT emoji), coalesce(max(emoji = ?2), 0) FROM reactions WHERE seq = ?1`},
		{s.w, &s.insertReaction, `INSERT INTO reactions (seq, emoji, user_key, user, time) VALUES (?, ?, ?, ?, ?)`},
		{s.r, &s.since, sinceSQL},
		{s.r, &s.count, countSQL},
		{s.r, &s.nthNewest, nthNewestSQL},
		{s.r, &s.user, userSQL},
		{s.r, &s.tokenUser, tokenUserSQL},
		{s.r, &s.revsAfter, revocationsAfterSQL},
		{s.r, &s.conversations, conversationsSQL},
	}
	for _, st := range stmts {
		p, err := st.db.PrepareContext(ctx, st.sql)
		if err != nil {
			return fmt.Errorf("store: open: prepare: %w", err)
		}
		*st.dst = p
		s.stmts = append(s.stmts, p)
	}
	return nil
}

// Close completes the appends already queued (their callers get their
// results and OnCommit sees them), stops the committer and closes the
// database. Later calls to any method return ErrClosed. Close is idempotent
// and returns the first close's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.isClosed.Store(true)
		close(s.reqs)
		s.mu.Unlock()
		<-s.committerDone
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

// closeDBs closes the statements and both pools; readers first, so the
// writer's close is the last one. Before it the writer checkpoints the WAL
// into the file and truncates it: no page image of an erased message stays
// in the WAL (PROTOCOL.md 4.6), and the last close of the file would do the
// same checkpoint anyway.
func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		if len(s.stmts) > 0 { // opened: the schema is there
			if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				errs = append(errs, fmt.Errorf("checkpoint: %w", err))
			}
		}
		errs = append(errs, s.w.Close())
	}
	errs = append(errs, s.lock.unlock())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// live returns ErrClosed once Close has begun.
func (s *Store) live() error {
	if s.isClosed.Load() {
		return ErrClosed
	}
	return nil
}

// nowMillis is the current time truncated to milliseconds, in UTC.
func nowMillis() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
