package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"chatapp/shared"
)

// conversationsSQL is a login's conversations list (PROTOCOL.md 4.1) for
// user ?1, newest first, at most ?2: the inner query finds each visible
// conversation's newest event (one seek on events_conv) and the user's
// side, sorts and cuts; the outer one reads, for those only, the message
// count at the newest event (one seek), and when something is newer than
// the read mark, the deleted messages of others after it (a short range
// of events_deleted) and the user's mentions after it (a short range of
// mentions, at most MaxUnread).
var conversationsSQL = `SELECT x.conv, x.peer, x.room, x.last, x.read_seq, x.read_ord, x.own_after,
	coalesce((SELECT ord FROM events WHERE seq = x.last), 0),
	CASE WHEN x.last > x.read_seq THEN (SELECT count(*) FROM events INDEXED BY events_deleted
		WHERE conv = x.conv AND deleted = 1 AND seq > x.read_seq AND sender_key <> ?1) ELSE 0 END,
	CASE WHEN x.last > x.read_seq THEN (SELECT count(*) FROM (SELECT 1 FROM mentions
		WHERE user_key = ?1 AND conv = x.conv AND seq > x.read_seq LIMIT ` + fmt.Sprint(shared.MaxUnread) + `)) ELSE 0 END
FROM (
	SELECT c.conv, coalesce(uc.peer, '') AS peer, coalesce(r.id, '') AS room,
		coalesce((SELECT max(seq) FROM events WHERE conv = c.conv), 0) AS last,
		coalesce(uc.read_seq, 0) AS read_seq, coalesce(uc.read_ord, 0) AS read_ord,
		coalesce(uc.own_after, 0) AS own_after
	FROM (` + visibleConvsSQL + `) c
	LEFT JOIN user_convs uc ON uc.user_key = ?1 AND uc.conv = c.conv
	LEFT JOIN rooms r ON c.conv LIKE 'r:%' AND r.id_key = substr(c.conv, 3)
	ORDER BY last DESC, c.conv LIMIT ?2
) x`

// Conversations returns user's conversations (PROTOCOL.md 4.1), newest
// first, at most max: ALL, every room the user is a member of (with "0"
// as last when it has no events), and every direct conversation the user
// has (notes to self included), each with its newest event, the user's
// read mark and the counts of unread messages and mentions after it, each
// at most shared.MaxUnread. offset is the newest seq the user can see (0
// if none): the first conversation's last.
//
// unread is the messages after the mark less the user's own and the
// deleted ones of others: (ord at last − ord at the mark) − own_after −
// deleted after the mark.
func (s *Store) Conversations(ctx context.Context, user string, max int) (convs []shared.Conversation, offset shared.Seq, err error) {
	if err := s.live(); err != nil {
		return nil, 0, err
	}
	rows, err := s.conversations.QueryContext(ctx, shared.Fold(user), max)
	if err != nil {
		return nil, 0, fmt.Errorf("store: conversations: %w", err)
	}
	defer rows.Close()
	convs = make([]shared.Conversation, 0, 16)
	for rows.Next() {
		var conv Conv
		var peer, room string
		var last, readSeq, readOrd, ownAfter, lastOrd, deleted, mentions int64
		if err := rows.Scan(&conv, &peer, &room, &last, &readSeq, &readOrd, &ownAfter, &lastOrd, &deleted, &mentions); err != nil {
			return nil, 0, fmt.Errorf("store: conversations: %w", err)
		}
		c := shared.Conversation{Command: conv.Command(), Last: shared.Seq(last), Read: shared.Seq(readSeq), Mentions: int(mentions)}
		switch {
		case conv == ConvAll:
			c.Target = shared.All
		case conv.IsRoom():
			c.Target = room
		default:
			c.Target = peer
		}
		if last > readSeq {
			c.Unread = int(min(max64(lastOrd-readOrd-ownAfter-deleted, 0), shared.MaxUnread))
		}
		convs = append(convs, c)
		offset = shared.Seq(max64(int64(offset), last))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: conversations: %w", err)
	}
	return convs, offset, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// SetRead moves user's read mark of conversation conv forward to seq, the
// seq of an event of conv (ErrNotFound otherwise). A mark at or past seq
// stays: moved is false and nothing is written. The mark stores the ord
// at seq and recounts the user's own messages after it, which the
// conversations list subtracts from the unread count.
func (s *Store) SetRead(ctx context.Context, user string, conv Conv, seq shared.Seq) (moved bool, err error) {
	if err := s.live(); err != nil {
		return false, err
	}
	userKey := shared.Fold(user)
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var evConv Conv
		var ord int64
		err := tx.QueryRowContext(ctx, `SELECT conv, ord FROM events WHERE seq = ?`, int64(seq)).Scan(&evConv, &ord)
		if errors.Is(err, sql.ErrNoRows) || err == nil && evConv != conv {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var readSeq, lastOwn int64
		err = tx.QueryRowContext(ctx, `SELECT read_seq, last_own FROM user_convs WHERE user_key = ? AND conv = ?`,
			userKey, string(conv)).Scan(&readSeq, &lastOwn)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if int64(seq) <= readSeq {
			return nil
		}
		var ownAfter int64
		if lastOwn > int64(seq) {
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events INDEXED BY events_conv
				WHERE conv = ? AND seq > ? AND sender_key = ? AND command IN ('chat', 'groupchat')`,
				string(conv), int64(seq), userKey).Scan(&ownAfter)
			if err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_convs (user_key, conv, read_seq, read_ord, own_after)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_key, conv) DO UPDATE
			SET read_seq = excluded.read_seq, read_ord = excluded.read_ord, own_after = excluded.own_after`,
			userKey, string(conv), int64(seq), ord, ownAfter)
		moved = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: read %s %d: %w", conv, seq, err)
	}
	return moved, nil
}
