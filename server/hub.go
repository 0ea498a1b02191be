package server

import (
	"slices"
	"strings"
	"sync"

	"chatapp/server/sio"
	"chatapp/shared"
)

// hub is the in-memory view of who is online and who is in which room. It
// owns membership, never sockets' I/O: callers copy target lists under the
// lock and send outside it.
type hub struct {
	mu     sync.RWMutex
	users  map[string]*account // every known account, by folded id
	online map[*client]*account
	rooms  map[string]*room // by folded id
}

// account is a known user and the sockets logged in as them.
type account struct {
	key     string // folded id
	profile shared.Profile
	clients map[*client]struct{}
}

type room struct {
	id, name, owner string
	members         map[string]struct{} // folded user ids
}

func newHub() *hub {
	return &hub{
		users:  map[string]*account{},
		online: map[*client]*account{},
		rooms:  map[string]*room{},
	}
}

// addUser records a known account (at start, on sign-up, on a cache miss).
func (h *hub) addUser(p shared.Profile) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addUserLocked(p)
}

// h.mu must be held.
func (h *hub) addUserLocked(p shared.Profile) *account {
	k := shared.Fold(p.ID)
	a := h.users[k]
	if a == nil {
		a = &account{key: k, clients: map[*client]struct{}{}}
		h.users[k] = a
	}
	a.profile = p
	return a
}

// user returns the profile of a known account.
func (h *hub) user(id string) (shared.Profile, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	a := h.users[shared.Fold(id)]
	if a == nil {
		return shared.Profile{}, false
	}
	return a.profile, true
}

// setProfile updates a known account's profile.
func (h *hub) setProfile(p shared.Profile) {
	h.addUser(p)
}

// removeUser forgets an account (it was deleted); its sockets stay until
// they go.
func (h *hub) removeUser(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := shared.Fold(id)
	if a := h.users[k]; a != nil && len(a.clients) == 0 {
		delete(h.users, k)
	}
}

// login marks c as logged in as p. first is true when c is the user's
// first socket (the user just came online).
func (h *hub) login(c *client, p shared.Profile) (first bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.addUserLocked(p)
	a.clients[c] = struct{}{}
	h.online[c] = a
	return len(a.clients) == 1
}

// logout removes c. last is true when it was the user's last socket.
func (h *hub) logout(c *client) (p shared.Profile, last, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.online[c]
	if a == nil {
		return shared.Profile{}, false, false
	}
	delete(h.online, c)
	delete(a.clients, c)
	return a.profile, len(a.clients) == 0, true
}

// socketPool recycles target lists so a fan-out allocates no list.
var socketPool = sync.Pool{New: func() any { s := make([]*sio.Socket, 0, 64); return &s }}

func getSockets() *[]*sio.Socket { return socketPool.Get().(*[]*sio.Socket) }

func putSockets(s *[]*sio.Socket) {
	clear(*s)
	*s = (*s)[:0]
	socketPool.Put(s)
}

// allSockets appends every logged-in socket except those of user skip (a
// folded id; "" skips nobody).
func (h *hub) allSockets(dst []*sio.Socket, skip string) []*sio.Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c, a := range h.online {
		if a.key == skip {
			continue
		}
		dst = append(dst, c.sock)
	}
	return dst
}

// userSockets appends the sockets of the users with the given folded ids
// (each user once).
func (h *hub) userSockets(dst []*sio.Socket, keys ...string) []*sio.Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for i, k := range keys {
		if slices.Contains(keys[:i], k) {
			continue
		}
		if a := h.users[k]; a != nil {
			for c := range a.clients {
				dst = append(dst, c.sock)
			}
		}
	}
	return dst
}

// roomSockets appends the sockets of every member of room key.
func (h *hub) roomSockets(dst []*sio.Socket, key string) []*sio.Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.rooms[key]
	if r == nil {
		return dst
	}
	for m := range r.members {
		if a := h.users[m]; a != nil {
			for c := range a.clients {
				dst = append(dst, c.sock)
			}
		}
	}
	return dst
}

// presenceList returns every known user with their online state, online
// first, then by folded id.
func (h *hub) presenceList() []shared.PresenceUser {
	type entry struct {
		key string
		u   shared.PresenceUser
	}
	h.mu.RLock()
	entries := make([]entry, 0, len(h.users))
	for k, a := range h.users {
		p := a.profile
		entries = append(entries, entry{k, shared.PresenceUser{ID: p.ID, Alias: p.Alias, Today: p.Today, Online: len(a.clients) > 0}})
	}
	h.mu.RUnlock()
	slices.SortFunc(entries, func(a, b entry) int {
		if a.u.Online != b.u.Online {
			if a.u.Online {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	list := make([]shared.PresenceUser, len(entries))
	for i := range entries {
		list[i] = entries[i].u
	}
	return list
}

// room returns a copy of the room's facts and whether user (folded) is a
// member.
func (h *hub) room(key, user string) (id, owner string, member, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.rooms[key]
	if r == nil {
		return "", "", false, false
	}
	_, member = r.members[user]
	return r.id, r.owner, member, true
}

// setRoom creates or replaces a room; members are folded user ids.
func (h *hub) setRoom(id, name, owner string, members []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := &room{id: id, name: name, owner: owner, members: make(map[string]struct{}, len(members))}
	for _, m := range members {
		r.members[shared.Fold(m)] = struct{}{}
	}
	h.rooms[shared.Fold(id)] = r
}

func (h *hub) renameRoom(key, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[key]; r != nil {
		r.name = name
	}
}

func (h *hub) deleteRoom(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.rooms, key)
}

// setMember adds or removes user (folded) and reports whether that
// changed anything.
func (h *hub) setMember(key, user string, member bool) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[key]
	if r == nil {
		return false
	}
	_, was := r.members[user]
	if member {
		r.members[user] = struct{}{}
	} else {
		delete(r.members, user)
	}
	return was != member
}

// roomsOwned counts the rooms user (folded) owns.
func (h *hub) roomsOwned(user string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, r := range h.rooms {
		if shared.Fold(r.owner) == user {
			n++
		}
	}
	return n
}

// dropMember removes user (folded) from every room (account deleted).
func (h *hub) dropMember(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.rooms {
		delete(r.members, user)
	}
}

// roomList returns the rooms sorted by folded id in byte order.
func (h *hub) roomList() []shared.RoomInfo {
	h.mu.RLock()
	list := make([]shared.RoomInfo, 0, len(h.rooms))
	keys := make([]string, 0, len(h.rooms))
	for k := range h.rooms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r := h.rooms[k]
		list = append(list, shared.RoomInfo{ID: r.id, Name: r.name, Owner: r.owner, Members: len(r.members)})
	}
	h.mu.RUnlock()
	return list
}

// counts returns the sockets logged in, the users online and the rooms.
func (h *hub) counts() (sockets, users, rooms int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, a := range h.users {
		if len(a.clients) > 0 {
			users++
		}
	}
	return len(h.online), users, len(h.rooms)
}
