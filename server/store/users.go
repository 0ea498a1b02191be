package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"chatapp/shared"
)

// User is an account. ID is the display id, in the case it was created
// with. Hash is the password hash, opaque to the store.
type User struct {
	ID, Alias, Today string
	Hash             []byte
}

const userCols = `id, alias, today, hash`

// The queries of a login and of a session resume, prepared at Open.
const (
	userSQL      = `SELECT ` + userCols + ` FROM users WHERE id_key = ?`
	tokenUserSQL = `SELECT u.id, u.alias, u.today, u.hash
		FROM tokens t JOIN users u ON u.id_key = t.user_key
		WHERE t.hash = ? AND t.expires > ?`
)

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Alias, &u.Today, &u.Hash)
	return u, err
}

// User returns the account with id, in any case, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	if err := s.live(); err != nil {
		return User{}, err
	}
	u, err := scanUser(s.user.QueryRowContext(ctx, shared.Fold(id)))
	if errors.Is(err, sql.ErrNoRows) {
		// Only a miss pays for the second read.
		if deleted, err := isDeleted(ctx, s.r, shared.Fold(id)); err != nil {
			return User{}, fmt.Errorf("store: user %q: %w", id, err)
		} else if deleted {
			return User{}, fmt.Errorf("store: user %q: %w (%w)", id, ErrDeleted, ErrNotFound)
		}
		return User{}, fmt.Errorf("store: user %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", id, err)
	}
	return u, nil
}

// Users returns every account, sorted by case-folded id.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id_key`)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return users, nil
}

// CreateUser stores a new account; ErrExists if the id is taken in any
// case, ErrDeleted if it belonged to a deleted account.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	if err := s.live(); err != nil {
		return err
	}
	if err := insertUser(ctx, s.w, u); err != nil {
		return fmt.Errorf("store: create user %q: %w", u.ID, err)
	}
	return nil
}

// CreateUserToken stores a new account and a session token's hash for it
// until expires, in one transaction (one fsync rather than two): a sign-up
// that logs in. ErrExists if the id is taken in any case, ErrDeleted if
// it belonged to a deleted account; then no token is stored either.
func (s *Store) CreateUserToken(ctx context.Context, u User, tokenHash []byte, expires time.Time) error {
	if err := s.live(); err != nil {
		return err
	}
	if len(tokenHash) == 0 {
		return errors.New("store: create user: empty token hash")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, user_key, expires) VALUES (?, ?, ?)`,
			tokenHash, shared.Fold(u.ID), expires.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create user %q: %w", u.ID, err)
	}
	return nil
}

// execer is the writer or a transaction on it.
type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// insertUser inserts u through db; ErrExists if the id is taken in any
// case, ErrDeleted if it belonged to a deleted account. The check and the
// insert are one statement, so a concurrent deletion cannot slip between.
func insertUser(ctx context.Context, db execer, u User) error {
	if u.ID == "" {
		return errors.New("empty id")
	}
	if u.Hash == nil {
		u.Hash = []byte{} // NOT NULL
	}
	key := shared.Fold(u.ID)
	res, err := db.ExecContext(ctx, `INSERT INTO users (id_key, id, hash, alias, today, created)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM deleted_users WHERE id_key = ?1)
		ON CONFLICT DO NOTHING`,
		key, u.ID, u.Hash, u.Alias, u.Today, shared.FormatTime(nowMillis()))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if deleted, err := isDeleted(ctx, db, key); err != nil {
		return err
	} else if deleted {
		return ErrDeleted
	}
	return ErrExists
}

// isDeleted reports whether key is the folded id of a deleted account.
func isDeleted(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (bool, error) {
	var one int
	err := db.QueryRowContext(ctx, `SELECT 1 FROM deleted_users WHERE id_key = ?`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// UpdateProfile sets the alias and today fields that are not nil and
// returns the updated account; ErrNotFound if there is none.
func (s *Store) UpdateProfile(ctx context.Context, id string, alias, today *string) (User, error) {
	if err := s.live(); err != nil {
		return User{}, err
	}
	u, err := scanUser(s.w.QueryRowContext(ctx, `UPDATE users
		SET alias = coalesce(?, alias), today = coalesce(?, today)
		WHERE id_key = ? RETURNING `+userCols, alias, today, shared.Fold(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: update profile %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: update profile %q: %w", id, err)
	}
	return u, nil
}

// SetPassword replaces the password hash and revokes all the user's tokens,
// in one transaction that also logs the revocation (see Revocations);
// ErrNotFound if there is no such user.
func (s *Store) SetPassword(ctx context.Context, id string, hash []byte) error {
	if err := s.live(); err != nil {
		return err
	}
	if hash == nil {
		hash = []byte{}
	}
	key := shared.Fold(id)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET hash = ? WHERE id_key = ?`, hash, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return revokeAll(ctx, tx, key, false)
	})
	if err != nil {
		return fmt.Errorf("store: set password %q: %w", id, err)
	}
	return nil
}

