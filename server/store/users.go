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

// CreateUser stores a new account; ErrExists if the id is taken in any case.
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
// that logs in. ErrExists if the id is taken in any case; then no token
// is stored either.
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

// insertUser inserts u through db (the writer or a transaction on it);
// ErrExists if the id is taken in any case.
func insertUser(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, u User) error {
	if u.ID == "" {
		return errors.New("empty id")
	}
	if u.Hash == nil {
		u.Hash = []byte{} // NOT NULL
	}
	res, err := db.ExecContext(ctx, `INSERT INTO users (id_key, id, hash, alias, today, created)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		shared.Fold(u.ID), u.ID, u.Hash, u.Alias, u.Today, shared.FormatTime(nowMillis()))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrExists
	}
	return nil
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
// in one transaction; ErrNotFound if there is no such user.
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
		_, err = tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_key = ?`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password %q: %w", id, err)
	}
	return nil
}

// DeleteUser deletes the account with its tokens and memberships. Rooms it
// owns and messages it sent or received stay. ErrNotFound if there is none.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.live(); err != nil {
		return err
	}
	// Tokens and members go by ON DELETE CASCADE.
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id_key = ?`, shared.Fold(id))
	if err != nil {
		return fmt.Errorf("store: delete user %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete user %q: %w", id, ErrNotFound)
	}
	return nil
}

// CreateToken stores a session token's hash for userID until expires.
// ErrNotFound if there is no such user, ErrExists if the hash is taken.
func (s *Store) CreateToken(ctx context.Context, tokenHash []byte, userID string, expires time.Time) error {
	if err := s.live(); err != nil {
		return err
	}
	if len(tokenHash) == 0 {
		return errors.New("store: create token: empty hash")
	}
	key := shared.Fold(userID)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, user_key, expires)
			SELECT ?, id_key, ? FROM users WHERE id_key = ? ON CONFLICT DO NOTHING`,
			tokenHash, expires.UnixMilli(), key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id_key = ?`, key).Scan(&one); {
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

// DeleteToken revokes a token. Revoking an unknown token is not an error.
func (s *Store) DeleteToken(ctx context.Context, tokenHash []byte) error {
	if err := s.live(); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, tokenHash); err != nil {
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
