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

// outgoing is a message the user sent that the server has not answered 200
// yet: the outbox. It is persisted, and sent again with the same CID after a
// reconnect or a reload; the server answers a repeated CID with the first
// seq and does not deliver it twice.
type outgoing struct {
	CID       string `json:"cid"`
	Recipient string `json:"recepient"`
	Command   string `json:"command"`
	Data      string `json:"data"`
	// Created is when it was typed, RFC 3339 (display only).
	Created string `json:"created"`

	// sentIn is the connection generation it was last written on; 0 means
	// it waits to be sent. Not persisted: after a reload everything waits.
	sentIn int64
}

// model is everything the client knows about one user on one server. It
// has no locks and no I/O: the service (client.go) owns one and guards it.
type model struct {
	me *shared.Profile // the logged-in user; nil when logged out

	convs map[conv]*timeline
	// offset is the highest seq received in a message event (live or
	// replayed): the CONNECT auth offset. Acks and history do not move it,
	// because a smaller seq may still be on its way.
	offset shared.Seq
	// known: every conversation with a message from this seq on is in
	// convs (0 after a replay from the start that was not capped; the
	// replay's start after a capped one). A conversation first seen now
	// holds all its messages from there.
	known shared.Seq

	outbox []outgoing

	rooms  []shared.RoomInfo
	member map[string]bool // folded room id → the user is a member, as far as we know
	people map[string]shared.PresenceUser

	selected conv
	// following: the person reads the newest messages of the selected
	// conversation (its log is scrolled to the bottom), so a full window
	// drops its oldest page; otherwise its newest.
	following bool
	// allShown is how many of the newest messages "All messages" shows; it
	// grows a page at a time as the person scrolls up there.
	allShown int
	unread   map[conv]int
}

func newModel() *model {
	return &model{
		convs:  map[conv]*timeline{},
		member: map[string]bool{},
		people: map[string]shared.PresenceUser{},
		unread: map[conv]int{},

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

// received applies a message event (live or replayed): stored, offset
// advanced, the outbox entry with its CID (a message of ours delivered
// back) dropped, and counted unread unless its conversation is open.
func (m *model) received(msg shared.Message) {
	if msg.Seq <= 0 {
		return
	}
	if msg.Seq > m.offset {
		m.offset = msg.Seq
	}
	me := m.meKey()
	if msg.CID != "" && shared.Fold(msg.Sender) == me {
		m.dropOutgoing(msg.CID)
	}
	c := convOf(me, &msg)
	if c.kind == kindRoom {
		m.member[c.key] = true // only members get them
	}
	t := m.timeline(c)
	if !t.live(msg) {
		return
	}
	if m.selected != everything && c != m.selected && shared.Fold(msg.Sender) != me {
		m.unread[c]++ // "All messages" shows every conversation: nothing is unread there
	}
	switch over := len(t.msgs) - maxWindow; {
	case over <= 0:
	case c == m.selected && !m.following:
		t.dropNewest(over)
	default:
		t.dropOldest(over)
	}
}

// acked applies the 200 answer to one of our messages.
func (m *model) acked(cid string, seq shared.Seq, time string) {
	o, ok := m.findOutgoing(cid)
	if !ok || m.me == nil {
		return
	}
	m.dropOutgoing(cid)
	msg := shared.Message{
		Seq: seq, Time: time, Sender: m.me.ID, Recipient: o.Recipient,
		Command: o.Command, Type: shared.TypeText, Data: o.Data, CID: cid,
	}
	m.timeline(convOf(m.meKey(), &msg)).live(msg)
}

func (m *model) findOutgoing(cid string) (outgoing, bool) {
	for _, o := range m.outbox {
		if o.CID == cid {
			return o, true
		}
	}
	return outgoing{}, false
}

func (m *model) dropOutgoing(cid string) {
	m.outbox = slices.DeleteFunc(slices.Clip(m.outbox), func(o outgoing) bool { return o.CID == cid })
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
		if !known[k] {
			delete(m.member, k)
		}
	}
}

// left forgets what the user could read in a room they left or that was
// deleted: its messages and unread count.
func (m *model) left(id string) {
	c := roomConv(id)
	m.member[c.key] = false
	delete(m.convs, c)
	delete(m.unread, c)
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
	delete(m.unread, c)
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
// raised by the conversations that have older messages to load; high (0:
// none) is lowered by those that dropped their newest pages. Scrolling
// loads a page of the conversation that sets the end it reaches.
func (m *model) horizon() (low, high shared.Seq) {
	for _, t := range m.convs {
		if len(t.msgs) == 0 {
			continue // nothing to show; like a conversation this client does not know
		}
		if t.from > low {
			low = t.from
		}
		if last := t.msgs[len(t.msgs)-1].Seq; !t.atLive() && (high == 0 || last < high) {
			high = last
		}
	}
	return low, high
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

// pending returns the outbox entries of the selected conversation.
func (m *model) pending() []outgoing {
	var out []outgoing
	me := m.meKey()
	for _, o := range m.outbox {
		msg := shared.Message{Sender: me, Recipient: o.Recipient, Command: o.Command}
		if m.selected == everything || convOf(me, &msg) == m.selected {
			out = append(out, o)
		}
	}
	return out
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

// unreadTotal is the sum of the unread counts (the tab title, the app
// badge).
func (m *model) unreadTotal() int {
	n := 0
	for _, u := range m.unread {
		n += u
	}
	return n
}
