package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"chatapp/server/store"
	"chatapp/shared"
)

func TestLoginCreatesAccountAndChecksPassword(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, r := ts.login("alice")
	if r.Command != "login" || len(r.Token) < 22 || r.User == nil || r.User.ID != "alice" || r.User.Alias != "Alias alice" || r.Offset != "0" {
		t.Fatalf("login answer: %+v", r)
	}
	a.close()

	b := ts.dial("b", nil)
	if r := b.req("login", map[string]any{"id": "ALICE", "password": "wrong-password"}); r.Code != "401" {
		t.Fatalf("wrong password: %+v", r)
	}
	r = b.req("login", map[string]any{"id": "Alice", "password": "secret-alice"})
	if r.Code != "200" || r.User.ID != "alice" {
		t.Fatalf("login in another case: %+v", r)
	}
	// The password is stored only as a slow salted hash.
	u, err := ts.st.User(t.Context(), "alice")
	if err != nil || strings.Contains(string(u.Hash), "secret") || !strings.HasPrefix(string(u.Hash), "$2") {
		t.Fatalf("stored hash %q, %v", u.Hash, err)
	}
}

func TestLoginValidation(t *testing.T) {
	ts := newTestServer(t, Config{})
	c := ts.dial("c", nil)
	long := strings.Repeat("x", 33)
	for _, tt := range []struct {
		payload any
		code    string
		field   string
	}{
		{map[string]any{"id": "", "password": "secret1"}, "400", "id"},
		{map[string]any{"id": long, "password": "secret1"}, "400", "id"},
		{map[string]any{"id": "bad id", "password": "secret1"}, "400", "id"},
		{map[string]any{"id": "all", "password": "secret1"}, "400", "id"},
		{map[string]any{"id": "ok", "password": "short"}, "400", "password"},
		{map[string]any{"id": "ok", "password": strings.Repeat("p", 129)}, "400", "password"},
		{map[string]any{"id": "ok", "password": "secret1", "alias": strings.Repeat("a", 65)}, "400", "alias"},
		{map[string]any{"id": "ok", "password": "secret1", "today": strings.Repeat("a", 141)}, "400", "today"},
		{map[string]any{"id": 42, "password": "secret1"}, "400", "id"},
		{map[string]any{"id": "ok", "password": "secret1", "offset": "x1"}, "400", "offset"},
		{"not an object", "400", "payload"},
	} {
		r := c.req("login", tt.payload)
		if r.Code != tt.code || !strings.Contains(r.Message, tt.field) {
			t.Errorf("login %v: got %+v, want %s naming %s", tt.payload, r, tt.code, tt.field)
		}
	}
	// Nothing was stored by the rejected requests.
	if users, _ := ts.st.Users(t.Context()); len(users) != 0 {
		t.Fatalf("rejected logins stored users: %v", users)
	}
}

func TestSignupClosed(t *testing.T) {
	ts := newTestServer(t, Config{SignupClosed: true})
	c := ts.dial("c", nil)
	if r := c.req("login", map[string]any{"id": "newbie", "password": "secret1"}); r.Code != "401" {
		t.Fatalf("closed sign-up: %+v", r)
	}
}

func TestUnknownEventsAndLoginRequired(t *testing.T) {
	ts := newTestServer(t, Config{})
	c := ts.dial("c", nil)
	if r := c.req("frobnicate", map[string]any{}); r.Code != "400" || r.Command != "frobnicate" {
		t.Fatalf("unknown event: %+v", r)
	}
	for _, ev := range []string{"message", "room", "history", "logout"} {
		if r := c.req(ev, map[string]any{}); r.Code != "401" || r.Command != ev {
			t.Errorf("%s before login: %+v", ev, r)
		}
	}
	// Without an ack id the answer is a response event.
	c.emit("message", map[string]any{"recepient": "x", "command": "chat", "type": "text", "data": "hi"}, false)
	var r shared.Response
	c.take("response", &r)
	if r.Command != "message" || r.Code != "401" {
		t.Fatalf("response event: %+v", r)
	}
}