// RevokeSessions revokes every session token of the user and logs the
// revocation, so that running servers disconnect the user's sockets;
// ErrNotFound if there is no such user.
func (s *Store) RevokeSessions(ctx context.Context, id string) error {
	if err := s.live(); err != nil {
		return err
	}
	key := shared.Fold(id)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id_key = ?`, key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return revokeAll(ctx, tx, key, false)
	})
	if err != nil {
		return fmt.Errorf("store: revoke sessions of %q: %w", id, err)
	}
	return nil
}

// revokeAll deletes the tokens of user key and logs that every session of
// the user ended (deleted: with the account).
func revokeAll(ctx context.Context, tx *sql.Tx, key string, deleted bool) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_key = ?`, key); err != nil {
		return err
	}
	return logRevocation(ctx, tx, key, nil, deleted)
}

// Deletion is what DeleteUser did besides deleting the account.
type Deletion struct {
	// Passed are the rooms the account owned that passed to their
	// longest-standing member: room display id → new owner's display id.
	Passed map[string]string
	// Emptied are the rooms the account owned that had no other member
	// and were deleted with their messages.
	Emptied []string
}

// DeleteUser deletes the account with its tokens and memberships, in one
// transaction. Its id stays reserved (ErrDeleted for CreateUser, User and
// a sign-up, in any case), and the messages it sent and received stay, so
// its partners keep their history. Each room it owned passes to the
// member who joined it first (ties by folded id), or is deleted with its
// messages when it has no other member. The revocation is logged for
// running servers (deleted=true). ErrNotFound if there is no such account.
func (s *Store) DeleteUser(ctx context.Context, id string) (Deletion, error) {
	if err := s.live(); err != nil {
		return Deletion{}, err
	}
	key := shared.Fold(id)
	d := Deletion{Passed: map[string]string{}}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var display string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id_key = ?`, key).Scan(&display)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_users (id_key, id, deleted) VALUES (?, ?, ?)`,
			key, display, shared.FormatTime(nowMillis())); err != nil {
			return err
		}
		if err := s.passRooms(ctx, tx, key, &d); err != nil {
			return err
		}
		if err := revokeAll(ctx, tx, key, true); err != nil {
			return err
		}
		// Memberships go by ON DELETE CASCADE.
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id_key = ?`, key)
		return err
	})
	if err != nil {
		return Deletion{}, fmt.Errorf("store: delete user %q: %w", id, err)
	}
	return d, nil
}

// passRooms gives each room owned by user key to its longest-standing
// other member, or deletes it when there is none; d records which.
func (s *Store) passRooms(ctx context.Context, tx *sql.Tx, key string, d *Deletion) error {
	// rooms.owner holds the display id; user ids are ASCII, so lower() is
	// their fold. Rooms are few; an admin's deletion may scan them.
	rows, err := tx.QueryContext(ctx, `SELECT id_key, id FROM rooms WHERE lower(owner) = ?`, key)
	if err != nil {
		return err
	}
	type room struct{ key, id string }
	var owned []room
	for rows.Next() {
		var r room
		if err := rows.Scan(&r.key, &r.id); err != nil {
			rows.Close()
			return err
		}
		owned = append(owned, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range owned {
		var heir string
		err := tx.QueryRowContext(ctx, `SELECT u.id FROM members m JOIN users u ON u.id_key = m.user_key
			WHERE m.room_key = ? AND m.user_key <> ? ORDER BY m.joined, m.user_key LIMIT 1`, r.key, key).Scan(&heir)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := s.deleteRoom(ctx, tx, r.key); err != nil {
				return err
			}
			d.Emptied = append(d.Emptied, r.id)
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE rooms SET owner = ? WHERE id_key = ?`, heir, r.key); err != nil {
				return err
			}
			d.Passed[r.id] = heir
		}
	}
	return nil
}

