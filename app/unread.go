package app

import (
	"slices"

	"chatapp/shared"
)

// Unread counts and read marks (PROTOCOL.md 4.1, 4.9). The server keeps
// them: a login (or the session event after a token reconnect) lists
// every conversation with its newest event, the user's read mark and the
// counts after it, so a new device starts right. From there the client
// counts what arrives, and read events from the user's other devices
// move the marks here too.

// convMeta is what the sidebar knows of one conversation.
type convMeta struct {
	// Last is the seq of its newest sequenced event (messages and their
	// changes): the sidebar's order, and the seq a read mark is set to.
	Last shared.Seq `json:"last,omitempty"`
	// Read is the user's read mark; Unread the messages after it that
	// others sent, Mentions those of them that mention the user. Both
	// stop at shared.MaxUnread, as the server's do.
	Read     shared.Seq `json:"read,omitempty"`
	Unread   int        `json:"unread,omitempty"`
	Mentions int        `json:"mentions,omitempty"`
}

// setConversations replaces what the client knows of the conversations
// with the server's list. A conversation without a window gets an empty
// one that says where its messages start: everything after replayFrom
// (the offset this connection asked to be replayed from; 0: none) is on
// its way, everything older loads with history. Read marks waiting in
// the outbox are applied again: the server has not seen them yet.
func (m *model) setConversations(list []shared.Conversation, replayFrom shared.Seq) {
	m.meta = make(map[conv]convMeta, len(list))
	for _, wc := range list {
		c := convNamed(wc.Target, wc.Command)
		m.meta[c] = convMeta{Last: wc.Last, Read: wc.Read, Unread: wc.Unread, Mentions: wc.Mentions}
		if m.convs[c] != nil {
			continue
		}
		t := &timeline{}
		if wc.Last > 0 {
			t.from = wc.Last + 1
			if replayFrom > 0 && replayFrom < wc.Last {
				t.from = replayFrom + 1
			}
		}
		m.convs[c] = t
	}
	for _, o := range m.outbox {
		if o.Op == opRead {
			m.markRead(convNamed(o.Recipient, o.Command), o.Seq)
		}
	}
}

// counted notes a sequenced event of conversation c: its newest seq
// moves, and a new message of someone else counts as unread (and as a
// mention of me) unless open, the conversation is on screen. It reports
// whether the message is new to the counts: a replayed one the login's
// counts already hold is not.
func (m *model) counted(c conv, ev *shared.Message, open bool) bool {
	meta := m.meta[c]
	if ev.Seq <= meta.Last {
		return false
	}
	meta.Last = ev.Seq
	isNew := !shared.IsChange(ev.Command) && !ev.Deleted
	if isNew && !open && shared.Fold(ev.Sender) != m.meKey() {
		meta.Unread = min(meta.Unread+1, shared.MaxUnread)
		if m.mentionsMe(ev) {
			meta.Mentions = min(meta.Mentions+1, shared.MaxUnread)
		}
	}
	m.meta[c] = meta
	return isNew
}

// mentionsMe reports whether msg mentions the user (PROTOCOL.md 4.7).
func (m *model) mentionsMe(msg *shared.Message) bool {
	me := m.meKey()
	return me != "" && slices.ContainsFunc(msg.Mentions, func(id string) bool { return shared.Fold(id) == me })
}

// markRead moves c's read mark to seq (marks only move forward) and
// counts what is still unread after it. It reports whether it moved.
func (m *model) markRead(c conv, seq shared.Seq) bool {
	meta, ok := m.meta[c]
	if !ok && seq <= 0 || seq <= meta.Read {
		return false
	}
	meta.Read = seq
	if seq >= meta.Last {
		meta.Unread, meta.Mentions = 0, 0
	} else if t := m.convs[c]; t != nil && t.atLive() && t.from <= seq+1 {
		// The window holds everything after the mark: count it.
		meta.Unread, meta.Mentions = 0, 0
		for i := range t.msgs {
			msg := &t.msgs[i]
			if msg.Seq > seq && !msg.Deleted && shared.Fold(msg.Sender) != m.meKey() {
				meta.Unread++
				if m.mentionsMe(msg) {
					meta.Mentions++
				}
			}
		}
	}
	m.meta[c] = meta
	return true
}

// othersAfter reports whether c may hold a message of someone else after
// seq: one is in its window, or the window does not reach its newest.
func (m *model) othersAfter(c conv, seq shared.Seq) bool {
	t := m.convs[c]
	if t == nil || !t.atLive() {
		return true
	}
	for i := len(t.msgs) - 1; i >= 0 && t.msgs[i].Seq > seq; i-- {
		if msg := &t.msgs[i]; !msg.Deleted && shared.Fold(msg.Sender) != m.meKey() {
			return true
		}
	}
	return false
}

// unreadDeleted takes a deleted message out of the unread count (the
// server counts no deleted message).
func (m *model) unreadDeleted(c conv, was shared.Message) {
	meta := m.meta[c]
	if was.Deleted || was.Seq <= meta.Read || shared.Fold(was.Sender) == m.meKey() || meta.Unread == 0 {
		return
	}
	meta.Unread--
	if m.mentionsMe(&was) && meta.Mentions > 0 {
		meta.Mentions--
	}
	m.meta[c] = meta
}

// unreadTotal is the sum of the unread counts (the tab title, the app
// badge).
func (m *model) unreadTotal() int {
	n := 0
	for _, meta := range m.meta {
		n += meta.Unread
	}
	return n
}

// cachedMeta is one conversation's counts in localStorage, so that the
// sidebar is right offline too.
type cachedMeta struct {
	Kind convKind `json:"kind"`
	Key  string   `json:"key,omitempty"`
	convMeta
}