func TestChatDirectSelfAndAll(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, _ := ts.login("alice")
	a2, _ := ts.login("alice") // a second device
	b, _ := ts.login("bob")

	r := a.req("message", map[string]any{"recepient": "BOB", "command": "chat", "type": "text", "data": "<b>hi</b> bob"})
	if r.Code != "200" || r.Seq == "" || r.Time == "" {
		t.Fatalf("send: %+v", r)
	}
	for _, c := range []*tc{b, a2} { // recipient, sender's other device
		m := c.message()
		if m.Sender != "alice" || m.Recipient != "bob" || m.Data != "<b>hi</b> bob" || m.Seq.String() != r.Seq || m.Time != r.Time || m.Command != "chat" || m.Type != "text" {
			t.Fatalf("%s got %+v", c.name, m)
		}
		if _, err := time.Parse(time.RFC3339Nano, m.Time); err != nil || !strings.HasSuffix(m.Time, "Z") || len(m.Time) != len("2006-01-02T15:04:05.000Z") {
			t.Fatalf("time %q", m.Time)
		}
	}

	a.none("message", 50*time.Millisecond) // the sending socket has its answer

	r = b.req("message", map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "note to self"})
	if m := b.message(); r.Code != "200" || m.Data != "note to self" {
		t.Fatalf("self: %+v %+v", r, m)
	}
	a.none("message", 50*time.Millisecond)

	r = b.req("message", map[string]any{"recepient": "all", "command": "chat", "type": "text", "data": "hello all"})
	for _, c := range []*tc{a, a2, b} {
		if m := c.message(); m.Recipient != "ALL" || m.Data != "hello all" || m.Seq.String() != r.Seq {
			t.Fatalf("%s ALL: %+v", c.name, m)
		}
	}
}

func TestMessageValidation(t *testing.T) {
	ts := newTestServer(t, Config{MaxText: 10})
	a, _ := ts.login("alice")
	ts.login("bob")
	msg := func(kv ...any) map[string]any {
		m := map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "hi"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		payload map[string]any
		code    string
	}{
		{msg("sender", "bob"), "403"},
		{msg("recepient", "nobody"), "404"},
		{msg("recepient", ""), "400"},
		{msg("command", "shout"), "400"},
		{msg("type", "image"), "400"},
		{msg("data", ""), "400"},
		{msg("data", "12345678901"), "413"},
		{msg("data", 5), "400"},
		{msg("data", "bad\x00byte"), "400"},
		{msg("cid", strings.Repeat("c", 65)), "400"},
		{msg("command", "groupchat", "recepient", "noroom"), "404"},
	} {
		if r := a.req("message", tt.payload); r.Code != tt.code {
			t.Errorf("%v: got %+v, want %s", tt.payload, r, tt.code)
		}
	}
	// The sender may name itself in any case; 10 characters fit.
	if r := a.req("message", msg("sender", "ALICE", "data", "1234567890")); r.Code != "200" {
		t.Fatalf("own sender: %+v", r)
	}
	if last := ts.st.LastSeq(); last != 1 {
		t.Fatalf("rejected messages were stored: last seq %d", last)
	}
}

func TestCIDIdempotency(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, _ := ts.login("alice")
	b, _ := ts.login("bob")
	m := map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "once", "cid": "c-1"}
	r1 := a.req("message", m)
	r2 := a.req("message", m)
	if r1.Code != "200" || r2.Code != "200" || r1.Seq != r2.Seq {
		t.Fatalf("retry: %+v %+v", r1, r2)
	}
	if got := b.message(); got.CID != "c-1" {
		t.Fatalf("cid not delivered: %+v", got)
	}
	b.none("message", 100*time.Millisecond)
}

func TestOrderingUnderConcurrentSenders(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	rx, _ := ts.login("rx")
	const senders, each = 4, 25
	var wg sync.WaitGroup
	for i := range senders {
		c, _ := ts.login(fmt.Sprintf("s%d", i))
		wg.Go(func() {
			for j := range each {
				if r := c.req("message", map[string]any{"recepient": "ALL", "command": "chat", "type": "text", "data": fmt.Sprint(j)}); r.Code != "200" {
					t.Errorf("send: %+v", r)
				}
			}
		})
	}
	wg.Wait()
	var last shared.Seq
	for range senders * each {
		m := rx.message()
		if m.Seq <= last {
			t.Fatalf("seq %d after %d", m.Seq, last)
		}
		last = m.Seq
	}
}

