package server

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"chatapp/server/sio"
	"chatapp/shared"
)

// hub is the in-memory view of who is online and who is in which room. It
// owns membership, never sockets' I/O: callers copy target lists under the
// lock and send outside it. Presence news and a login's lists are the
// exception (see news).
type hub struct {
	mu     sync.RWMutex
	users  map[string]*account // every known account, by folded id
	online map[*client]*account
	rooms  map[string]*room // by folded id

	// Every login gets the presence list of every account, so it is kept
	// ready: the online accounts, then the offline ones, each run encoded
	// as it changes, and the list frame until anything in it changes
	// (nil then).
	onlineRun, offlineRun presenceRun
	presenceCache         []byte

	// roomCache is the room list frame until a room changes (nil then).
	roomCache []byte

	// news are the presence events (online, offline, profile) not yet
	// sent, oldest first. They are sent in batches (deliverNews): a storm
	// of logins would otherwise queue one event per login on every
	// socket, and wake every socket's writer for each. newsVer is the
	// version of the newest one; a socket gets only the news newer than
	// its presence list (client.listVer). While newsBusy, a sender is
	// running and will take what is added; otherwise adding news calls
	// wakeNews (nil: news wait for takeNews).
	news     []presenceNews
	newsVer  uint64
	newsBusy bool
	wakeNews func()
}

// presenceNews is a presence event for every logged-in socket whose list
// does not include it. That leaves out the user's own sockets from the
// news of their online state: they logged in after it.
type presenceNews struct {
	ver   uint64
	frame []byte
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
		a = &account{key: k, profile: p, clients: map[*client]struct{}{}}
		h.users[k] = a
		h.setPresence(a)
		return a
	}
	if a.profile != p {
		a.profile = p
		h.setPresence(a)
	}
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

// setProfile updates a known account's profile and tells everyone.
func (h *hub) setProfile(p shared.Profile) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.addUserLocked(p)
	h.addNewsLocked(shared.PresenceProfile, a, true)
}

// login marks c as logged in as p and hands send the room list frame and
// then the presence list frame for c. When c is the user's first socket,
// everyone else is told the user is online. send runs under h.mu, so c
// gets its lists before any presence news that they do not include.
func (h *hub) login(c *client, p shared.Profile, send func(frame []byte)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.addUserLocked(p)
	a.clients[c] = struct{}{}
	h.online[c] = a
	if len(a.clients) == 1 { // came online
		h.offlineRun.remove(a.key)
		h.setPresence(a)
		h.addNewsLocked(shared.PresenceOnline, a, true)
	}
	send(h.roomFrameLocked())
	send(h.presenceFrameLocked())
	c.listVer = h.newsVer
}

// logout removes c. When it was the user's last socket, everyone else is
// told the user is offline.
func (h *hub) logout(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.online[c]
	if a == nil {
		return
	}
	delete(h.online, c)
	delete(a.clients, c)
	if len(a.clients) == 0 { // went offline
		if h.users[a.key] == a { // not removed meanwhile (removeUser)
			h.onlineRun.remove(a.key)
			h.setPresence(a)
		}
		h.addNewsLocked(shared.PresenceOffline, a, false)
	}
}

// removeUser forgets a deleted account: it leaves the presence list and
// every room, and lookups no longer find it. Its sockets, still logged in
// until their kick completes, keep their account until logout.
func (h *hub) removeUser(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.users[key] == nil {
		return
	}
	delete(h.users, key)
	h.onlineRun.remove(key)
	h.offlineRun.remove(key)
	h.presenceCache = nil
	for _, r := range h.rooms {
		delete(r.members, key)
	}
	h.roomCache = nil
}

// sessions appends the sockets logged in as user key (folded) with the
// session token hash th, or with any token when th is nil. A client's
// tokenHash is set before hub.login and cleared after hub.logout, so it
// may be read here under h.mu.
func (h *hub) sessions(dst []*sio.Socket, key string, th []byte) []*sio.Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	a := h.users[key]
	if a == nil {
		// A deleted account's sockets are still online until they go.
		for c, oa := range h.online {
			if oa.key == key && (th == nil || bytes.Equal(c.tokenHash, th)) {
				dst = append(dst, c.sock)
			}
		}
		return dst
	}
	for c := range a.clients {
		if th == nil || bytes.Equal(c.tokenHash, th) {
			dst = append(dst, c.sock)
		}
	}
	return dst
}