// DeletedUser is the id of a deleted account and when it was deleted.
type DeletedUser struct {
	ID, Deleted string // Deleted: shared.FormatTime
}

// DeletedUsers returns the reserved ids of deleted accounts, sorted by
// case-folded id.
func (s *Store) DeletedUsers(ctx context.Context) ([]DeletedUser, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, deleted FROM deleted_users ORDER BY id_key`)
	if err != nil {
		return nil, fmt.Errorf("store: deleted users: %w", err)
	}
	defer rows.Close()
	list := []DeletedUser{}
	for rows.Next() {
		var d DeletedUser
		if err := rows.Scan(&d.ID, &d.Deleted); err != nil {
			return nil, fmt.Errorf("store: deleted users: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: deleted users: %w", err)
	}
	return list, nil
}

// CreateToken stores a session token's hash for userID until expires.
// ErrNotFound if there is no such user, ErrExists if the hash is taken.
func (s *Store) CreateToken(ctx context.Context, tokenHash []byte, userID string, expires time.Time) error {
	return s.createToken(ctx, tokenHash, userID, nil, expires)
}

// CreateTokenIfHash is CreateToken for a login that checked the password
// against passwordHash: it stores the token only if that is still the
// account's hash. A password changed (or the account deleted) between the
// check and the token gives ErrNotFound, so no session outlives the
// revocation that the change made.
func (s *Store) CreateTokenIfHash(ctx context.Context, tokenHash []byte, userID string, passwordHash []byte, expires time.Time) error {
	if passwordHash == nil {
		passwordHash = []byte{}
	}
	return s.createToken(ctx, tokenHash, userID, passwordHash, expires)
}

// createToken stores the token; with a non-nil hash, only if it is the
// user's password hash.
func (s *Store) createToken(ctx context.Context, tokenHash []byte, userID string, hash []byte, expires time.Time) error {
	if err := s.live(); err != nil {
		return err
	}
	if len(tokenHash) == 0 {
		return errors.New("store: create token: empty hash")
	}
	key := shared.Fold(userID)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, user_key, expires)
			SELECT ?1, id_key, ?2 FROM users WHERE id_key = ?3 AND (?4 IS NULL OR hash = ?4)
			ON CONFLICT DO NOTHING`,
			tokenHash, expires.UnixMilli(), key, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id_key = ?1 AND (?2 IS NULL OR hash = ?2)`,
			key, hash).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		}
		return ErrExists
	})
	if err != nil {
		return fmt.Errorf("store: create token for %q: %w", userID, err)
	}
	return nil
}

// TokenUser returns the user of a token that has not expired at now;
// ErrNotFound if the token is unknown, revoked or expired.
func (s *Store) TokenUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error) {
	if err := s.live(); err != nil {
		return User{}, err
	}
	u, err := scanUser(s.tokenUser.QueryRowContext(ctx, tokenHash, now.UnixMilli()))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: token: %w", err)
	}
	return u, nil
}

// DeleteToken revokes a token and logs the revocation, so that running
// servers disconnect the sockets that use it (see Revocations). Revoking
// an unknown token is not an error and logs nothing.
func (s *Store) DeleteToken(ctx context.Context, tokenHash []byte) error {
	if err := s.live(); err != nil {
		return err
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var key string
		err := tx.QueryRowContext(ctx, `DELETE FROM tokens WHERE hash = ? RETURNING user_key`, tokenHash).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return logRevocation(ctx, tx, key, tokenHash, false)
	})
	if err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	return nil
}

// DeleteExpiredTokens deletes the tokens expired at now and returns how
// many there were. Expired tokens are already refused by TokenUser; this
// only reclaims their space, e.g. from a daily timer.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE expires <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// writeTx runs fn in a write transaction and commits it; any error from fn
// rolls back and is returned as is.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
