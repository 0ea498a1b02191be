package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"chatapp/shared"
)

// eventCols are the columns scanEvent reads, data last (see 003_v2.sql).
const eventCols = `seq, conv, time, sender, recipient, command, type, cid, ref, reply_to, mentions, ` +
	fileSQL + `, edited, deleted, on_, data`

// scanEvent reads an event row as it is delivered now: a message with its
// current text, or deleted without type, data and the rest, or a change
// with ref, of and (react) on. Reactions are added by the caller
// (addReactions). The event's conversation comes with it.
func scanEvent(row interface{ Scan(...any) error }) (shared.Message, Conv, error) {
	var m shared.Message
	var conv Conv
	var ref, replyTo, on sql.NullInt64
	var mentions, file, edited sql.NullString
	err := row.Scan(&m.Seq, &conv, &m.Time, &m.Sender, &m.Recipient, &m.Command, &m.Type, &m.CID,
		&ref, &replyTo, &mentions, &file, &edited, &m.Deleted, &on, &m.Data)
	if err != nil {
		return m, conv, err
	}
	if shared.IsChange(m.Command) {
		m.Type, m.CID = "", ""
		m.Ref, m.Of = shared.Seq(ref.Int64), conv.Command()
		if on.Valid {
			added := on.Int64 == 1
			m.On = &added
		}
		return m, conv, nil
	}
	if m.Deleted {
		m.Type, m.Data, m.CID = "", "", ""
		return m, conv, nil
	}
	m.ReplyTo = shared.Seq(replyTo.Int64)
	m.Edited = edited.String
	if mentions.Valid {
		m.Mentions = strings.Fields(mentions.String)
	}
	if file.Valid {
		m.File = fileInfo(file.String)
	}
	return m, conv, nil
}

// allKey is the recipient key of messages to everyone.
var allKey = shared.Fold(shared.All)

// visibleConvsSQL lists the conversations user ?1 sees (PROTOCOL.md
// section 6): every direct conversation they have a side of, ALL, and the
// rooms they are a member of now.
const visibleConvsSQL = `SELECT conv FROM user_convs WHERE user_key = ?1 AND ` + convRangeSQL + `
	UNION ALL SELECT '` + string(ConvAll) + `'
	UNION ALL SELECT 'r:' || room_key FROM members WHERE user_key = ?1`

// The events visible to user ?1 with ?2 < seq <= ?3: each visible
// conversation's range read from events_conv, at most ?4 rows.
// Parameters: ?1 the user's key, ?2 after, ?3 upto, ?4 limit.
const visibleRangeSQL = `FROM events INDEXED BY events_conv
	WHERE conv IN (` + visibleConvsSQL + `) AND seq > ?2 AND seq <= ?3`

var (
	sinceSQL = `SELECT ` + eventCols + ` ` + visibleRangeSQL + ` ORDER BY seq LIMIT ?4`
	// The smallest of the newest ?4: the ?4-th newest, or the oldest if
	// there are fewer.
	nthNewestSQL = `SELECT min(seq) FROM (SELECT seq ` + visibleRangeSQL + ` ORDER BY seq DESC LIMIT ?4)`
	// At most ?4: the count needs no order and stops there.
	countSQL = `SELECT count(*) FROM (SELECT 1 ` + visibleRangeSQL + ` LIMIT ?4)`
)

// Since returns the events visible to user with after < seq <= upto,
// oldest first, at most limit of them; more reports whether there are more
// in the range after the last one returned. Messages show their current
// state and reactions (history's form), changes follow in their own
// places. The slice is never nil.
func (s *Store) Since(ctx context.Context, user string, after, upto shared.Seq, limit int) (msgs []shared.Message, more bool, err error) {
	if err := s.live(); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		return nil, false, fmt.Errorf("store: since: limit %d, want > 0", limit)
	}
	msgs = []shared.Message{}
	if upto <= after {
		return msgs, false, nil
	}
	rows, err := s.since.QueryContext(ctx, shared.Fold(user), int64(after), int64(upto), limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("store: since: %w", err)
	}
	msgs, err = scanEvents(rows, min(limit+1, 64))
	if err != nil {
		return nil, false, fmt.Errorf("store: since: %w", err)
	}
	if len(msgs) > limit {
		msgs, more = msgs[:limit], true
	}
	if err := s.addReactions(ctx, msgs); err != nil {
		return nil, false, fmt.Errorf("store: since: %w", err)
	}
	return msgs, more, nil
}

