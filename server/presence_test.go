package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"chatapp/shared"
)

// presenceFrame returns the hub's presence list frame, as a login gets it.
func presenceFrame(h *hub) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.presenceFrameLocked()
}

// freshPresenceFrame computes the presence list frame from scratch, as the
// server did before the list was kept ready: every account, online ones
// first, then by folded id.
func freshPresenceFrame(t *testing.T, h *hub) []byte {
	t.Helper()
	h.mu.RLock()
	keys := make([]string, 0, len(h.users))
	for k := range h.users {
		keys = append(keys, k)
	}
	online := func(k string) bool { return len(h.users[k].clients) > 0 }
	slices.SortFunc(keys, func(a, b string) int {
		if online(a) != online(b) {
			if online(a) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	users := make([]shared.PresenceUser, 0, len(keys))
	for _, k := range keys {
		p := h.users[k].profile
		users = append(users, shared.PresenceUser{ID: p.ID, Alias: p.Alias, Today: p.Today, Online: online(k)})
	}
	h.mu.RUnlock()
	f, err := shared.EventFrame(shared.EventPresence, shared.Presence{Command: shared.PresenceList, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// freshRoomFrame computes the room list frame from scratch.
func freshRoomFrame(t *testing.T, h *hub) []byte {
	t.Helper()
	h.mu.RLock()
	rooms := make([]shared.RoomInfo, 0, len(h.rooms))
	for k, r := range h.rooms {
		rooms = append(rooms, shared.RoomInfo{ID: k, Name: r.name, Owner: r.owner, Members: len(r.members)})
	}
	slices.SortFunc(rooms, func(a, b shared.RoomInfo) int { return strings.Compare(a.ID, b.ID) })
	for i := range rooms {
		rooms[i].ID = h.rooms[rooms[i].ID].id
	}
	h.mu.RUnlock()
	f, err := shared.EventFrame(shared.EventRoom, shared.RoomEvent{Command: shared.RoomList, Rooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The kept presence list must be what a fresh computation gives after any
// sequence of sign-ups, logins (several sockets per user), logouts,
// and profile changes. Profiles hold characters that
// encoding/json escapes by default, and ids differ only in case.
func TestPresenceFrameMatchesFresh(t *testing.T) {
	h := newHub()
	if got, want := presenceFrame(h), freshPresenceFrame(t, h); string(got) != string(want) {
		t.Fatalf("empty hub:\n got %s\nwant %s", got, want)
	}
	ids := []string{"alice", "Bob", "carol", "Dave", "émile", "Zoë", "x.y-z_1", "ALICE2", "bob2", "ñ"}
	odd := []string{"", "<b>&amp;</b>", `quote " and \ slash`, "tab\there", "日本語", "emoji 😀"}
	var clients []*client
	rng := rand.New(rand.NewPCG(1, 2))
	profile := func(id string) shared.Profile {
		return shared.Profile{ID: id, Alias: odd[rng.IntN(len(odd))], Today: odd[rng.IntN(len(odd))]}
	}
	for step := range 2000 {
		id := ids[rng.IntN(len(ids))]
		var what string
		switch op := rng.IntN(10); {
		case op < 2:
			what = "addUser " + id
			h.addUser(profile(id))
		case op < 5:
			what = "login " + id
			// A login's profile is the stored one: sometimes it changed.
			p, ok := h.user(id)
			if !ok || rng.IntN(3) == 0 {
				p = profile(id)
			}
			c := &client{}
			clients = append(clients, c)
			h.login(c, p, func([]byte) {})
		case op < 8:
			if len(clients) == 0 {
				continue
			}
			i := rng.IntN(len(clients))
			what = fmt.Sprintf("logout client %d", i)
			h.logout(clients[i])
			clients = slices.Delete(clients, i, i+1)
		default:
			what = "setProfile " + id
			h.setProfile(profile(id))
		}
		got := presenceFrame(h)
		if want := freshPresenceFrame(t, h); string(got) != string(want) {
			t.Fatalf("step %d, after %s:\n got %s\nwant %s", step, what, got, want)
		}
		if again := presenceFrame(h); string(again) != string(got) {
			t.Fatalf("step %d: a second call without a change gave another list", step)
		}
	}
	if len(h.onlineRun.keys) == 0 || len(h.offlineRun.keys) == 0 {
		t.Fatalf("the sequence did not end with both online and offline accounts: %d online, %d offline",
			len(h.onlineRun.keys), len(h.offlineRun.keys))
	}
}

// decodeEvent decodes an event frame of name.
func decodeEvent(t *testing.T, frame []byte, name string, v any) {
	t.Helper()
	p, err := shared.DecodePacket(frame[1:]) // after the Engine.IO type
	if err != nil || frame[0] != shared.EIOMessage || p.Type != shared.PacketEvent {
		t.Fatalf("not an event frame: %q (%v)", frame, err)
	}
	got, args, err := shared.EventArgs(p.Data)
	if err != nil || got != name || len(args) != 1 {
		t.Fatalf("not a %s event: %q (%v)", name, frame, err)
	}
	if err := json.Unmarshal(args[0], v); err != nil {
		t.Fatal(err)
	}
}

// A socket's view of presence is its list with the news it got after it
// applied in order. Whenever news are delivered, at any moment between
// logins, logouts and profile changes, every logged-in socket's view must
// be the hub's state, and no socket may get news its list already has
// (an online event for a user it sees online, say) or about its own
// user's online state.
func TestPresenceNewsKeepViews(t *testing.T) {
	h := newHub()
	type view map[string]shared.PresenceUser // by folded id
	views := map[*client]view{}
	users := map[*client]string{}
	ids := []string{"alice", "Bob", "carol", "dave", "Émile"}
	var clients []*client
	rng := rand.New(rand.NewPCG(5, 6))
	truth := func() view {
		var list shared.Presence
		decodeEvent(t, freshPresenceFrame(t, h), shared.EventPresence, &list)
		v := view{}
		for _, u := range list.Users {
			v[shared.Fold(u.ID)] = u
		}
		return v
	}
	var news []presenceNews
	delivered := 0
	deliver := func(step int) {
		news = h.takeNews(news)
		h.deliverNews(news, func(c *client, frame []byte) {
			var ev shared.Presence
			decodeEvent(t, frame, shared.EventPresence, &ev)
			v, k := views[c], shared.Fold(ev.User.ID)
			old, known := v[k]
			switch ev.Command {
			case shared.PresenceOnline, shared.PresenceOffline:
				online := ev.Command == shared.PresenceOnline
				if k == shared.Fold(users[c]) {
					t.Fatalf("step %d: %s got news of its own user: %+v", step, users[c], ev)
				}
				if known && old.Online == online {
					t.Fatalf("step %d: %s got news it has: %+v", step, users[c], ev)
				}
				v[k] = shared.PresenceUser{ID: ev.User.ID, Alias: ev.User.Alias, Today: ev.User.Today, Online: online}
			case shared.PresenceProfile:
				// The profile event says online (the user is logging
				// in); the online event says when they are.
				v[k] = shared.PresenceUser{ID: ev.User.ID, Alias: ev.User.Alias, Today: ev.User.Today, Online: old.Online}
			default:
				t.Fatalf("step %d: unexpected news %+v", step, ev)
			}
			delivered++
		})
		want := truth()
		for c, v := range views {
			if !maps.Equal(v, want) {
				t.Fatalf("step %d: the view of %s's socket\n got %+v\nwant %+v", step, users[c], v, want)
			}
		}
	}
	for step := range 3000 {
		id := ids[rng.IntN(len(ids))]
		switch op := rng.IntN(10); {
		case op < 4:
			p, ok := h.user(id)
			if !ok {
				p = shared.Profile{ID: id}
			}
			c := &client{}
			lists := 0
			h.login(c, p, func(frame []byte) {
				if lists++; lists == 2 {
					var list shared.Presence
					decodeEvent(t, frame, shared.EventPresence, &list)
					v := view{}
					for _, u := range list.Users {
						v[shared.Fold(u.ID)] = u
					}
					views[c] = v
				}
			})
			if lists != 2 {
				t.Fatalf("login sent %d lists, want 2", lists)
			}
			clients = append(clients, c)
			users[c] = id
		case op < 7:
			if len(clients) == 0 {
				continue
			}
			i := rng.IntN(len(clients))
			h.logout(clients[i])
			delete(views, clients[i])
			clients = slices.Delete(clients, i, i+1)
		case op < 8:
			h.setProfile(shared.Profile{ID: id, Alias: fmt.Sprint("alias ", step), Today: "<today>"})
		default:
			deliver(step)
		}
	}
	deliver(3000)
	if delivered < 1000 {
		t.Fatalf("only %d news delivered", delivered)
	}
}

// The kept room list must be what a fresh computation gives after creates,
// renames, deletes, joins and leaves.
func TestRoomFrameMatchesFresh(t *testing.T) {
	h := newHub()
	ids := []string{"lobby", "Dev", "dev2", "Ops", "ñandú", "z-room"}
	users := []string{"alice", "bob", "carol"}
	rng := rand.New(rand.NewPCG(3, 4))
	for step := range 1000 {
		id := ids[rng.IntN(len(ids))]
		key := shared.Fold(id)
		user := users[rng.IntN(len(users))]
		var what string
		switch op := rng.IntN(12); {
		case op < 2:
			what = "create " + id
			h.setRoom(id, "Room <"+id+">", user, []string{user})
		case op < 4:
			what = "rename " + id
			h.renameRoom(key, fmt.Sprintf("name %d & co", step))
		case op < 5:
			what = "delete " + id
			h.deleteRoom(key)
		case op < 8:
			what = "join " + id
			h.setMember(key, user, true)
		default:
			what = "leave " + id
			h.setMember(key, user, false)
		}
		got := h.roomFrame()
		if want := freshRoomFrame(t, h); string(got) != string(want) {
			t.Fatalf("step %d, after %s:\n got %s\nwant %s", step, what, got, want)
		}
	}
}

// Through the server: a login gets the presence list as it is after other
// users logged in and out and changed their profile, and the room list as
// it is after room changes.
func TestListsAfterChanges(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	a, _ := ts.login("alice")
	b := ts.dial("bob", nil)
	b.req("login", map[string]any{"id": "bob", "password": "secret-bob", "alias": "Bobby", "today": "<busy>"})
	b.req("logout", nil)
	for _, r := range []map[string]any{
		{"command": "create", "roomId": "Lobby", "roomName": "The lobby"},
		{"command": "create", "roomId": "attic", "roomName": "Attic"},
		{"command": "update", "roomId": "lobby", "roomName": "Main hall"},
		{"command": "delete", "roomId": "attic"},
	} {
		if resp := a.req("room", r); resp.Code != "200" {
			t.Fatalf("room %v: %+v", r, resp)
		}
	}

	c, rooms, users := loginLists(t, ts, "carol")
	checkLists(t, "carol", rooms, users,
		[]shared.RoomInfo{{ID: "Lobby", Name: "Main hall", Owner: "alice", Members: 1}},
		[]shared.PresenceUser{
			{ID: "alice", Alias: "Alias alice", Online: true},
			{ID: "carol", Alias: "Alias carol", Online: true},
			{ID: "bob", Alias: "Bobby", Today: "<busy>"},
		})
	c.req("room", map[string]any{"command": "join", "roomId": "LOBBY"})

	// bob comes back with a new alias; alice leaves.
	b2 := ts.dial("bob2", nil)
	b2.req("login", map[string]any{"id": "BOB", "password": "secret-bob", "alias": "Robert"})
	a.close()
	waitOffline(t, ts, "alice")
	_, rooms, users = loginLists(t, ts, "dave")
	checkLists(t, "dave", rooms, users,
		[]shared.RoomInfo{{ID: "Lobby", Name: "Main hall", Owner: "alice", Members: 2}},
		[]shared.PresenceUser{
			{ID: "bob", Alias: "Robert", Today: "<busy>", Online: true},
			{ID: "carol", Alias: "Alias carol", Online: true},
			{ID: "dave", Alias: "Alias dave", Online: true},
			{ID: "alice", Alias: "Alias alice"},
		})

	c.req("room", map[string]any{"command": "leave", "roomId": "lobby"})
	b2.req("logout", nil)
	_, rooms, users = loginLists(t, ts, "Erin")
	checkLists(t, "Erin", rooms, users,
		[]shared.RoomInfo{{ID: "Lobby", Name: "Main hall", Owner: "alice", Members: 1}},
		[]shared.PresenceUser{
			{ID: "carol", Alias: "Alias carol", Online: true},
			{ID: "dave", Alias: "Alias dave", Online: true},
			{ID: "Erin", Alias: "Alias Erin", Online: true},
			{ID: "alice", Alias: "Alias alice"},
			{ID: "bob", Alias: "Robert", Today: "<busy>"},
		})
}

// loginLists logs in as id and returns the room and presence lists it gets.
func loginLists(t *testing.T, ts *testServer, id string) (*tc, []shared.RoomInfo, []shared.PresenceUser) {
	t.Helper()
	c := ts.dial(id, nil)
	if r := c.req("login", map[string]any{"id": id, "password": "secret-" + id, "alias": "Alias " + id}); r.Code != "200" {
		t.Fatalf("%s: login: %+v", id, r)
	}
	var rooms shared.RoomEvent
	c.take("room", &rooms)
	var presence shared.Presence
	c.take("presence", &presence)
	if rooms.Command != "list" || presence.Command != "list" {
		t.Fatalf("%s: lists %+v %+v", id, rooms, presence)
	}
	return c, rooms.Rooms, presence.Users
}

func checkLists(t *testing.T, id string, rooms []shared.RoomInfo, users []shared.PresenceUser, wantRooms []shared.RoomInfo, wantUsers []shared.PresenceUser) {
	t.Helper()
	if !slices.Equal(rooms, wantRooms) {
		t.Errorf("%s: room list\n got %+v\nwant %+v", id, rooms, wantRooms)
	}
	if !slices.Equal(users, wantUsers) {
		t.Errorf("%s: presence list\n got %+v\nwant %+v", id, users, wantUsers)
	}
}

// waitOffline waits until the server has seen id's last socket go.
func waitOffline(t *testing.T, ts *testServer, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ts.srv.hub.mu.RLock()
		a := ts.srv.hub.users[shared.Fold(id)]
		online := a != nil && len(a.clients) > 0
		ts.srv.hub.mu.RUnlock()
		if !online {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still online", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A storm of token reconnects through the server: every socket gets its
// list, then exactly one online event for each user its list shows
// offline, and nothing else.
func TestPresenceStorm(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1, MaxConnsPerIP: -1})
	const n = 40
	id := func(i int) string { return fmt.Sprintf("user%02d", i) }
	tokens := make([]string, n)
	for i := range n {
		c, r := ts.login(id(i))
		tokens[i] = r.Token
		c.close()
	}
	for i := range n {
		waitOffline(t, ts, id(i))
	}
	clients := make([]*tc, n)
	for i := range n {
		clients[i] = ts.dial(id(i), map[string]any{"token": tokens[i]})
	}
	for i, c := range clients {
		var list shared.Presence
		c.take(shared.EventPresence, &list)
		online := map[string]bool{}
		for _, u := range list.Users {
			online[u.ID] = u.Online
		}
		if len(online) != n || !online[id(i)] {
			t.Fatalf("%s: list %+v", id(i), list.Users)
		}
		offline := 0
		for _, on := range online {
			if !on {
				offline++
			}
		}
		for range offline {
			var ev shared.Presence
			c.take(shared.EventPresence, &ev)
			if ev.Command != shared.PresenceOnline || online[ev.User.ID] {
				t.Fatalf("%s: news %+v %+v while it sees %v", id(i), ev, ev.User, online)
			}
			online[ev.User.ID] = true
		}
	}
	time.Sleep(100 * time.Millisecond)
	for i, c := range clients {
		if k := c.count(shared.EventPresence); k != 0 {
			t.Errorf("%s: %d presence events more than needed", id(i), k)
		}
	}
}
