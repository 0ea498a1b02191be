package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"chatapp/shared"
)

// appendReq is one event waiting for the committer. done has room for the
// one result, so the committer never blocks on a caller that gave up.
type appendReq struct {
	msg    shared.Message
	origin any // handed back to OnCommitFrom
	done   chan appendResult
}

type appendResult struct {
	msg shared.Message
	dup bool
	err error
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan appendResult, 1)} }}

// Append stores m through the group-commit writer and returns once it is
// durable. The store assigns Seq (the next global sequence number) and Time
// (the batch's commit time, UTC milliseconds, shared.FormatTime).
//
// m is a message (command chat or groupchat) with Sender and Recipient
// (display ids, matched by their case-folded keys), Type, Data, and
// optionally CID, ReplyTo and Mentions (the display ids it mentions; the
// store keeps them with the message and counts them for every one but the
// sender), and File (an upload of the sender's, stored by its id; a file
// gone or not the sender's when the batch commits is refused with
// ErrNoFile). Whether ReplyTo names a message of the conversation, and who
// may be mentioned, is the caller's check.
//
// Or m is a change to an earlier message (command edit, delete or react;
// PROTOCOL.md 4.6) with Sender (who changes it), Ref (the message's seq),
// Data (edit: the new text; react: the emoji) and, for an edit, Mentions
// of the new text. The store fills in Recipient and Of from the message
// and, for react, On (the toggle's direction). It refuses with ErrNotFound
// a Ref that is not a message or is deleted, when the batch commits (so a
// concurrent delete wins cleanly), and with ErrLimit a reaction that would
// be the message's 21st distinct one. Who may change the message is the
// caller's check.
//
// If m.CID is not empty and the sender already has an event with that cid
// (stored earlier or earlier in the same batch), nothing is stored and the
// first event is returned with dup=true.
//
// A groupchat message to a room that does not exist when its batch commits
// is refused with ErrNotFound, so a message cannot outlive a concurrent
// DeleteRoom.
//
// If ctx ends before the event is queued, it is not stored. If ctx ends
// while it waits for its batch, Append returns ctx.Err() but the event
// may still be stored and delivered through OnCommit; a retry with the same
// cid is then answered as a dup. After Close, Append returns ErrClosed.
func (s *Store) Append(ctx context.Context, m shared.Message) (stored shared.Message, dup bool, err error) {
	return s.AppendFrom(ctx, m, nil)
}

// AppendFrom is Append with an origin, any value that identifies where the
// event came from (the server passes the sending socket); it is handed
// back with the event to Options.OnCommitFrom.
func (s *Store) AppendFrom(ctx context.Context, m shared.Message, origin any) (stored shared.Message, dup bool, err error) {
	switch {
	case m.Command == shared.CommandChat || m.Command == shared.CommandGroupchat:
		if m.Sender == "" || m.Recipient == "" {
			return shared.Message{}, false, errors.New("store: append: empty sender or recipient")
		}
	case shared.IsChange(m.Command):
		if m.Sender == "" || m.Ref <= 0 {
			return shared.Message{}, false, errors.New("store: append: a change needs a sender and a ref")
		}
	default:
		return shared.Message{}, false, fmt.Errorf("store: append: unknown command %q", m.Command)
	}
	if err := ctx.Err(); err != nil {
		return shared.Message{}, false, err
	}
	r := reqPool.Get().(*appendReq)
	r.msg, r.origin = m, origin

	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		r.msg, r.origin = shared.Message{}, nil
		reqPool.Put(r)
		return shared.Message{}, false, ErrClosed
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		r.msg, r.origin = shared.Message{}, nil
		reqPool.Put(r)
		return shared.Message{}, false, ctx.Err()
	}

	select {
	case res := <-r.done:
		r.msg, r.origin = shared.Message{}, nil
		reqPool.Put(r)
		return res.msg, res.dup, res.err
	case <-ctx.Done():
		// r stays with the committer, which sends into its buffer and
		// forgets it; it is not reused.
		return shared.Message{}, false, ctx.Err()
	}
}

