package app

import (
	"slices"
	"strings"

	"chatapp/shared"
)

// Limits of what the client keeps.
const (
	// cachePerConv is how many messages of each conversation go to
	// localStorage.
	cachePerConv = 50
)

// model is everything the client knows about one user on one server. It
// has no locks and no I/O: the service (client.go) owns one and guards it.
type model struct {
	me *shared.Profile // the logged-in user; nil when logged out

	convs map[conv]*timeline
	// offset is the highest seq received in a message event (live or
	// replayed): the CONNECT auth offset. Acks and history do not move it,
	// because a smaller seq may still be on its way.
	offset shared.Seq
	// known: every conversation with an event from this seq on has a
	// window in convs (0: every conversation has one). The login's list
	// of conversations names them all (up to its cap); a capped replay
	// (206) starts at its before. A conversation first seen later holds
	// all its messages from there.
	known shared.Seq

	outbox []outgoing

	// meta: the sidebar's facts of each conversation (unread.go).
	meta map[conv]convMeta

	rooms  []shared.RoomInfo
	member map[string]bool // folded room id → the user is a member, as far as we know
	// private: the private rooms the user is in, which the public room
	// list never shows (PROTOCOL.md 4.4), by folded id.
	private map[string]shared.RoomInfo
	people  map[string]shared.PresenceUser

	typing map[conv][]typist // typing.go

	selected conv
	// following: the person reads the newest messages of the selected
	// conversation (its log is scrolled to the bottom), so a full window
	// drops its oldest page; otherwise its newest.
	following bool
	// allShown is how many of the newest messages "All messages" shows; it
	// grows a page at a time as the person scrolls up there.
	allShown int
	// hidden: the page is not visible, so nothing arriving is read.
	hidden bool
	// newFrom is where the "new messages" line of the selected
	// conversation goes: before its first message of someone else from
	// this seq on (0: no line). It is the read mark the conversation had
	// when it was opened with unread messages.
	newFrom shared.Seq
	// mentionQuery is what follows the @ being typed in the composer,
	// while mentionOpen (mention.go).
	mentionQuery string
	mentionOpen  bool
	// seek is a message of the selected conversation to show (a quoted
	// one was clicked) that older pages are loading for, seekPages how
	// many so far; focus, with focusN counting, the one to scroll to.
	seek      shared.Seq
	seekPages int
	focus     shared.Seq
	focusN    int
}

func newModel() *model {
	return &model{
		convs:   map[conv]*timeline{},
		member:  map[string]bool{},
		people:  map[string]shared.PresenceUser{},
		meta:    map[conv]convMeta{},
		private: map[string]shared.RoomInfo{},
		typing:  map[conv][]typist{},

		following: true,
		allShown:  2 * pageSize,
	}
}

func (m *model) meKey() string {
	if m.me == nil {
		return ""
	}
	return shared.Fold(m.me.ID)
}

// timeline returns the timeline of c, made on first use.
func (m *model) timeline(c conv) *timeline {
	t := m.convs[c]
	if t == nil {
		t = &timeline{from: m.known}
		m.convs[c] = t
	}
	return t
}

// open reports whether conversation c is on screen: selected, and the
// page visible. What arrives there is read at once.
func (m *model) open(c conv) bool {
	return c == m.selected && c != everything && !m.hidden
}

// received applies a sequenced event, live or replayed: a message joins
// its conversation's window, a change updates the message it names
// (changes.go). The offset advances, an outbox entry with its cid (ours,
// delivered back) is dropped, and the counts move. It returns the
// event's conversation (ok false when it cannot be told) and whether it
// is a message new to the counts, for a notification.
func (m *model) received(ev shared.Message) (c conv, ok, fresh bool) {
	if ev.Seq <= 0 {
		return conv{}, false, false
	}
	if ev.Seq > m.offset {
		m.offset = ev.Seq
	}
	me := m.meKey()
	if ev.CID != "" && shared.Fold(ev.Sender) == me {
		m.dropOutgoing(ev.CID)
	}
	if shared.IsChange(ev.Command) {
		c, before, found := m.applyChange(ev)
		if !found {
			if c, ok = convOfChange(me, &ev); !ok {
				return conv{}, false, false
			}
		}
		m.counted(c, &ev, m.open(c))
		if found && ev.Command == shared.CommandDelete {
			m.unreadDeleted(c, before)
		}
		return c, true, false
	}
	c = convOf(me, &ev)
	t := m.convs[c]
	if t == nil && c.kind == kindRoom && !m.member[c.key] {
		// Joined on another device: its history is older than this.
		t = &timeline{from: ev.Seq}
		m.convs[c] = t
	}
	if c.kind == kindRoom {
		m.member[c.key] = true // only members get them
	}
	m.typingDone(c, ev.Sender)
	t = m.timeline(c)
	fresh = m.counted(c, &ev, m.open(c))
	if !t.live(ev) {
		return c, true, false
	}
	switch over := len(t.msgs) - maxWindow; {
	case over <= 0:
	case c == m.selected && !m.following:
		t.dropNewest(over)
	default:
		t.dropOldest(over)
	}
	return c, true, fresh
}

