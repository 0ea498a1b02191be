package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"chatapp/shared"
)

// Room is a chat room. Owner is the display id of the user who created it
// (it stays when that account is deleted). Members are the display ids of
// the members, sorted by case-folded id.
type Room struct {
	ID, Name, Owner string
	Members         []string
}

// Rooms returns every room with its members, sorted by case-folded id in
// byte order, read in one consistent snapshot.
func (s *Store) Rooms(ctx context.Context) ([]Room, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	rooms, err := s.rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: rooms: %w", err)
	}
	return rooms, nil
}

func (s *Store) rooms(ctx context.Context) ([]Room, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, `SELECT id_key, id, name, owner FROM rooms ORDER BY id_key`)
	if err != nil {
		return nil, err
	}
	rooms := []Room{}
	var keys []string
	for rows.Next() {
		var key string
		var r Room
		if err := rows.Scan(&key, &r.ID, &r.Name, &r.Owner); err != nil {
			rows.Close()
			return nil, err
		}
		keys = append(keys, key)
		rooms = append(rooms, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Both lists are in room key order: merge.
	rows, err = tx.QueryContext(ctx, `SELECT m.room_key, u.id FROM members m
		JOIN users u ON u.id_key = m.user_key ORDER BY m.room_key, m.user_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var roomKey, member string
		if err := rows.Scan(&roomKey, &member); err != nil {
			return nil, err
		}
		for i < len(keys) && keys[i] < roomKey {
			i++
		}
		if i < len(keys) && keys[i] == roomKey {
			rooms[i].Members = append(rooms[i].Members, member)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range rooms {
		if rooms[i].Members == nil {
			rooms[i].Members = []string{}
		}
	}
	return rooms, nil
}

// CreateRoom creates a room owned by owner, who becomes its first member.
// ErrExists if the id is taken in any case; ErrNotFound if owner has no
// account.
func (s *Store) CreateRoom(ctx context.Context, id, name, owner string) error {
	if err := s.live(); err != nil {
		return err
	}
	if id == "" {
		return errors.New("store: create room: empty id")
	}
	key, ownerKey := shared.Fold(id), shared.Fold(owner)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var ownerID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id_key = ?`, ownerKey).Scan(&ownerID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("owner %q: %w", owner, ErrNotFound)
		}
		if err != nil {
			return err
		}
		created := shared.FormatTime(nowMillis())
		res, err := tx.ExecContext(ctx, `INSERT INTO rooms (id_key, id, name, owner, created)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			key, id, name, ownerID, created)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrExists
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO members (room_key, user_key, joined) VALUES (?, ?, ?)`, key, ownerKey, created)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create room %q: %w", id, err)
	}
	return nil
}

// RenameRoom sets a room's name; ErrNotFound if there is no such room.
func (s *Store) RenameRoom(ctx context.Context, id, name string) error {
	if err := s.live(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE rooms SET name = ? WHERE id_key = ?`, name, shared.Fold(id))
	if err != nil {
		return fmt.Errorf("store: rename room %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: rename room %q: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteRoom deletes a room, its membership and its events in one
// transaction; ErrNotFound if there is no such room. The seqs of the
// deleted events are never reused.
func (s *Store) DeleteRoom(ctx context.Context, id string) error {
	if err := s.live(); err != nil {
		return err
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error { return s.deleteRoom(ctx, tx, shared.Fold(id)) })
	if err != nil {
		return fmt.Errorf("store: delete room %q: %w", id, err)
	}
	return nil
}

// deleteRoom deletes room key, its membership and its messages in tx;
// ErrNotFound if there is no such room.
func (s *Store) deleteRoom(ctx context.Context, tx *sql.Tx, key string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM rooms WHERE id_key = ?`, key) // members cascade
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return s.deleteConv(ctx, tx, RoomConv(key))
}

// Join makes userID a member of roomID, from now on (a deleted owner's
// room passes to the member who joined first). Joining twice is not an
// error and keeps the first time.
// ErrNotFound if the room or the user does not exist.
func (s *Store) Join(ctx context.Context, roomID, userID string) error {
	if err := s.live(); err != nil {
		return err
	}
	roomKey, userKey := shared.Fold(roomID), shared.Fold(userID)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		// joined is strictly after the room's newest membership, so that
		// two joins within one millisecond keep their order.
		res, err := tx.ExecContext(ctx, `INSERT INTO members (room_key, user_key, joined)
			SELECT r.id_key, u.id_key, max(?, coalesce((SELECT strftime('%Y-%m-%dT%H:%M:%fZ', max(joined), '+0.001 seconds')
				FROM members WHERE room_key = r.id_key), ''))
			FROM rooms r, users u WHERE r.id_key = ? AND u.id_key = ?
			ON CONFLICT DO NOTHING`, shared.FormatTime(nowMillis()), roomKey, userKey)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// Already a member, or room or user missing.
		var room, user int
		err = tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM rooms WHERE id_key = ?),
			(SELECT count(*) FROM users WHERE id_key = ?)`, roomKey, userKey).Scan(&room, &user)
		switch {
		case err != nil:
			return err
		case room == 0:
			return fmt.Errorf("room: %w", ErrNotFound)
		case user == 0:
			return fmt.Errorf("user %q: %w", userID, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: join room %q: %w", roomID, err)
	}
	return nil
}

// Leave ends userID's membership of roomID. Leaving a room one is not a
// member of is not an error; ErrNotFound if the room does not exist.
func (s *Store) Leave(ctx context.Context, roomID, userID string) error {
	if err := s.live(); err != nil {
		return err
	}
	roomKey := shared.Fold(roomID)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM members WHERE room_key = ? AND user_key = ?`,
			roomKey, shared.Fold(userID))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM rooms WHERE id_key = ?`, roomKey).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: leave room %q: %w", roomID, err)
	}
	return nil
}
