package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A sign-up stores the account and its first token together; one that
// loses to an existing id stores neither.
func TestCreateUserToken(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := s.CreateUserToken(ctx, User{ID: "Alice", Alias: "A", Hash: []byte("h")}, []byte("token-1"), exp); err != nil {
		t.Fatal(err)
	}
	u, err := s.TokenUser(ctx, []byte("token-1"), time.Now())
	if err != nil || u.ID != "Alice" || u.Alias != "A" || string(u.Hash) != "h" {
		t.Fatalf("token user: %+v %v", u, err)
	}
	if u, err := s.User(ctx, "alice"); err != nil || u.ID != "Alice" {
		t.Fatalf("user: %+v %v", u, err)
	}
	err = s.CreateUserToken(ctx, User{ID: "ALICE", Hash: []byte("other")}, []byte("token-2"), exp)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second sign-up: %v, want ErrExists", err)
	}
	if _, err := s.TokenUser(ctx, []byte("token-2"), time.Now()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the losing sign-up's token: %v, want ErrNotFound", err)
	}
	if u, _ := s.User(ctx, "alice"); string(u.Hash) != "h" {
		t.Fatalf("the account changed: %+v", u)
	}
	if err := s.CreateUserToken(ctx, User{ID: "bob"}, nil, exp); err == nil {
		t.Fatal("an empty token hash was accepted")
	}
	if _, err := s.User(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob: %v, want ErrNotFound", err)
	}
}