// committer is the one goroutine that writes sequenced events. It takes
// the first waiting request, then whatever else is already queued, up to
// maxBatch, and commits them in one transaction: one fsync for the whole
// batch. Requests queue up while a commit is in progress, so batches grow
// with the load. It returns when reqs is closed and drained.
func (s *Store) committer() {
	defer close(s.committerDone)
	c := &commitState{
		last:    s.committed.Load(),
		batch:   make([]*appendReq, 0, s.maxBatch),
		results: make([]appendResult, 0, s.maxBatch),
		inBatch: make(map[string]int),
		ords:    make(map[Conv]int64),
		pairs:   make(map[Conv]bool),
		own:     make(map[ownKey]*ownCount),
		tx:      batchTx{stmts: make(map[*sql.Stmt]*sql.Stmt, 8)},
	}
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		c.batch = append(c.batch[:0], r)
		// Let the goroutines that are about to append run first: with one
		// P (GOMAXPROCS=1) the committer would otherwise take every
		// request alone, the moment it arrives, and pay an fsync for each.
		runtime.Gosched()
	fill:
		for len(c.batch) < s.maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break fill // closed: commit this batch, then return above
				}
				c.batch = append(c.batch, r)
			default:
				break fill
			}
		}
		s.commit(c)
		clear(c.batch)
	}
}

// commitState is the committer's own state, reused across batches.
type commitState struct {
	last     int64     // highest seq committed
	lastTime time.Time // time of the last batch; batch times never go back
	batch    []*appendReq
	results  []appendResult
	inBatch  map[string]int // sender key NUL cid → index in batch of the event holding it
	origins  []any          // origin of each new event, parallel to writeBatch's fresh

	// Caches of what the database holds, so that the common message costs
	// one insert into events and no lookup. ords: each conversation's
	// message count (the ord of its newest event). pairs: the direct
	// conversations whose two user_convs rows exist. Both are dropped when
	// a batch fails, when they grow past cacheMax, and when a conversation
	// is deleted (epoch, see deleteConv).
	ords  map[Conv]int64
	pairs map[Conv]bool
	epoch int64

	// own gathers the batch's messages per sender and conversation, for
	// one user_convs upsert each.
	own      map[ownKey]*ownCount
	ownOrder []ownKey
	peers    []peerRow // direct conversations' other sides, not yet known to exist
	erase    []string  // hashes of the files the batch's deletions freed (releaseFile)

	tx batchTx // the batch's transaction
}

type ownKey struct {
	user string
	conv Conv
}

type ownCount struct {
	peer string
	n    int64
	last int64
}

type peerRow struct {
	user, peer string
	conv       Conv
}

// cacheMax bounds the committer's caches: past it they start over.
const cacheMax = 1 << 16

// commit writes c.batch, then hands the new events to OnCommit, then
// wakes the callers. If the transaction fails every caller of the batch
// gets the error and OnCommit is not called.
func (s *Store) commit(c *commitState) {
	fresh, next, err := s.writeBatch(c)
	if err != nil {
		err = fmt.Errorf("store: append: %w", err)
		s.log.Error("store: commit batch", "events", len(c.batch), "err", err)
		clear(c.ords)
		clear(c.pairs)
		// The transaction rolled back; reload the high-water mark in case
		// the commit reached the disk after all.
		if last, rerr := readLastSeq(context.Background(), s.w); rerr == nil && last > c.last {
			c.last = last
			s.committed.Store(last)
		}
		for _, r := range c.batch {
			r.done <- appendResult{err: err}
		}
		return
	}
	for _, p := range c.peers {
		c.pairs[p.conv] = true
	}
	c.last = next
	s.committed.Store(next)
	s.batches.Add(1)
	s.appended.Add(int64(len(fresh)))
	s.dups.Add(int64(countDups(c.results)))
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("store: batch committed", "events", len(c.batch), "new", len(fresh), "seq", next)
	}
	if len(fresh) > 0 {
		switch {
		case s.onCommitFrom != nil:
			s.onCommitFrom(fresh, c.origins)
		case s.onCommit != nil:
			s.onCommit(fresh)
		}
	}
	s.eraseBlobs(c.erase)
	for i, r := range c.batch {
		r.done <- c.results[i]
	}
}

func countDups(rs []appendResult) int {
	n := 0
	for _, r := range rs {
		if r.dup {
			n++
		}
	}
	return n
}