// roomIDs returns the display id of every room by folded id.
func (h *hub) roomIDs() map[string]string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids := make(map[string]string, len(h.rooms))
	for k, r := range h.rooms {
		ids[k] = r.id
	}
	return ids
}

// addNewsLocked queues the presence event command about a. h.mu must be
// held.
func (h *hub) addNewsLocked(command string, a *account, online bool) {
	p := a.profile
	frame := encodeEvent(shared.EventPresence, shared.Presence{Command: command,
		User: &shared.PresenceUser{ID: p.ID, Alias: p.Alias, Today: p.Today, Online: online}})
	h.newsVer++
	h.news = append(h.news, presenceNews{ver: h.newsVer, frame: frame})
	if !h.newsBusy && h.wakeNews != nil {
		h.newsBusy = true
		h.wakeNews()
	}
}

// takeNews moves the queued news to dst[:0] and returns it. With none, the
// sender is done: the next news calls wakeNews again.
func (h *hub) takeNews(dst []presenceNews) []presenceNews {
	h.mu.Lock()
	defer h.mu.Unlock()
	dst = append(dst[:0], h.news...)
	clear(h.news)
	h.news = h.news[:0]
	if len(dst) == 0 {
		h.newsBusy = false
	}
	return dst
}

// deliverNews hands send the news for every logged-in socket that are
// newer than its presence list. Each socket gets the whole batch at once,
// so its writer wakes once for it. send runs under h.mu, which orders the
// news after the lists of logins (see login); a login since takeNews got
// a list that includes the news, and gets none of them.
func (h *hub) deliverNews(news []presenceNews, send func(c *client, frame []byte)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.online {
		for i := range news {
			if news[i].ver > c.listVer {
				send(c, news[i].frame)
			}
		}
	}
}

// socketPool recycles target lists so a fan-out allocates no list.
var socketPool = sync.Pool{New: func() any { s := make([]*sio.Socket, 0, 64); return &s }}

func getSockets() *[]*sio.Socket { return socketPool.Get().(*[]*sio.Socket) }

func putSockets(s *[]*sio.Socket) {
	clear(*s)
	*s = (*s)[:0]
	socketPool.Put(s)
}