// capped applies the 206 before a capped replay that starts at before:
// messages older than the replay are missing, so every window restarts
// from there (the older ones load with history as the person scrolls).
func (m *model) capped(before shared.Seq) {
	for c := range m.convs {
		m.convs[c] = &timeline{from: before}
	}
	m.known = before
}

// setRooms applies the room list.
func (m *model) setRooms(rooms []shared.RoomInfo) {
	m.rooms = slices.Clone(rooms)
	known := map[string]bool{}
	for _, r := range rooms {
		known[shared.Fold(r.ID)] = true
	}
	for k := range m.member {
		if _, private := m.private[k]; !known[k] && !private {
			delete(m.member, k)
		}
	}
}

// setJoined applies the rooms the user is a member of (the login's
// joined list).
func (m *model) setJoined(rooms []shared.JoinedRoom) {
	m.member = make(map[string]bool, len(rooms))
	m.private = map[string]shared.RoomInfo{}
	for _, r := range rooms {
		m.joined(r)
	}
}

// joined applies one membership: a room of the joined list, or of a room
// event joined.
func (m *model) joined(r shared.JoinedRoom) {
	k := shared.Fold(r.ID)
	m.member[k] = true
	if r.Private {
		m.private[k] = shared.RoomInfo{ID: r.ID, Name: r.Name, Owner: r.Owner, Members: r.Members}
	}
}

// left forgets what the user could read in a room they left or that was
// deleted: its messages and unread count.
func (m *model) left(id string) {
	c := roomConv(id)
	m.member[c.key] = false
	delete(m.private, c.key)
	delete(m.convs, c)
	delete(m.meta, c)
	delete(m.typing, c)
}

// roomDeleted forgets a room, its membership and its messages.
func (m *model) roomDeleted(id string) {
	k := shared.Fold(id)
	m.rooms = slices.DeleteFunc(slices.Clone(m.rooms), func(r shared.RoomInfo) bool { return shared.Fold(r.ID) == k })
	m.left(id)
	delete(m.member, k)
	if m.selected == roomConv(id) {
		m.selected = everything
	}
}

// presence applies a presence event.
func (m *model) presence(p shared.Presence) {
	switch p.Command {
	case shared.PresenceList:
		m.people = make(map[string]shared.PresenceUser, len(p.Users))
		for _, u := range p.Users {
			m.people[shared.Fold(u.ID)] = u
		}
	case shared.PresenceOnline, shared.PresenceOffline, shared.PresenceProfile:
		if p.User == nil {
			return
		}
		u := *p.User
		switch p.Command {
		case shared.PresenceOnline:
			u.Online = true
		case shared.PresenceOffline:
			u.Online = false
		case shared.PresenceProfile:
			if old, ok := m.people[shared.Fold(u.ID)]; ok {
				u.Online = old.Online || u.Online
			}
		}
		m.people[shared.Fold(u.ID)] = u
		if m.me != nil && shared.Fold(u.ID) == m.meKey() {
			m.me.Alias, m.me.Today = u.Alias, u.Today
		}
	}
}

// selectConv makes c the conversation #result shows. The one left behind
// shrinks: memory holds what is on screen, not everything ever read.
func (m *model) selectConv(c conv) {
	if c == m.selected {
		return
	}
	if t := m.convs[m.selected]; t != nil {
		t.leave(m.offset + 1)
	}
	m.selected = c
	m.following = true
	m.allShown = 2 * pageSize
	m.seek, m.focus = 0, 0
	m.markNewFrom()
}

// markNewFrom puts the "new messages" line of the selected conversation
// after its read mark, if something is unread there.
func (m *model) markNewFrom() {
	m.newFrom = 0
	if meta := m.meta[m.selected]; m.selected != everything && meta.Unread > 0 {
		m.newFrom = meta.Read + 1
	}
}

