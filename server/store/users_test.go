package store

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"chatapp/shared"
)

func TestUsers(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()

	if err := s.CreateUser(ctx, User{ID: "Alice", Alias: "A", Today: "hi", Hash: []byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"Alice", "alice", "ALICE"} {
		wantErr(t, "CreateUser "+id, s.CreateUser(ctx, User{ID: id, Hash: []byte{9}}), ErrExists)
	}
	mustUser(t, s, "bob", "Carol", "_zed", "0day")

	for _, id := range []string{"alice", "ALICE", "aLiCe"} {
		u, err := s.User(ctx, id)
		if err != nil || u.ID != "Alice" || u.Alias != "A" || u.Today != "hi" || string(u.Hash) != "\x01\x02" {
			t.Fatalf("User(%q) = %+v, %v", id, u, err)
		}
	}
	_, err := s.User(ctx, "nobody")
	wantErr(t, "User nobody", err, ErrNotFound)

	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	// Fold keys in byte order: '0' 0x30 < '_' 0x5F < 'a' 0x61.
	if want := []string{"0day", "_zed", "Alice", "bob", "Carol"}; !slices.Equal(ids, want) {
		t.Fatalf("Users order = %v, want %v", ids, want)
	}
}

func TestUpdateProfile(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "Alice")

	alias, today := "Ally", "busy"
	u, err := s.UpdateProfile(ctx, "ALICE", &alias, nil)
	if err != nil || u.ID != "Alice" || u.Alias != "Ally" || u.Today != "" {
		t.Fatalf("UpdateProfile alias = %+v, %v", u, err)
	}
	u, err = s.UpdateProfile(ctx, "alice", nil, &today)
	if err != nil || u.Alias != "Ally" || u.Today != "busy" {
		t.Fatalf("UpdateProfile today = %+v, %v", u, err)
	}
	empty := ""
	u, err = s.UpdateProfile(ctx, "alice", &empty, nil)
	if err != nil || u.Alias != "" || u.Today != "busy" {
		t.Fatalf("UpdateProfile clear alias = %+v, %v", u, err)
	}
	if got, _ := s.User(ctx, "alice"); got.Alias != "" || got.Today != "busy" {
		t.Fatalf("stored profile = %+v", got)
	}
	_, err = s.UpdateProfile(ctx, "nobody", &alias, nil)
	wantErr(t, "UpdateProfile nobody", err, ErrNotFound)
}

