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

const msgCols = `seq, time, sender, recipient, command, type, data, cid`

func scanMessage(row interface{ Scan(...any) error }, m *shared.Message) error {
	return row.Scan(&m.Seq, &m.Time, &m.Sender, &m.Recipient, &m.Command, &m.Type, &m.Data, &m.CID)
}

// allKey is the recipient key of messages to everyone.
var allKey = shared.Fold(shared.All)

// The messages visible to user U (PROTOCOL.md section 6) are the union of
// four disjoint sets, each read in seq order from an index:
//
//	chat to U (including U's messages to self)    messages_recipient
//	chat to ALL                                    messages_recipient
//	chat from U to another user                    messages_sender
//	groupchat to a room U is a member of           members_user, messages_recipient
//
// SQLite merges the arms of a UNION ALL ... ORDER BY seq without sorting the
// whole; the rooms arm alone is sorted (bounded by its LIMIT) because it
// reads several rooms. Parameters: ?1 U's key, ?2 after, ?3 upto, ?4 limit.
var visibleArms = []string{
	`FROM messages WHERE recipient_key = ?1 AND command = 'chat' AND ?1 <> '` + allKey + `'`,
	`FROM messages WHERE recipient_key = '` + allKey + `' AND command = 'chat'`,
	`FROM messages WHERE sender_key = ?1 AND command = 'chat'
		AND recipient_key <> ?1 AND recipient_key <> '` + allKey + `'`,
	`FROM members mb JOIN messages m ON m.recipient_key = mb.room_key AND m.command = 'groupchat'
		WHERE mb.user_key = ?1`,
}

// visibleSQL is the union of the arms in order dir with at most ?4 rows,
// each arm limited to ?4 too.
func visibleSQL(cols, dir string) string {
	var b strings.Builder
	for i, arm := range visibleArms {
		if i > 0 {
			b.WriteString("\nUNION ALL ")
		}
		if strings.HasPrefix(arm, "FROM members") {
			// Several rooms: not in seq order, so sort, keeping only ?4.
			c := "m." + strings.ReplaceAll(cols, ", ", ", m.")
			fmt.Fprintf(&b, "SELECT * FROM (SELECT %s %s AND m.seq > ?2 AND m.seq <= ?3 ORDER BY m.seq %s LIMIT ?4)", c, arm, dir)
			continue
		}
		// In seq order from the index; the merge reads only what it needs.
		fmt.Fprintf(&b, "SELECT %s %s AND seq > ?2 AND seq <= ?3", cols, arm)
	}
	fmt.Fprintf(&b, "\nORDER BY seq %s LIMIT ?4", dir)
	return b.String()
}

var (
	sinceSQL = visibleSQL(msgCols, "ASC")
	// The smallest of the newest ?4: the ?4-th newest, or the oldest if
	// there are fewer.
	nthNewestSQL = "SELECT min(seq) FROM (" + visibleSQL("seq", "DESC") + ")"
	countSQL     = countVisibleSQL()
)

// countVisibleSQL counts at most ?4 visible messages; the arms need no
// order, so the count stops as soon as it has ?4.
func countVisibleSQL() string {
	var b strings.Builder
	b.WriteString("SELECT count(*) FROM (")
	for i, arm := range visibleArms {
		if i > 0 {
			b.WriteString("\nUNION ALL ")
		}
		col := "seq"
		if strings.HasPrefix(arm, "FROM members") {
			col = "m.seq"
		}
		fmt.Fprintf(&b, "SELECT %s %s AND %s > ?2 AND %s <= ?3", col, arm, col, col)
	}
	b.WriteString("\nLIMIT ?4)")
	return b.String()
}

// Since returns the messages visible to user with after < seq <= upto,
// oldest first, at most limit of them; more reports whether there are more
// in the range after the last one returned. The slice is never nil.
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
	defer rows.Close()
	msgs = make([]shared.Message, 0, min(limit+1, 64))
	for rows.Next() {
		msgs = append(msgs, shared.Message{})
		if err := scanMessage(rows, &msgs[len(msgs)-1]); err != nil {
			return nil, false, fmt.Errorf("store: since: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store: since: %w", err)
	}
	if len(msgs) > limit {
		return msgs[:limit], true, nil
	}
	return msgs, false, nil
}

// CountSince counts the messages visible to user with after < seq <= upto.
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

// NthNewest returns the seq of the n-th newest message visible to user with
// after < seq <= upto: the first message of a replay capped at the newest n.
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

// LastVisibleSeq returns the newest seq visible to user, 0 if none: the
// offset a login answers with.
func (s *Store) LastVisibleSeq(ctx context.Context, user string) (shared.Seq, error) {
	seq, err := s.NthNewest(ctx, user, 0, math.MaxInt64, 1)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: last visible seq: %w", err)
	}
	return seq, nil
}

// History queries, newest first: ?3 before (exclusive), ?4 limit.
const (
	// Room ?1 (command ?2 groupchat) or ALL (?1 'all', command ?2 chat).
	historyToSQL = `SELECT ` + msgCols + ` FROM messages
		WHERE recipient_key = ?1 AND command = ?2 AND seq < ?3
		ORDER BY seq DESC LIMIT ?4`
	// Between users ?1 and ?2, both directions, each in seq order from
	// messages_pair; the second arm is empty for messages to self.
	historyBetweenSQL = `SELECT ` + msgCols + ` FROM messages
			WHERE sender_key = ?1 AND recipient_key = ?2 AND command = 'chat' AND seq < ?3
		UNION ALL SELECT ` + msgCols + ` FROM messages
			WHERE sender_key = ?2 AND recipient_key = ?1 AND command = 'chat' AND seq < ?3 AND ?1 <> ?2
		ORDER BY seq DESC LIMIT ?4`
)

// HistoryQuery selects a page of one conversation.
type HistoryQuery struct {
	User    string     // who asks; the other side of a chat conversation
	Command string     // shared.CommandChat or shared.CommandGroupchat
	Target  string     // room id (groupchat), user id or ALL (chat)
	Before  shared.Seq // only seq < Before; 0 means no bound
	Limit   int        // at most this many; 0 or less means shared.DefaultLimit
}

// History returns the newest Limit messages of a conversation with
// seq < Before, oldest first:
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
	limit := q.Limit
	if limit <= 0 {
		limit = shared.DefaultLimit
	}
	before := int64(q.Before)
	if before <= 0 {
		before = math.MaxInt64
	}
	user, target := shared.Fold(q.User), shared.Fold(q.Target)

	var query string
	var args []any
	switch {
	case q.Command == shared.CommandGroupchat || q.Command == shared.CommandChat && target == allKey:
		query = historyToSQL
		args = []any{target, q.Command, before, limit}
	case q.Command == shared.CommandChat:
		query = historyBetweenSQL
		args = []any{user, target, before, limit}
	default:
		return nil, fmt.Errorf("store: history: unknown command %q", q.Command)
	}

	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	defer rows.Close()
	msgs := make([]shared.Message, 0, min(limit, 64))
	for rows.Next() {
		msgs = append(msgs, shared.Message{})
		if err := scanMessage(rows, &msgs[len(msgs)-1]); err != nil {
			return nil, fmt.Errorf("store: history: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	slices.Reverse(msgs)
	return msgs, nil
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
