package app

import (
	"strings"
	"testing"

	"chatapp/shared"
)

// A token belongs to the server that issued it: pointing the client at
// another server connects there without it, and coming back uses it
// again (issue 18).
func TestService_TokenStaysWithItsServer(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	home, other := newFakeServer(t), newFakeServer(t)
	withSession(h, home, "home-token", "alice", 7)
	s := startTestService(t, h, home)
	fc := home.accept()
	fc.open(25000, 20000)
	fc.connect(`{"token":"home-token","offset":"7"}`)
	h.waitView(t, "logged in at home", func(v View) bool { return v.LoggedIn && v.State == stateConnected })

	s.Connect(other.url.Hostname(), other.url.Port())
	oc := other.accept()
	oc.open(25000, 20000)
	oc.connect("") // anonymous: the home token stays home
	h.waitView(t, "logged out on the other server", func(v View) bool { return !v.LoggedIn && v.Port == other.url.Port() })
	var t0 savedSession
	h.kv.Get(keySession+home.origin(), &t0)
	if t0.Token != "home-token" {
		t.Fatalf("the home session was changed: %+v", t0)
	}

	s.Connect("", home.url.Port()) // an empty host is the page's
	fc2 := home.accept()
	fc2.open(25000, 20000)
	fc2.connect(`{"token":"home-token","offset":"7"}`)
	h.waitView(t, "logged in at home again", func(v View) bool { return v.LoggedIn && v.Port == home.url.Port() })
}

// What an earlier version stored under one key moves to the keys of the
// origin it was for, and the token goes only there.
func TestService_MigratesTheOldSession(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	home, other := newFakeServer(t), newFakeServer(t)
	h.kv.Set("chatapp.session", map[string]any{
		"token": "old-token", "user": shared.Profile{ID: "alice"}, "offset": "3",
		"host": other.url.Hostname(), "port": other.url.Port(),
	})
	h.kv.Set("chatapp.outbox", []outgoing{{CID: "c1", Recipient: "bob", Command: shared.CommandChat, Data: "waiting"}})
	h.kv.Set("chatapp.cache", map[string]any{"owner": "alice", "convs": map[string]any{"all": []shared.Message{}}})
	startTestService(t, h, home)
	oc := other.accept() // the server the old session pointed at
	oc.open(25000, 20000)
	oc.connect(`{"token":"old-token","offset":"3"}`)
	r := oc.recvRequest(shared.EventMessage)
	if !strings.Contains(string(r.arg), `"cid":"c1"`) {
		t.Fatalf("the old outbox sent %s", r.arg)
	}
	for _, k := range []string{"chatapp.session", "chatapp.outbox", "chatapp.cache"} {
		var v any
		if h.kv.Get(k, &v); v != nil {
			t.Errorf("%s still stored: %v", k, v)
		}
	}
}
