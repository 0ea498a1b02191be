package app

import (
	"time"

	"chatapp/shared"
)

// Browser notifications: while the page is hidden, a direct message or a
// mention of the user shows one, if the person turned them on (the
// sidebar's switch asks the browser's permission then, on their click,
// never on load) and the browser allows them. The tab title and the
// installed app's badge count the unread messages (Shell.showUnread).

// keyNotify is where the switch is remembered: "on" or "off", for every
// server.
const keyNotify = "chatapp.notify"

// noteFresh: a message older than this when it arrives is a replay of
// what was missed, counted but not announced one by one.
const noteFresh = 2 * time.Minute

// note is a notification to show. Path opens its conversation when the
// notification is clicked (Shell.OnNav).
type note struct {
	Title, Body, Path string
}

// noteLocked queues the notification of a message new to the counts, if
// it deserves one. s.mu must be held.
func (s *service) noteLocked(c conv, msg *shared.Message) {
	me := s.m.meKey()
	if !s.notifyOn || !s.m.hidden || shared.Fold(msg.Sender) == me || msg.Deleted {
		return
	}
	dm := c.kind == kindUser && c.key != me
	if !dm && !s.m.mentionsMe(msg) {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, msg.Time); err != nil || time.Since(t) > noteFresh {
		return
	}
	who := s.m.alias(msg.Sender)
	n := note{Title: who, Body: clip(msg.Data, 140), Path: "/?open=" + c.String()}
	if !dm {
		n.Title = trf(s.lang, "notify.mention", who, s.whereLocked(c))
	}
	s.notes = append(s.notes, n)
}

// SetNotify turns notifications on or off and remembers it. The page
// asked the browser's permission first.
func (s *service) SetNotify(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyOn = on
	s.h.storage().Set(keyNotify, map[bool]string{true: "on", false: "off"}[on])
	s.changedLocked()
}
