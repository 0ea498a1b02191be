package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Revocation is one entry of the revocation log: sessions that ended by a
// change made in some process (a logout in a server, 'chatapp user
// passwd', 'user logout' or 'user del' in the admin CLI). Running servers
// read the log (Revocations) and disconnect the sockets it names, so a
// change made anywhere reaches every open socket; a cluster store keeps
// the same log for its nodes.
type Revocation struct {
	Seq  int64
	User string // folded id
	// Token is the hash of the one token revoked; nil: every session of
	// User.
	Token []byte
	// Deleted: the account itself was deleted (its rooms may have passed
	// to other owners or gone).
	Deleted bool
}

// revocationsAfterSQL reads the log after a seq through its primary key.
const revocationsAfterSQL = `SELECT seq, user_key, token, deleted FROM revocations
	WHERE seq > ? ORDER BY seq LIMIT ?`

// logRevocation appends to the revocation log in tx, the transaction of
// the change.
func logRevocation(ctx context.Context, tx *sql.Tx, userKey string, token []byte, deleted bool) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO revocations (user_key, token, deleted, time) VALUES (?, ?, ?, ?)`,
		userKey, token, deleted, time.Now().UnixMilli())
	return err
}

// LastRevocation returns the seq of the newest revocation logged, 0 if
// none: a server starts reading the log after it, since what came before
// is already in the state it loads.
func (s *Store) LastRevocation(ctx context.Context) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var last int64
	err := s.r.QueryRowContext(ctx, `SELECT max(
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'revocations'), 0),
		coalesce((SELECT max(seq) FROM revocations), 0))`).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("store: last revocation: %w", err)
	}
	return last, nil
}

// Revocations returns at most limit revocations logged after seq after,
// oldest first: one indexed read, cheap enough to poll every second.
func (s *Store) Revocations(ctx context.Context, after int64, limit int) ([]Revocation, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	rows, err := s.revsAfter.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer rows.Close()
	var list []Revocation
	for rows.Next() {
		var r Revocation
		if err := rows.Scan(&r.Seq, &r.User, &r.Token, &r.Deleted); err != nil {
			return nil, fmt.Errorf("store: revocations: %w", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	return list, nil
}

// DeleteRevocationsBefore prunes the log of entries older than t and
// returns how many there were. Servers read the log every second; an
// entry a day old has long been seen.
func (s *Store) DeleteRevocationsBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM revocations WHERE time < ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: prune revocations: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
