package store

import (
	"context"
	"database/sql"
	"strings"

	"chatapp/shared"
)

// Conv is a conversation's key, the events.conv column (docs/STORAGE.md):
//
//	chat to ALL                          all
//	groupchat in room R                  r:Fold(R)
//	chat between users A and B           d:lo/hi, lo ≤ hi of Fold(A), Fold(B)
//
// A and B may be the same user (notes to self). User ids cannot contain
// "/", so a d: key splits back into its two users. Who may see a
// conversation follows from the key alone for all and d: (the user is one
// side) and from current membership for r:.
type Conv string

// ConvAll is the conversation of messages to ALL.
const ConvAll Conv = "all"

// RoomConv is the conversation of room id (any case).
func RoomConv(id string) Conv { return Conv("r:" + shared.Fold(id)) }

// DirectConv is the conversation between users a and b (any case, either
// order).
func DirectConv(a, b string) Conv {
	a, b = shared.Fold(a), shared.Fold(b)
	if b < a {
		a, b = b, a
	}
	return Conv("d:" + a + "/" + b)
}

// ConvOf is the conversation of a message with command chat or groupchat
// from sender to recipient (display ids, any case).
func ConvOf(command, sender, recipient string) Conv {
	switch {
	case command == shared.CommandGroupchat:
		return RoomConv(recipient)
	case shared.Fold(recipient) == allKey:
		return ConvAll
	default:
		return DirectConv(sender, recipient)
	}
}

// IsRoom reports whether c is a room's conversation.
func (c Conv) IsRoom() bool { return strings.HasPrefix(string(c), "r:") }

// IsDirect reports whether c is a conversation between two users (or a
// user's notes to self).
func (c Conv) IsDirect() bool { return strings.HasPrefix(string(c), "d:") }

// Users returns the folded ids of the two sides of a direct conversation
// (equal for notes to self); ok is false for other conversations.
func (c Conv) Users() (a, b string, ok bool) {
	if !c.IsDirect() {
		return "", "", false
	}
	return strings.Cut(string(c[2:]), "/")
}

// RoomKey returns the folded room id of a room's conversation.
func (c Conv) RoomKey() (string, bool) {
	if !c.IsRoom() {
		return "", false
	}
	return string(c[2:]), true
}

// Command is the command of the conversation's messages: groupchat for a
// room, chat otherwise (the "of" of a change event).
func (c Conv) Command() string {
	if c.IsRoom() {
		return shared.CommandGroupchat
	}
	return shared.CommandChat
}

// Has reports whether user (folded) is a side of a direct conversation or
// c is ALL: whether user may see c without room membership.
func (c Conv) Has(user string) bool {
	if c == ConvAll {
		return true
	}
	a, b, ok := c.Users()
	return ok && (a == user || b == user)
}

// convRange is the key range of a user's direct conversations in
// user_convs: conv >= 'd:' AND conv < 'd;' (';' follows ':').
const convRangeSQL = `conv >= 'd:' AND conv < 'd;'`

// deleteConv deletes conversation conv's events and everything derived
// from them (mentions, reactions, search rows, every user's read state)
// in tx, and moves the epoch that makes the committer drop its caches: its
// next batch begins after tx ends, on the same connection. Seqs are never
// reused: meta.last_seq stays.
func (s *Store) deleteConv(ctx context.Context, tx *sql.Tx, conv Conv) error {
	s.convEpoch.Add(1)
	rows, err := tx.QueryContext(ctx, `SELECT seq, mentions FROM events
		WHERE conv = ? AND mentions IS NOT NULL`, string(conv))
	if err != nil {
		return err
	}
	type mention struct {
		user string
		seq  int64
	}
	var ms []mention
	for rows.Next() {
		var seq int64
		var ids string
		if err := rows.Scan(&seq, &ids); err != nil {
			rows.Close()
			return err
		}
		for id := range strings.FieldsSeq(ids) {
			ms = append(ms, mention{shared.Fold(id), seq})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mentions WHERE user_key = ? AND conv = ? AND seq = ?`, m.user, string(conv), m.seq); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM reactions WHERE seq IN (SELECT seq FROM events WHERE conv = ?1)`,
		`DELETE FROM search WHERE rowid IN (SELECT seq FROM events WHERE conv = ?1)`,
		// user_convs has no index on conv: a room's deletion is rare, a
		// message is not.
		`DELETE FROM user_convs WHERE conv = ?1`,
		`DELETE FROM events WHERE conv = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, string(conv)); err != nil {
			return err
		}
	}
	return nil
}