// batchTx is one batch's transaction and its statements, prepared on it
// as they are first needed.
type batchTx struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[*sql.Stmt]*sql.Stmt
}

func (b *batchTx) stmt(st *sql.Stmt) *sql.Stmt {
	if t := b.stmts[st]; t != nil {
		return t
	}
	t := b.tx.StmtContext(b.ctx, st)
	b.stmts[st] = t
	return t
}

// writeBatch runs the batch's transaction. It fills c.results and returns
// the new events in seq order and the last seq assigned.
func (s *Store) writeBatch(c *commitState) (fresh []shared.Message, next int64, err error) {
	now := nowMillis()
	if now.Before(c.lastTime) {
		now = c.lastTime
	}
	c.lastTime = now
	ts := shared.FormatTime(now)

	c.results = c.results[:len(c.batch)]
	clear(c.results)
	clear(c.inBatch)
	clear(c.own)
	c.ownOrder = c.ownOrder[:0]
	c.peers = c.peers[:0]
	c.erase = c.erase[:0]

	// The committer's statements use their own context: one caller giving
	// up must not abort the batch of the others.
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	// The transaction holds the only write connection: every conversation
	// deleted before it began has moved the epoch by now.
	if e := s.convEpoch.Load(); e != c.epoch || len(c.ords) > cacheMax || len(c.pairs) > cacheMax {
		clear(c.ords)
		clear(c.pairs)
		c.epoch = e
	}
	b := &c.tx
	b.ctx, b.tx = ctx, tx
	clear(b.stmts)

	fresh = make([]shared.Message, 0, len(c.batch))
	c.origins = make([]any, 0, len(c.batch))
	next = c.last
	for i, r := range c.batch {
		m := r.msg
		senderKey := shared.Fold(m.Sender)
		var cidKey string
		if m.CID != "" {
			cidKey = senderKey + "\x00" + m.CID
			// An earlier event of this batch with the cid: the SELECT
			// below would find it too (same transaction); this skips it.
			if j, ok := c.inBatch[cidKey]; ok {
				c.results[i] = appendResult{msg: c.results[j].msg, dup: true}
				continue
			}
			first, _, err := scanEvent(b.stmt(s.selectCID).QueryRowContext(ctx, senderKey, m.CID))
			if err == nil {
				c.results[i] = appendResult{msg: first, dup: true}
				c.inBatch[cidKey] = i
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, 0, fmt.Errorf("look up cid: %w", err)
			}
		}
		var refused error
		if shared.IsChange(m.Command) {
			refused, err = s.writeChange(b, c, &m, senderKey, next+1, ts)
		} else {
			refused, err = s.writeMessage(b, c, &m, senderKey, next+1, ts)
		}
		if err != nil {
			return nil, 0, err
		}
		if refused != nil {
			c.results[i] = appendResult{err: refused}
			continue
		}
		next++
		c.results[i] = appendResult{msg: m}
		fresh = append(fresh, m)
		c.origins = append(c.origins, r.origin)
		if cidKey != "" {
			c.inBatch[cidKey] = i
		}
	}
	if err := s.writeConvs(b, c); err != nil {
		return nil, 0, err
	}
	if next > c.last {
		if _, err := b.stmt(s.setLastSeq).ExecContext(ctx, next); err != nil {
			return nil, 0, fmt.Errorf("set last seq: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	return fresh, next, nil
}

// writeMessage stores message m as event seq: the event row, its mention
// rows, and the sender's and (new direct conversations) the other side's
// user_convs rows, the latter gathered for writeConvs. refused is the
// caller's error when the message cannot be stored (its room is gone).
func (s *Store) writeMessage(b *batchTx, c *commitState, m *shared.Message, senderKey string, seq int64, ts string) (refused, err error) {
	conv := ConvOf(m.Command, m.Sender, m.Recipient)
	if m.Command == shared.CommandGroupchat {
		var one int
		err := b.stmt(s.roomExists).QueryRowContext(b.ctx, shared.Fold(m.Recipient)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: append: room %q: %w", m.Recipient, ErrNotFound), nil
		}
		if err != nil {
			return nil, fmt.Errorf("look up room: %w", err)
		}
	}
	if m.File != nil {
		if err := s.checkMessageFile(b, m.File.ID, senderKey); errors.Is(err, ErrNoFile) {
			return fmt.Errorf("store: append: file %q: %w", m.File.ID, err), nil
		} else if err != nil {
			return nil, fmt.Errorf("look up file: %w", err)
		}
	}
	ord, err := s.convOrd(b, c, conv)
	if err != nil {
		return nil, err
	}
	ord++
	m.Seq, m.Time = shared.Seq(seq), ts
	if _, err := b.stmt(s.insertEvent).ExecContext(b.ctx, seq, string(conv), ord, ts, m.Sender, senderKey,
		m.Recipient, m.Command, m.Type, m.CID, nullSeq(m.ReplyTo), joinIDs(m.Mentions), nil, nil, fileID(m.File), m.Data); err != nil {
		return nil, fmt.Errorf("insert: %w", err)
	}
	c.ords[conv] = ord
	if err := s.insertMentions(b, conv, m.Mentions, senderKey, seq); err != nil {
		return nil, err
	}

	k := ownKey{senderKey, conv}
	o := c.own[k]
	if o == nil {
		o = &ownCount{}
		c.own[k] = o
		c.ownOrder = append(c.ownOrder, k)
		if conv.IsDirect() {
			o.peer = m.Recipient
		}
	}
	o.n++
	o.last = seq
	if conv.IsDirect() && !c.pairs[conv] {
		if to := shared.Fold(m.Recipient); to != senderKey {
			c.peers = append(c.peers, peerRow{user: to, peer: m.Sender, conv: conv})
		}
	}
	return nil, nil
}

// convOrd returns conversation conv's message count: from the cache, or
// from the ord of its newest event (one seek on events_conv).
func (s *Store) convOrd(b *batchTx, c *commitState, conv Conv) (int64, error) {
	if ord, ok := c.ords[conv]; ok {
		return ord, nil
	}
	var ord int64
	err := b.stmt(s.lastOrd).QueryRowContext(b.ctx, string(conv)).Scan(&ord)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read ord: %w", err)
	}
	c.ords[conv] = ord
	return ord, nil
}

// insertMentions adds a mention row for each mentioned account but the
// sender.
func (s *Store) insertMentions(b *batchTx, conv Conv, mentions []string, senderKey string, seq int64) error {
	for _, id := range mentions {
		if k := shared.Fold(id); k != senderKey {
			if _, err := b.stmt(s.insertMention).ExecContext(b.ctx, k, string(conv), seq); err != nil {
				return fmt.Errorf("insert mention: %w", err)
			}
		}
	}
	return nil
}

// writeConvs writes the user_convs rows gathered by the batch's messages:
// one upsert per sender and conversation, and the other side's row of each
// direct conversation not yet known to have it.
func (s *Store) writeConvs(b *batchTx, c *commitState) error {
	for _, k := range c.ownOrder {
		o := c.own[k]
		if _, err := b.stmt(s.upsertOwn).ExecContext(b.ctx, k.user, string(k.conv), o.peer, o.n, o.last); err != nil {
			return fmt.Errorf("upsert user_convs: %w", err)
		}
	}
	for _, p := range c.peers {
		if _, err := b.stmt(s.insertPeer).ExecContext(b.ctx, p.user, string(p.conv), p.peer); err != nil {
			return fmt.Errorf("insert user_convs: %w", err)
		}
	}
	return nil
}

// nullSeq stores 0 as NULL.
func nullSeq(s shared.Seq) any {
	if s == 0 {
		return nil
	}
	return int64(s)
}

// fileID stores a message's file as its id, or NULL.
func fileID(f *shared.FileInfo) any {
	if f == nil {
		return nil
	}
	return f.ID
}

// joinIDs stores a list of display ids (which hold no spaces) as one
// space-separated string, or NULL when empty.
func joinIDs(ids []string) any {
	if len(ids) == 0 {
		return nil
	}
	return strings.Join(ids, " ")
}

// LastSeq returns the highest seq committed so far, 0 if none. Deleted
// events do not lower it. It reads memory only; after Close it still
// answers with the last value.
func (s *Store) LastSeq() shared.Seq { return shared.Seq(s.committed.Load()) }