// alias is the display name of a user id.
func (m *model) alias(id string) string {
	k := shared.Fold(id)
	if m.me != nil && k == m.meKey() && m.me.Alias != "" {
		return m.me.Alias
	}
	if p, ok := m.people[k]; ok && p.Alias != "" {
		return p.Alias
	}
	return id
}

// roomID and userID return the id of a folded key as created (its case).
func (m *model) roomID(key string) string {
	for _, r := range m.rooms {
		if shared.Fold(r.ID) == key {
			return r.ID
		}
	}
	return key
}

func (m *model) userID(key string) string {
	if p, ok := m.people[key]; ok {
		return p.ID
	}
	return key
}

// horizon is the span of seqs where "All messages" is complete: every
// conversation this client knows holds all its messages in it. low is
// raised by the conversations that have older messages to load (also
// those with none loaded yet: the login lists every conversation with
// where its messages end); high (0: none) is lowered by those that
// dropped their newest pages. Scrolling loads a page of the conversation
// that sets the end it reaches.
func (m *model) horizon() (low, high shared.Seq) {
	for c, t := range m.convs {
		if m.pageable(c, t) && t.from > low {
			low = t.from
		}
		if len(t.msgs) == 0 {
			continue
		}
		if last := t.msgs[len(t.msgs)-1].Seq; !t.atLive() && (high == 0 || last < high) {
			high = last
		}
	}
	return low, high
}

// pageable reports whether history may hold older messages of c than
// its window: a room only while the user is a member.
func (m *model) pageable(c conv, t *timeline) bool {
	return t.older() && (c.kind != kindRoom || m.member[c.key])
}

// visible returns the messages #result shows, oldest first: the selected
// conversation's window, or for "All messages" every conversation within
// the horizon. The result is a new slice.
func (m *model) visible() []shared.Message {
	if m.selected != everything {
		if t := m.convs[m.selected]; t != nil {
			return slices.Clone(t.msgs)
		}
		return nil
	}
	low, high := m.horizon()
	var all []shared.Message
	for _, t := range m.convs {
		i, _ := t.find(low)
		j := len(t.msgs)
		if high > 0 {
			j, _ = t.find(high + 1)
		}
		all = append(all, t.msgs[i:max(i, j)]...)
	}
	slices.SortFunc(all, func(a, b shared.Message) int { return cmpSeq(a.Seq, b.Seq) })
	all = slices.CompactFunc(all, func(a, b shared.Message) bool { return a.Seq == b.Seq })
	return all[max(0, len(all)-m.allShown):]
}

// allHidden reports whether "All messages" holds more than it shows.
func (m *model) allHidden() bool {
	if m.selected != everything {
		return false
	}
	n := 0
	low, _ := m.horizon()
	for _, t := range m.convs {
		i, _ := t.find(low)
		n += len(t.msgs) - i
	}
	return n > m.allShown
}

// sortedPeople returns the people, online first, then by id.
func (m *model) sortedPeople() []shared.PresenceUser {
	list := make([]shared.PresenceUser, 0, len(m.people))
	for _, p := range m.people {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b shared.PresenceUser) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		return strings.Compare(shared.Fold(a.ID), shared.Fold(b.ID))
	})
	return list
}

// cachedConv is one conversation in localStorage.
type cachedConv struct {
	Kind convKind         `json:"kind"`
	Key  string           `json:"key,omitempty"`
	From shared.Seq       `json:"from,omitempty"`
	Msgs []shared.Message `json:"msgs"`
}

// cacheSnapshot returns the newest cachePerConv messages of every
// conversation that reaches its newest message, for localStorage.
func (m *model) cacheSnapshot() []cachedConv {
	var out []cachedConv
	for c, t := range m.convs {
		if !t.atLive() || len(t.msgs) == 0 {
			continue
		}
		cc := cachedConv{Kind: c.kind, Key: c.key, From: t.from, Msgs: t.msgs}
		if n := len(t.msgs) - cachePerConv; n > 0 {
			cc.From, cc.Msgs = t.msgs[n].Seq, t.msgs[n:]
		}
		out = append(out, cc)
	}
	return out
}

// restoreCache loads cached conversations. Each holds its newest
// messages, consecutive, so they make a window that continues with the
// replay after the offset.
func (m *model) restoreCache(convs []cachedConv) {
	for _, cc := range convs {
		t := &timeline{from: cc.From}
		for _, msg := range cc.Msgs {
			if msg.Seq > 0 {
				t.live(msg)
			}
		}
		m.convs[conv{kind: cc.Kind, key: cc.Key}] = t
	}
}