func TestRooms(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, _ := ts.login("alice")
	b, _ := ts.login("bob")
	room := func(c *tc, cmd, id, name string) shared.Response {
		return c.req("room", map[string]any{"command": cmd, "roomId": id, "roomName": name, "roomOwner": "bob"})
	}
	list := func(c *tc) []shared.RoomInfo {
		var ev shared.RoomEvent
		c.take("room", &ev)
		if ev.Command != "list" {
			t.Fatalf("room event %+v", ev)
		}
		return ev.Rooms
	}

	if r := room(a, "create", "Lobby", "The lobby"); r.Code != "200" || r.Command != "room" {
		t.Fatalf("create: %+v", r)
	}
	for _, c := range []*tc{a, b} {
		if l := list(c); len(l) != 1 || l[0] != (shared.RoomInfo{ID: "Lobby", Name: "The lobby", Owner: "alice", Members: 1}) {
			t.Fatalf("list: %+v", l)
		}
	}
	if r := room(b, "create", "LOBBY", "x"); r.Code != "409" {
		t.Fatalf("duplicate: %+v", r)
	}
	if r := room(b, "update", "lobby", "mine now"); r.Code != "403" {
		t.Fatalf("rename by non-owner: %+v", r)
	}
	if r := room(b, "delete", "lobby", ""); r.Code != "403" {
		t.Fatalf("delete by non-owner: %+v", r)
	}
	for _, cmd := range []string{"update", "delete", "join", "leave"} {
		if r := room(a, cmd, "nope", "n"); r.Code != "404" {
			t.Fatalf("%s missing: %+v", cmd, r)
		}
	}
	for _, bad := range []struct{ cmd, id, name string }{{"create", "", "n"}, {"create", "all", "n"}, {"create", "x\ny", "n"}, {"create", "x", ""}, {"create", strings.Repeat("r", 65), "n"}, {"create", "x", strings.Repeat("n", 101)}, {"explode", "x", "n"}} {
		if r := room(a, bad.cmd, bad.id, bad.name); r.Code != "400" {
			t.Fatalf("%+v: %+v", bad, r)
		}
	}

	// groupchat needs membership.
	gc := map[string]any{"recepient": "lobby", "command": "groupchat", "type": "text", "data": "hi room"}
	if r := b.req("message", gc); r.Code != "403" {
		t.Fatalf("non-member groupchat: %+v", r)
	}
	if r := room(b, "join", "LOBBY", ""); r.Code != "200" {
		t.Fatalf("join: %+v", r)
	}
	if r := room(b, "join", "lobby", ""); r.Code != "200" {
		t.Fatalf("join again: %+v", r)
	}
	if l := list(a); l[0].Members != 2 {
		t.Fatalf("members after join: %+v", l)
	}
	list(b)
	a.none("room", 50*time.Millisecond) // the repeated join changed nothing
	r := b.req("message", gc)
	for _, c := range []*tc{a, b} {
		if m := c.message(); m.Recipient != "Lobby" || m.Command != "groupchat" || m.Seq.String() != r.Seq {
			t.Fatalf("%s groupchat: %+v", c.name, m)
		}
	}
	if r := room(a, "update", "lobby", "Renamed"); r.Code != "200" {
		t.Fatalf("rename: %+v", r)
	}
	if l := list(b); l[0].Name != "Renamed" {
		t.Fatalf("after rename: %+v", l)
	}
	list(a)
	if r := room(b, "leave", "lobby", ""); r.Code != "200" {
		t.Fatalf("leave: %+v", r)
	}
	if r := b.req("history", map[string]any{"target": "lobby"}); r.Code != "403" {
		t.Fatalf("history after leave: %+v", r)
	}
	room(b, "join", "lobby", "")
	list(a)
	list(b)
	list(a)
	list(b)

	// Sorted by folded id.
	room(a, "create", "beta", "B")
	room(a, "create", "Alpha", "A")
	list(b)
	if l := list(b); len(l) != 3 || l[0].ID != "Alpha" || l[1].ID != "beta" || l[2].ID != "Lobby" {
		t.Fatalf("order: %+v", l)
	}

	if r := room(a, "delete", "lobby", ""); r.Code != "200" {
		t.Fatalf("delete: %+v", r)
	}
	var del shared.RoomEvent
	b.take("room", &del) // the pending list events come first
	for del.Command != "deleted" {
		b.take("room", &del)
	}
	if del.RoomID != "Lobby" {
		t.Fatalf("deleted event: %+v", del)
	}
	msgs, _ := ts.st.History(t.Context(), historyQuery("alice", "groupchat", "Lobby"))
	if len(msgs) != 0 {
		t.Fatalf("history of a deleted room: %+v", msgs)
	}
}

