package store

import (
	"reflect"
	"slices"
	"testing"
	"time"
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

	if err := s.DeleteUser(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, "alice"), ErrNotFound)
	_, err := s.User(ctx, "alice")
	wantErr(t, "User after delete", err, ErrNotFound)
	_, err = s.TokenUser(ctx, []byte("a"), time.Now())
	wantErr(t, "TokenUser after DeleteUser", err, ErrNotFound)

	rooms, err := s.Rooms(ctx)
	if err != nil || len(rooms) != 2 {
		t.Fatalf("Rooms = %+v, %v", rooms, err)
	}
	for _, r := range rooms {
		if !slices.Equal(r.Members, []string{"bob"}) {
			t.Errorf("room %s members = %v, want [bob]", r.ID, r.Members)
		}
	}
	if rooms[1].ID != "home" || rooms[1].Owner != "Alice" {
		t.Errorf("owned room after DeleteUser = %+v, want kept with owner Alice", rooms[1])
	}
	msgs, _, err := s.Since(ctx, "bob", 0, s.LastSeq(), 10)
	if err != nil || len(msgs) != 1 || !reflect.DeepEqual(msgs[0], m) {
		t.Fatalf("bob's messages after DeleteUser = %+v, %v", msgs, err)
	}
	// The id is free again.
	mustUser(t, s, "alice")
}