// allSockets appends every logged-in socket.
func (h *hub) allSockets(dst []*sio.Socket) []*sio.Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.online {
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

// presenceFrameLocked returns the presence list event (every known
// account with its online state, online ones first, then by folded id),
// encoded. The frame is shared: callers must not modify it. h.mu must be
// held for writing.
func (h *hub) presenceFrameLocked() []byte {
	if h.presenceCache == nil {
		on, off := h.onlineRun.buf, h.offlineRun.buf
		f := make([]byte, 0, len(presenceListHead)+len(on)+len(off)+len(presenceListTail))
		f = append(f, presenceListHead...)
		f = append(f, on...)
		f = append(f, off...)
		f = bytes.TrimSuffix(f, []byte(",")) // the last entry's
		h.presenceCache = append(f, presenceListTail...)
	}
	return h.presenceCache
}

// presenceListHead and presenceListTail enclose the entries of the
// presence list frame: `42["presence",{"command":"list","users":[` and
// `]}]`, split from the frame of an empty list so that they are what
// shared.EventFrame writes.
var presenceListHead, presenceListTail = func() ([]byte, []byte) {
	f, err := shared.EventFrame(shared.EventPresence, shared.Presence{Command: shared.PresenceList, Users: []shared.PresenceUser{}})
	i := bytes.LastIndex(f, []byte("[]"))
	if err != nil || i < 0 {
		panic("server: cannot split the presence list frame")
	}
	return f[:i+1], f[i+1:]
}()

// setPresence encodes a's presence list entry, from its profile and
// online state, into the run of that state. h.mu must be held.
func (h *hub) setPresence(a *account) {
	p := a.profile
	u := shared.PresenceUser{ID: p.ID, Alias: p.Alias, Today: p.Today, Online: len(a.clients) > 0}
	run := &h.offlineRun
	if u.Online {
		run = &h.onlineRun
	}
	run.set(a.key, append(encodeJSON(u), ','))
	h.presenceCache = nil
}

// presenceRun is a run of the presence list: accounts sorted by folded id
// and their encoded entries, each followed by a comma, back to back in one
// buffer. A list is then a copy of two buffers, and a change moves bytes
// within one; visiting every account instead costs cache misses.
type presenceRun struct {
	keys []string // folded ids, sorted
	lens []int    // lens[i]: the length of entry i with its comma
	buf  []byte
}

// set puts entry as key's, in key order, replacing any it had.
func (r *presenceRun) set(key string, entry []byte) {
	i, found := slices.BinarySearch(r.keys, key)
	off := r.offset(i)
	if found {
		r.buf = slices.Replace(r.buf, off, off+r.lens[i], entry...)
		r.lens[i] = len(entry)
		return
	}
	r.buf = slices.Insert(r.buf, off, entry...)
	r.keys = slices.Insert(r.keys, i, key)
	r.lens = slices.Insert(r.lens, i, len(entry))
}

// remove takes key's entry out, if it has one.
func (r *presenceRun) remove(key string) {
	i, found := slices.BinarySearch(r.keys, key)
	if !found {
		return
	}
	off := r.offset(i)
	r.buf = slices.Delete(r.buf, off, off+r.lens[i])
	r.keys = slices.Delete(r.keys, i, i+1)
	r.lens = slices.Delete(r.lens, i, i+1)
}

// offset returns where entry i starts in buf.
func (r *presenceRun) offset(i int) int {
	n := 0
	for _, l := range r.lens[:i] {
		n += l
	}
	return n
}

// encodeEvent is shared.EventFrame for the events the hub keeps: they hold
// only strings, numbers and bools, which always encode.
func encodeEvent(name string, v any) []byte {
	f, _ := shared.EventFrame(name, v)
	return f
}

// encodeJSON returns v encoded as shared.EventFrame encodes it (no HTML
// escaping). v holds only strings, numbers and bools, which always encode.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
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
	h.roomCache = nil
}

func (h *hub) renameRoom(key, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[key]; r != nil {
		r.name = name
		h.roomCache = nil
	}
}

func (h *hub) deleteRoom(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.rooms, key)
	h.roomCache = nil
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
	if was != member {
		h.roomCache = nil
	}
	return was != member
}

// joinedRooms returns the rooms user (folded) is a member of, sorted like
// the room list (by folded id).
func (h *hub) joinedRooms(user string) []shared.JoinedRoom {
	h.mu.RLock()
	defer h.mu.RUnlock()
	list := []shared.JoinedRoom{}
	for _, r := range h.rooms {
		if _, member := r.members[user]; member {
			list = append(list, shared.JoinedRoom{ID: r.id, Name: r.name, Owner: r.owner, Members: len(r.members)})
		}
	}
	slices.SortFunc(list, func(a, b shared.JoinedRoom) int { return strings.Compare(shared.Fold(a.ID), shared.Fold(b.ID)) })
	return list
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

// roomFrame returns the room list event (the rooms sorted by folded id
// in byte order), encoded. The frame is shared: callers must not modify it.
func (h *hub) roomFrame() []byte {
	h.mu.RLock()
	f := h.roomCache
	h.mu.RUnlock()
	if f != nil {
		return f
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.roomFrameLocked()
}

// h.mu must be held for writing.
func (h *hub) roomFrameLocked() []byte {
	if h.roomCache == nil {
		h.roomCache = encodeEvent(shared.EventRoom, shared.RoomEvent{Command: shared.RoomList, Rooms: h.roomListLocked()})
	}
	return h.roomCache
}

// roomListLocked returns the rooms sorted by folded id in byte order.
// h.mu must be held.
func (h *hub) roomListLocked() []shared.RoomInfo {
	keys := make([]string, 0, len(h.rooms))
	for k := range h.rooms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	list := make([]shared.RoomInfo, 0, len(h.rooms))
	for _, k := range keys {
		r := h.rooms[k]
		list = append(list, shared.RoomInfo{ID: r.id, Name: r.name, Owner: r.owner, Members: len(r.members)})
	}
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