func TestHistory(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, _ := ts.login("alice")
	b, _ := ts.login("bob")
	c, _ := ts.login("carol")
	send := func(from *tc, to, data string) string {
		r := from.req("message", map[string]any{"recepient": to, "command": "chat", "type": "text", "data": data})
		if r.Code != "200" {
			t.Fatalf("send: %+v", r)
		}
		return r.Seq
	}
	var seqs []string
	for i := range 5 {
		seqs = append(seqs, send(a, "bob", fmt.Sprint("a", i)))
		send(b, "alice", fmt.Sprint("b", i))
	}
	send(c, "bob", "not for alice")
	send(c, "ALL", "to all")

	r := a.req("history", map[string]any{"target": "BOB", "command": "chat", "limit": 4})
	if r.Code != "200" || len(r.Messages) != 4 || r.Messages[0].Data != "a3" || r.Messages[3].Data != "b4" {
		t.Fatalf("newest 4: %+v", r)
	}
	r = a.req("history", map[string]any{"target": "bob", "before": seqs[1]})
	if len(r.Messages) != 2 || r.Messages[0].Data != "a0" || r.Messages[1].Data != "b0" {
		t.Fatalf("before: %+v", r.Messages)
	}
	if r = a.req("history", map[string]any{"target": "ALL"}); len(r.Messages) != 1 || r.Messages[0].Data != "to all" {
		t.Fatalf("ALL: %+v", r)
	}
	if r = a.req("history", map[string]any{"target": "carol"}); r.Code != "200" || r.Messages == nil || len(r.Messages) != 0 {
		t.Fatalf("empty conversation: %+v", r)
	}
	for _, bad := range []map[string]any{{"target": "bob", "limit": 0}, {"target": "bob", "limit": 101}, {"target": ""}, {"target": "bob", "before": "x"}, {"target": "bob", "command": "shout"}} {
		if r := a.req("history", bad); r.Code != "400" {
			t.Errorf("%v: %+v", bad, r)
		}
	}
	if r := a.req("history", map[string]any{"target": "ghost"}); r.Code != "404" {
		t.Fatalf("unknown user: %+v", r)
	}
	if r := a.req("history", map[string]any{"target": "ghost", "command": "groupchat"}); r.Code != "404" {
		t.Fatalf("unknown room: %+v", r)
	}
}

func TestPresence(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, _ := ts.login("alice")
	b := ts.dial("bob", nil)
	b.req("login", map[string]any{"id": "bob", "password": "secret-bob", "today": "busy"})
	var list shared.Presence
	b.take("presence", &list)
	if list.Command != "list" || len(list.Users) != 2 || !list.Users[0].Online || !list.Users[1].Online {
		t.Fatalf("presence list: %+v", list)
	}
	var ev shared.Presence
	a.take("presence", &ev)
	if ev.Command != "online" || ev.User.ID != "bob" || ev.User.Today != "busy" {
		t.Fatalf("online: %+v", ev)
	}
	b2, _ := ts.login("bob") // a second device with a new alias: no online event, a profile one
	a.take("presence", &ev)
	if ev.Command != "profile" || ev.User.ID != "bob" || ev.User.Alias != "Alias bob" || !ev.User.Online {
		t.Fatalf("profile: %+v", ev)
	}
	b2.close()
	b.req("logout", nil)
	a.take("presence", &ev)
	if ev.Command != "offline" || ev.User.ID != "bob" {
		t.Fatalf("offline: %+v", ev)
	}
	if n := a.count("presence"); n != 0 {
		t.Fatalf("extra presence events: %d", n)
	}
}

