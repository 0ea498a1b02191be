package app

import (
	"slices"
	"strings"

	"chatapp/shared"
)

// Conversation keys. A message belongs to exactly one conversation:
//
//	""        not a conversation: the "all messages" view (#result shows everything)
//	"all"     messages to ALL
//	"r:<id>"  a room, by folded id
//	"u:<id>"  the direct conversation with a user, by folded id (one's own id: notes to self)
const (
	convEverything = ""
	convAll        = "all"
)

func roomConv(id string) string { return "r:" + shared.Fold(id) }
func userConv(id string) string { return "u:" + shared.Fold(id) }

// convOf returns the conversation of m as seen by me (a folded user id).
func convOf(me string, m *shared.Message) string {
	if m.Command == shared.CommandGroupchat {
		return roomConv(m.Recipient)
	}
	if shared.Fold(m.Recipient) == shared.Fold(shared.All) {
		return convAll
	}
	if shared.Fold(m.Sender) == me {
		return userConv(m.Recipient)
	}
	return userConv(m.Sender)
}

// Limits of what the client keeps.
const (
	// keepPerConv is how many messages of one conversation stay in memory.
	keepPerConv = 200
	// cachePerConv is how many of them go to localStorage.
	cachePerConv = 50
	// showMax is how many messages #result renders at most.
	showMax = 200
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

// model is everything the client knows. It has no locks and no I/O: the
// service (client.go) owns one and guards it.
type model struct {
	me *shared.Profile // the logged-in user; nil when logged out

	// convs holds each conversation's messages, sorted by seq, without
	// duplicates, at most keepPerConv.
	convs map[string][]shared.Message
	// offset is the highest seq received in a message event (live or
	// replayed): the CONNECT auth offset. Acks and history do not move it,
	// because a smaller seq may still be on its way.
	offset shared.Seq

	outbox []outgoing

	rooms  []shared.RoomInfo
	member map[string]bool // folded room id → the user is a member, as far as we know
	people map[string]shared.PresenceUser

	selected string         // conversation key, convEverything by default
	unread   map[string]int // conversation key → messages not seen
	fetched  map[string]bool
}

func newModel() *model {
	m := &model{}
	m.reset()
	return m
}

// reset forgets everything about the user: on logout and when another user
// logs in on this browser.
func (m *model) reset() {
	m.me = nil
	m.convs = map[string][]shared.Message{}
	m.offset = 0
	m.outbox = nil
	m.rooms = nil
	m.member = map[string]bool{}
	m.people = map[string]shared.PresenceUser{}
	m.selected = convEverything
	m.unread = map[string]int{}
	m.fetched = map[string]bool{}
}

func (m *model) meKey() string {
	if m.me == nil {
		return ""
	}
	return shared.Fold(m.me.ID)
}

// addMessage inserts msg in its conversation. It reports whether msg was
// new (not a seq already held). A message with the seq of one already held
// replaces it: the server's copy wins over one built from an ack.
func (m *model) addMessage(msg shared.Message, countUnread bool) bool {
	if msg.Seq <= 0 {
		return false
	}
	me := m.meKey()
	key := convOf(me, &msg)
	list := m.convs[key]
	i, found := slices.BinarySearchFunc(list, msg.Seq, func(e shared.Message, s shared.Seq) int {
		return cmpSeq(e.Seq, s)
	})
	if found {
		list[i] = msg // the slice is ours; views copy
		return false
	}
	list = slices.Insert(slices.Clip(list), i, msg)
	if len(list) > keepPerConv {
		list = slices.Clone(list[len(list)-keepPerConv:])
	}
	m.convs[key] = list
	if msg.Command == shared.CommandGroupchat {
		m.member[shared.Fold(msg.Recipient)] = true // only members get them
	}
	if countUnread && m.selected != convEverything && key != m.selected && shared.Fold(msg.Sender) != me {
		m.unread[key]++
	}
	return true
}

func cmpSeq(a, b shared.Seq) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// received applies a message event: stored, offset advanced, and the
// outbox entry with its CID (a message of ours delivered back) dropped.
func (m *model) received(msg shared.Message) {
	if msg.Seq > m.offset {
		m.offset = msg.Seq
	}
	if msg.CID != "" && shared.Fold(msg.Sender) == m.meKey() {
		m.dropOutgoing(msg.CID)
	}
	m.addMessage(msg, true)
}

// acked applies the 200 answer to one of our messages.
func (m *model) acked(cid string, seq shared.Seq, time string) {
	o, ok := m.findOutgoing(cid)
	if !ok || m.me == nil {
		return
	}
	m.dropOutgoing(cid)
	m.addMessage(shared.Message{
		Seq: seq, Time: time, Sender: m.me.ID, Recipient: o.Recipient,
		Command: o.Command, Type: shared.TypeText, Data: o.Data, CID: cid,
	}, false)
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

// roomDeleted forgets a room, its membership and its messages.
func (m *model) roomDeleted(id string) {
	k := shared.Fold(id)
	m.rooms = slices.DeleteFunc(slices.Clone(m.rooms), func(r shared.RoomInfo) bool { return shared.Fold(r.ID) == k })
	delete(m.member, k)
	key := roomConv(id)
	delete(m.convs, key)
	delete(m.unread, key)
	delete(m.fetched, key)
	if m.selected == key {
		m.selected = convEverything
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

// selectConv makes key the conversation #result shows.
func (m *model) selectConv(key string) {
	m.selected = key
	delete(m.unread, key)
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

// visible returns the messages of the selected conversation (all of them
// for convEverything), oldest first, at most showMax. The result is a new
// slice.
func (m *model) visible() []shared.Message {
	if m.selected != convEverything {
		list := m.convs[m.selected]
		return slices.Clone(list[max(0, len(list)-showMax):])
	}
	n := 0
	for _, l := range m.convs {
		n += len(l)
	}
	all := make([]shared.Message, 0, n)
	for _, l := range m.convs {
		all = append(all, l...)
	}
	slices.SortFunc(all, func(a, b shared.Message) int { return cmpSeq(a.Seq, b.Seq) })
	all = slices.CompactFunc(all, func(a, b shared.Message) bool { return a.Seq == b.Seq })
	return slices.Clip(all[max(0, len(all)-showMax):])
}

// pending returns the outbox entries of the selected conversation.
func (m *model) pending() []outgoing {
	var out []outgoing
	me := m.meKey()
	for _, o := range m.outbox {
		msg := shared.Message{Sender: me, Recipient: o.Recipient, Command: o.Command}
		if m.selected == convEverything || convOf(me, &msg) == m.selected {
			out = append(out, o)
		}
	}
	return out
}

// sortedPeople returns the people, online first, then by alias and id.
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

// cacheSnapshot returns the last cachePerConv messages of every
// conversation, for localStorage.
func (m *model) cacheSnapshot() map[string][]shared.Message {
	out := make(map[string][]shared.Message, len(m.convs))
	for k, l := range m.convs {
		if len(l) > 0 {
			out[k] = slices.Clone(l[max(0, len(l)-cachePerConv):])
		}
	}
	return out
}

// restoreCache loads cached conversations (already sorted by the writer;
// sorted again here in case the storage was edited).
func (m *model) restoreCache(convs map[string][]shared.Message) {
	for _, l := range convs {
		for _, msg := range l {
			m.addMessage(msg, false)
		}
	}
}
