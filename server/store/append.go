package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"chatapp/shared"
)

// appendReq is one Append waiting for the committer. done has room for the
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
// (the batch's commit time, UTC milliseconds, shared.FormatTime); the other
// fields are stored as given. Sender and Recipient are display ids; they are
// matched by their case-folded keys.
//
// If m.CID is not empty and the sender already has a message with that cid
// (stored earlier or earlier in the same batch), nothing is stored and the
// first message is returned with dup=true.
//
// A groupchat message to a room that does not exist when its batch commits
// is refused with ErrNotFound, so a message cannot outlive a concurrent
// DeleteRoom.
//
// If ctx ends before the message is queued, it is not stored. If ctx ends
// while it waits for its batch, Append returns ctx.Err() but the message
// may still be stored and delivered through OnCommit; a retry with the same
// cid is then answered as a dup. After Close, Append returns ErrClosed.
func (s *Store) Append(ctx context.Context, m shared.Message) (stored shared.Message, dup bool, err error) {
	return s.AppendFrom(ctx, m, nil)
}

// AppendFrom is Append with an origin, any value that identifies where the
// message came from (the server passes the sending socket); it is handed
// back with the message to Options.OnCommitFrom.
func (s *Store) AppendFrom(ctx context.Context, m shared.Message, origin any) (stored shared.Message, dup bool, err error) {
	if m.Command != shared.CommandChat && m.Command != shared.CommandGroupchat {
		return shared.Message{}, false, fmt.Errorf("store: append: unknown command %q", m.Command)
	}
	if m.Sender == "" || m.Recipient == "" {
		return shared.Message{}, false, errors.New("store: append: empty sender or recipient")
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

// committer is the one goroutine that writes messages. It takes the first
// waiting request, then whatever else is already queued, up to maxBatch,
// and commits them in one transaction: one fsync for the whole batch.
// Requests queue up while a commit is in progress, so batches grow with the
// load. It returns when reqs is closed and drained.
func (s *Store) committer() {
	defer close(s.committerDone)
	c := &commitState{
		last:    s.committed.Load(),
		batch:   make([]*appendReq, 0, s.maxBatch),
		results: make([]appendResult, 0, s.maxBatch),
		inBatch: make(map[string]int),
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
	inBatch  map[string]int // sender key NUL cid → index in batch of the message holding it
	origins  []any          // origin of each new message, parallel to writeBatch's fresh
}

// commit writes c.batch, then hands the new messages to OnCommit, then
// wakes the callers. If the transaction fails every caller of the batch
// gets the error and OnCommit is not called.
func (s *Store) commit(c *commitState) {
	fresh, next, err := s.writeBatch(c)
	if err != nil {
		err = fmt.Errorf("store: append: %w", err)
		s.log.Error("store: commit batch", "messages", len(c.batch), "err", err)
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
	c.last = next
	s.committed.Store(next)
	s.batches.Add(1)
	s.appended.Add(int64(len(fresh)))
	s.dups.Add(int64(len(c.batch) - len(fresh) - countErrors(c.results)))
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("store: batch committed", "messages", len(c.batch), "new", len(fresh), "seq", next)
	}
	if len(fresh) > 0 {
		switch {
		case s.onCommitFrom != nil:
			s.onCommitFrom(fresh, c.origins)
		case s.onCommit != nil:
			s.onCommit(fresh)
		}
	}
	for i, r := range c.batch {
		r.done <- c.results[i]
	}
}

func countErrors(rs []appendResult) int {
	n := 0
	for _, r := range rs {
		if r.err != nil {
			n++
		}
	}
	return n
}

// writeBatch runs the batch's transaction. It fills c.results and returns
// the new messages in seq order and the last seq assigned.
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
	ins := tx.StmtContext(ctx, s.insertMsg)
	var sel, room *sql.Stmt

	fresh = make([]shared.Message, 0, len(c.batch))
	c.origins = make([]any, 0, len(c.batch))
	next = c.last
	for i, r := range c.batch {
		m := r.msg
		senderKey := shared.Fold(m.Sender)
		var cidKey string
		if m.CID != "" {
			cidKey = senderKey + "\x00" + m.CID
			// An earlier message of this batch with the cid: the SELECT
			// below would find it too (same transaction); this skips it.
			if j, ok := c.inBatch[cidKey]; ok {
				c.results[i] = appendResult{msg: c.results[j].msg, dup: true}
				continue
			}
			if sel == nil {
				sel = tx.StmtContext(ctx, s.selectCID)
			}
			var first shared.Message
			err := scanMessage(sel.QueryRowContext(ctx, senderKey, m.CID), &first)
			if err == nil {
				c.results[i] = appendResult{msg: first, dup: true}
				c.inBatch[cidKey] = i
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, 0, fmt.Errorf("look up cid: %w", err)
			}
		}
		recipientKey := shared.Fold(m.Recipient)
		if m.Command == shared.CommandGroupchat {
			if room == nil {
				room = tx.StmtContext(ctx, s.roomExists)
			}
			var one int
			err := room.QueryRowContext(ctx, recipientKey).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				c.results[i] = appendResult{err: fmt.Errorf("store: append: room %q: %w", m.Recipient, ErrNotFound)}
				continue
			}
			if err != nil {
				return nil, 0, fmt.Errorf("look up room: %w", err)
			}
		}
		next++
		m.Seq, m.Time = shared.Seq(next), ts
		if _, err := ins.ExecContext(ctx, next, ts, m.Sender, senderKey, m.Recipient, recipientKey,
			m.Command, m.Type, m.Data, m.CID); err != nil {
			return nil, 0, fmt.Errorf("insert: %w", err)
		}
		c.results[i] = appendResult{msg: m}
		fresh = append(fresh, m)
		c.origins = append(c.origins, r.origin)
		if cidKey != "" {
			c.inBatch[cidKey] = i
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	return fresh, next, nil
}

// LastSeq returns the highest seq committed so far, 0 if none. Deleted
// messages do not lower it. It reads memory only; after Close it still
// answers with the last value.
func (s *Store) LastSeq() shared.Seq { return shared.Seq(s.committed.Load()) }