func TestTokenReconnectAndReplay(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, ra := ts.login("alice")
	b, _ := ts.login("bob")
	seen := b.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": "seen"})
	a.message()
	a.close()

	// While alice is away: a DM, a message to ALL, a room she is not in.
	var sent []string
	for i := range 3 {
		r := b.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": fmt.Sprint("missed ", i)})
		sent = append(sent, r.Seq)
	}
	b.req("room", map[string]any{"command": "create", "roomId": "private", "roomName": "p"})
	b.req("message", map[string]any{"recepient": "private", "command": "groupchat", "type": "text", "data": "secret"})
	r := b.req("message", map[string]any{"recepient": "ALL", "command": "chat", "type": "text", "data": "to all"})
	sent = append(sent, r.Seq)

	ts.restart() // across a restart too

	a = ts.dial("alice", map[string]any{"token": ra.Token, "offset": seen.Seq})
	if a.cerr != "" {
		t.Fatalf("token connect: %s", a.cerr)
	}
	a.take("room", nil)
	a.take("presence", nil)
	for _, want := range sent {
		if m := a.message(); m.Seq.String() != want {
			t.Fatalf("replay got seq %s (%q), want %s", m.Seq, m.Data, want)
		}
	}
	a.none("message", 100*time.Millisecond)
	// The session is logged in.
	if r := a.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": "x"}); r.Code != "200" {
		t.Fatalf("send after resume: %+v", r)
	}
	// Without an offset nothing is replayed.
	a2 := ts.dial("alice2", map[string]any{"token": ra.Token})
	a2.take("presence", nil)
	a2.none("message", 100*time.Millisecond)
}

func TestConnectErrors(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, ra := ts.login("alice")
	for _, tt := range []struct {
		auth any
		want string
	}{
		{map[string]any{"token": "nope"}, "invalid session"},
		{map[string]any{"token": ra.Token, "offset": "-1"}, "invalid offset"},
		{map[string]any{"offset": "abc"}, "invalid offset"},
	} {
		if c := ts.dial("x", tt.auth); c.cerr != tt.want {
			t.Errorf("auth %v: got %q want %q", tt.auth, c.cerr, tt.want)
		}
	}
	if r := a.req("logout", nil); r.Code != "200" {
		t.Fatalf("logout: %+v", r)
	}
	if c := ts.dial("x", map[string]any{"token": ra.Token}); c.cerr != "invalid session" {
		t.Fatalf("revoked token: %q", c.cerr)
	}
	if r := a.req("logout", nil); r.Code != "401" {
		t.Fatalf("logout while anonymous: %+v", r)
	}
}

func TestReplayCap(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1, ReplayMax: 3})
	a, ra := ts.login("alice")
	a.close()
	b, _ := ts.login("bob")
	var seqs []string
	for i := range 5 {
		seqs = append(seqs, b.req("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": fmt.Sprint(i)}).Seq)
	}
	a = ts.dial("alice", map[string]any{"token": ra.Token, "offset": "0"})
	var r shared.Response
	a.take("response", &r)
	if r.Command != "recover" || r.Code != "206" || r.Before != seqs[2] {
		t.Fatalf("206: %+v", r)
	}
	for _, want := range seqs[2:] {
		if m := a.message(); m.Seq.String() != want {
			t.Fatalf("got %s want %s", m.Seq, want)
		}
	}
	h := a.req("history", map[string]any{"target": "bob", "before": r.Before})
	if len(h.Messages) != 2 || h.Messages[1].Seq.String() != seqs[1] {
		t.Fatalf("paging older: %+v", h)
	}
}

// A client that reconnects while messages keep flowing gets every message
// once, in order: the replay and live traffic meet without gap or overlap.
func TestReplayMeetsLiveTraffic(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, ra := ts.login("alice")
	a.close()
	b, _ := ts.login("bob")
	const total = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			b.emit("message", map[string]any{"recepient": "alice", "command": "chat", "type": "text", "data": fmt.Sprint(i)}, true)
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	a = ts.dial("alice", map[string]any{"token": ra.Token, "offset": "0"})
	<-done
	for i := range total {
		if m := a.message(); m.Data != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q (seq %s)", i, m.Data, m.Seq)
		}
	}
	a.none("message", 100*time.Millisecond)
}