// scanEvents reads every row and closes rows.
func scanEvents(rows *sql.Rows, capacity int) ([]shared.Message, error) {
	defer rows.Close()
	msgs := make([]shared.Message, 0, capacity)
	for rows.Next() {
		m, _, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// addReactions sets the Reactions of the live messages of msgs, sorted by
// seq (either way), from one read of the reactions in their seq range.
// Each emoji's users are in the order they reacted.
func (s *Store) addReactions(ctx context.Context, msgs []shared.Message) error {
	lo, hi := shared.Seq(math.MaxInt64), shared.Seq(0)
	for i := range msgs {
		if m := &msgs[i]; !m.Deleted && !shared.IsChange(m.Command) {
			lo, hi = min(lo, m.Seq), max(hi, m.Seq)
		}
	}
	if hi == 0 {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, emoji, user FROM reactions
		WHERE seq BETWEEN ? AND ? ORDER BY seq, emoji, time, user_key`, int64(lo), int64(hi))
	if err != nil {
		return err
	}
	defer rows.Close()
	bySeq := make(map[shared.Seq]*shared.Message, len(msgs))
	for i := range msgs {
		bySeq[msgs[i].Seq] = &msgs[i]
	}
	for rows.Next() {
		var seq shared.Seq
		var emoji, user string
		if err := rows.Scan(&seq, &emoji, &user); err != nil {
			return err
		}
		m := bySeq[seq]
		if m == nil || m.Deleted || shared.IsChange(m.Command) {
			continue // a message of the range that is not in msgs
		}
		if m.Reactions == nil {
			m.Reactions = map[string][]string{}
		}
		m.Reactions[emoji] = append(m.Reactions[emoji], user)
	}
	return rows.Err()
}

// CountSince counts the events visible to user with after < seq <= upto.
// It stops counting past max and then returns max+1.
func (s *Store) CountSince(ctx context.Context, user string, after, upto shared.Seq, max int) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	if upto <= after {
		return 0, nil
	}
	max = min(maxInt(max, 0), math.MaxInt32)
	var n int
	if err := s.count.QueryRowContext(ctx, shared.Fold(user), int64(after), int64(upto), max+1).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count since: %w", err)
	}
	return n, nil
}

// NthNewest returns the seq of the n-th newest event visible to user with
// after < seq <= upto: the first event of a replay capped at the newest n.
// If fewer than n are visible it returns the oldest visible one (the whole
// range fits under the cap); ErrNotFound if none is visible or n < 1.
func (s *Store) NthNewest(ctx context.Context, user string, after, upto shared.Seq, n int) (shared.Seq, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	if n < 1 || upto <= after {
		return 0, fmt.Errorf("store: nth newest: %w", ErrNotFound)
	}
	var seq sql.NullInt64
	if err := s.nthNewest.QueryRowContext(ctx, shared.Fold(user), int64(after), int64(upto), n).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: nth newest: %w", err)
	}
	if !seq.Valid {
		return 0, fmt.Errorf("store: nth newest: %w", ErrNotFound)
	}
	return shared.Seq(seq.Int64), nil
}

// lastVisibleSQL is the newest event of each conversation user ?1 sees,
// one seek on events_conv each.
const lastVisibleSQL = `SELECT max((SELECT max(seq) FROM events WHERE conv = c.conv)) FROM (` + visibleConvsSQL + `) c`

// LastVisibleSeq returns the newest seq visible to user, 0 if none: the
// offset a login answers with.
func (s *Store) LastVisibleSeq(ctx context.Context, user string) (shared.Seq, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var seq sql.NullInt64
	if err := s.r.QueryRowContext(ctx, lastVisibleSQL, shared.Fold(user)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: last visible seq: %w", err)
	}
	return shared.Seq(seq.Int64), nil
}

// historySQL is a page of one conversation's messages, newest first:
// ?1 conv, ?2 before (exclusive), ?3 limit. Changes are skipped.
const historySQL = `SELECT ` + eventCols + ` FROM events INDEXED BY events_conv
	WHERE conv = ?1 AND seq < ?2 AND command IN ('chat', 'groupchat')
	ORDER BY seq DESC LIMIT ?3`

// HistoryQuery selects a page of one conversation.
type HistoryQuery struct {
	User    string     // who asks; the other side of a chat conversation
	Command string     // shared.CommandChat or shared.CommandGroupchat
	Target  string     // room id (groupchat), user id or ALL (chat)
	Before  shared.Seq // only seq < Before; 0 means no bound
	Limit   int        // at most this many; 0 or less means shared.DefaultLimit
}

// History returns the newest Limit messages of a conversation with
// seq < Before, oldest first, as they are now (edited text, deleted ones
// without it, reactions):
//   - groupchat: the messages of room Target (membership is the caller's
//     check);
//   - chat with Target ALL: the messages to ALL;
//   - chat with another user: the messages between User and Target, both
//     directions; Target == User gives User's messages to self.
//
// The slice is never nil.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]shared.Message, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if q.Command != shared.CommandChat && q.Command != shared.CommandGroupchat {
		return nil, fmt.Errorf("store: history: unknown command %q", q.Command)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = shared.DefaultLimit
	}
	before := int64(q.Before)
	if before <= 0 {
		before = math.MaxInt64
	}
	conv := ConvOf(q.Command, q.User, q.Target)
	rows, err := s.r.QueryContext(ctx, historySQL, string(conv), before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	msgs, err := scanEvents(rows, min(limit, 64))
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	slices.Reverse(msgs)
	if err := s.addReactions(ctx, msgs); err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	return msgs, nil
}

// Event returns the event with seq as it is now (see Since), with
// ErrNotFound if there is none. Its conversation comes with it: handlers
// check who may see or change a message before they change it or reply
// to it.
func (s *Store) Event(ctx context.Context, seq shared.Seq) (shared.Message, Conv, error) {
	if err := s.live(); err != nil {
		return shared.Message{}, "", err
	}
	m, conv, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE seq = ?`, int64(seq)))
	if errors.Is(err, sql.ErrNoRows) {
		return shared.Message{}, "", fmt.Errorf("store: event %d: %w", seq, ErrNotFound)
	}
	if err != nil {
		return shared.Message{}, "", fmt.Errorf("store: event %d: %w", seq, err)
	}
	return m, conv, nil
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