func TestTokens(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "Alice", "bob")
	now := time.Now()

	wantErr(t, "CreateToken unknown user", s.CreateToken(ctx, []byte("t0"), "nobody", now.Add(time.Hour)), ErrNotFound)
	if err := s.CreateToken(ctx, []byte("t1"), "alice", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CreateToken same hash", s.CreateToken(ctx, []byte("t1"), "bob", now.Add(time.Hour)), ErrExists)
	if err := s.CreateToken(ctx, []byte("t2"), "ALICE", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	u, err := s.TokenUser(ctx, []byte("t1"), now)
	if err != nil || u.ID != "Alice" {
		t.Fatalf("TokenUser = %+v, %v", u, err)
	}
	_, err = s.TokenUser(ctx, []byte("unknown"), now)
	wantErr(t, "TokenUser unknown", err, ErrNotFound)

	// Expired: at and after the expiry instant.
	_, err = s.TokenUser(ctx, []byte("t2"), now.Add(time.Minute))
	wantErr(t, "TokenUser at expiry", err, ErrNotFound)
	_, err = s.TokenUser(ctx, []byte("t2"), now.Add(2*time.Minute))
	wantErr(t, "TokenUser expired", err, ErrNotFound)
	if _, err := s.TokenUser(ctx, []byte("t2"), now.Add(59*time.Second)); err != nil {
		t.Fatalf("TokenUser before expiry: %v", err)
	}
	n, err := s.DeleteExpiredTokens(ctx, now.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredTokens = %d, %v; want 1", n, err)
	}

	if err := s.DeleteToken(ctx, []byte("t1")); err != nil {
		t.Fatal(err)
	}
	_, err = s.TokenUser(ctx, []byte("t1"), now)
	wantErr(t, "TokenUser after DeleteToken", err, ErrNotFound)
	if err := s.DeleteToken(ctx, []byte("t1")); err != nil {
		t.Fatalf("DeleteToken absent: %v", err)
	}
}

func TestSetPasswordRevokesTokens(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "Alice", "bob")
	now := time.Now()
	for _, tok := range []string{"a1", "a2"} {
		if err := s.CreateToken(ctx, []byte(tok), "alice", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateToken(ctx, []byte("b1"), "bob", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	if err := s.SetPassword(ctx, "ALICE", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ctx, "alice"); string(u.Hash) != "new" {
		t.Fatalf("hash after SetPassword = %q", u.Hash)
	}
	for _, tok := range []string{"a1", "a2"} {
		_, err := s.TokenUser(ctx, []byte(tok), now)
		wantErr(t, "TokenUser "+tok+" after SetPassword", err, ErrNotFound)
	}
	if _, err := s.TokenUser(ctx, []byte("b1"), now); err != nil {
		t.Fatalf("bob's token revoked by alice's SetPassword: %v", err)
	}
	wantErr(t, "SetPassword nobody", s.SetPassword(ctx, "nobody", []byte("x")), ErrNotFound)
}

func TestDeleteUser(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "Alice", "bob")
	mustRoom(t, s, "home", "alice", "bob")
	mustRoom(t, s, "bobs", "bob", "alice")
	if err := s.CreateToken(ctx, []byte("a"), "alice", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m := mustAppend(t, s, chat("alice", "bob", "hi"))

	d, err := s.DeleteUser(ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if d.Passed["home"] != "bob" || len(d.Passed) != 1 || len(d.Emptied) != 0 {
		t.Errorf("Deletion = %+v, want home passed to bob", d)
	}
	_, err = s.DeleteUser(ctx, "alice")
	wantErr(t, "DeleteUser again", err, ErrNotFound)
	_, err = s.User(ctx, "alice")
	wantErr(t, "User after delete", err, ErrNotFound)
	wantErr(t, "User after delete", err, ErrDeleted)
	_, err = s.TokenUser(ctx, []byte("a"), time.Now())
	wantErr(t, "TokenUser after DeleteUser", err, ErrNotFound)

	rooms, err := s.Rooms(ctx)
	if err != nil || len(rooms) != 2 {
		t.Fatalf("Rooms = %+v, %v", rooms, err)
	}
	for _, r := range rooms {
		if !slices.Equal(r.Members, []string{"bob"}) || r.Owner != "bob" {
			t.Errorf("room %s after DeleteUser = %+v, want bob owner and only member", r.ID, r)
		}
	}
	// Its messages stay under its id in its partner's history.
	msgs, _, err := s.Since(ctx, "bob", 0, s.LastSeq(), 10)
	if err != nil || len(msgs) != 1 || !reflect.DeepEqual(msgs[0], m) {
		t.Fatalf("bob's messages after DeleteUser = %+v, %v", msgs, err)
	}
	// The id stays reserved, in any case.
	for _, id := range []string{"alice", "ALICE", "aLiCe"} {
		wantErr(t, "CreateUser "+id, s.CreateUser(ctx, User{ID: id, Hash: []byte("x")}), ErrDeleted)
		wantErr(t, "CreateUserToken "+id, s.CreateUserToken(ctx, User{ID: id}, []byte("t-"+id), time.Now().Add(time.Hour)), ErrDeleted)
	}
	if users, _ := s.Users(ctx); len(users) != 1 {
		t.Fatalf("users after refused sign-ups: %+v", users)
	}
	del, err := s.DeletedUsers(ctx)
	if err != nil || len(del) != 1 || del[0].ID != "Alice" || del[0].Deleted == "" {
		t.Fatalf("DeletedUsers = %+v, %v", del, err)
	}
}

// TestDeleteUserPassesRoomsToLongestStanding: a deleted owner's room goes
// to the member who joined first, not the first by id; a room with no
// other member is deleted with its messages.
func TestDeleteUserPassesRoomsToLongestStanding(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "owner", "zed", "bob", "amy")
	mustRoom(t, s, "club", "owner")
	// No pause between the joins: within one millisecond they still
	// keep their order (zed first, though bob sorts first).
	for _, id := range []string{"zed", "bob"} {
		if err := s.Join(ctx, "club", id); err != nil {
			t.Fatal(err)
		}
	}
	mustRoom(t, s, "solo", "owner")
	mustRoom(t, s, "amys", "amy", "owner")
	mustAppend(t, s, shared.Message{Sender: "owner", Recipient: "solo", Command: shared.CommandGroupchat, Type: shared.TypeText, Data: "x"})
	kept := mustAppend(t, s, shared.Message{Sender: "owner", Recipient: "club", Command: shared.CommandGroupchat, Type: shared.TypeText, Data: "y"})

	d, err := s.DeleteUser(ctx, "owner")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Passed) != 1 || d.Passed["club"] != "zed" || !slices.Equal(d.Emptied, []string{"solo"}) {
		t.Fatalf("Deletion = %+v, want club to zed, solo emptied", d)
	}
	rooms, _ := s.Rooms(ctx)
	want := []Room{{ID: "amys", Name: "room amys", Owner: "amy", Members: []string{"amy"}},
		{ID: "club", Name: "room club", Owner: "zed", Members: []string{"bob", "zed"}}}
	if fmt.Sprint(rooms) != fmt.Sprint(want) {
		t.Fatalf("rooms = %+v, want %+v", rooms, want)
	}
	msgs, _, _ := s.Since(ctx, "zed", 0, s.LastSeq(), 10)
	if len(msgs) != 1 || !reflect.DeepEqual(msgs[0], kept) {
		t.Fatalf("zed sees %+v, want the club message", msgs)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE conv = 'r:solo'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d messages of the emptied room left", n)
	}
}