func TestPersistenceAcrossRestart(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, _ := ts.login("alice")
	a.req("room", map[string]any{"command": "create", "roomId": "keep", "roomName": "Kept"})
	b, _ := ts.login("bob")
	b.req("room", map[string]any{"command": "join", "roomId": "keep"})
	r := a.req("message", map[string]any{"recepient": "keep", "command": "groupchat", "type": "text", "data": "durable"})
	ts.restart()

	a = ts.dial("alice", nil)
	if r := a.req("login", map[string]any{"id": "alice", "password": "wrong-one"}); r.Code != "401" {
		t.Fatalf("password after restart: %+v", r)
	}
	lr := a.req("login", map[string]any{"id": "alice", "password": "secret-alice"})
	if lr.Offset != r.Seq {
		t.Fatalf("offset after restart: %+v, want %s", lr, r.Seq)
	}
	var ev shared.RoomEvent
	a.take("room", &ev)
	if len(ev.Rooms) != 1 || ev.Rooms[0] != (shared.RoomInfo{ID: "keep", Name: "Kept", Owner: "alice", Members: 2}) {
		t.Fatalf("rooms after restart: %+v", ev)
	}
	h := a.req("history", map[string]any{"target": "keep"})
	if len(h.Messages) != 1 || h.Messages[0].Data != "durable" {
		t.Fatalf("history after restart: %+v", h)
	}
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: 1, MsgBurst: 3})
	a, _ := ts.login("alice") // the login used one token of the burst
	codes := map[string]int{}
	for range 5 {
		codes[a.req("room", map[string]any{"command": "list"}).Code]++
	}
	if codes["429"] < 2 || codes["200"] < 1 {
		t.Fatalf("codes: %v", codes)
	}
}

func TestLoginThrottle(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, _ := ts.login("alice")
	a.close()
	c := ts.dial("mallory", nil)
	for i := range 5 {
		if r := c.req("login", map[string]any{"id": "alice", "password": "guess-" + fmt.Sprint(i)}); r.Code != "401" {
			t.Fatalf("guess %d: %+v", i, r)
		}
	}
	// Blocked now, even with the right password, without a password check.
	if r := c.req("login", map[string]any{"id": "alice", "password": "secret-alice"}); r.Code != "429" {
		t.Fatalf("after 5 failures: %+v", r)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := c.req("login", map[string]any{"id": "alice", "password": "secret-alice"}); r.Code != "200" {
		t.Fatalf("after the block: %+v", r)
	}
}

func TestBadPacketsCloseOnlyThatSocket(t *testing.T) {
	ts := newTestServer(t, Config{MaxPayload: 2048})
	good, _ := ts.login("alice")
	for _, bad := range []string{"4abc", "42{}", `42abc["x"]`, "9", "", strings.Repeat("4", 4096)} {
		c := ts.dial("bad", nil)
		c.writeText(bad)
		c.waitFor(func() bool { return c.closed }, "close after "+bad[:min(len(bad), 10)])
	}
	if r := good.req("room", map[string]any{"command": "list"}); r.Code != "200" {
		t.Fatalf("good socket after bad ones: %+v", r)
	}
}

func historyQuery(user, cmd, target string) store.HistoryQuery {
	return store.HistoryQuery{User: user, Command: cmd, Target: target, Limit: 50}
}

func TestRoomsPerUserCap(t *testing.T) {
	ts := newTestServer(t, Config{MaxRoomsPerUser: 2, MsgRate: -1})
	a, _ := ts.login("alice")
	for i := range 2 {
		if r := a.req("room", map[string]any{"command": "create", "roomId": fmt.Sprint("r", i), "roomName": "R"}); r.Code != "200" {
			t.Fatalf("create %d: %+v", i, r)
		}
	}
	if r := a.req("room", map[string]any{"command": "create", "roomId": "r2", "roomName": "R"}); r.Code != "403" || !strings.Contains(r.Message, "2 rooms") {
		t.Fatalf("third room: %+v", r)
	}
	if rooms, _ := ts.st.Rooms(t.Context()); len(rooms) != 2 {
		t.Fatalf("stored rooms: %d", len(rooms))
	}
	a.req("room", map[string]any{"command": "delete", "roomId": "r0"})
	if r := a.req("room", map[string]any{"command": "create", "roomId": "r2", "roomName": "R"}); r.Code != "200" {
		t.Fatalf("after a delete: %+v", r)
	}
}
