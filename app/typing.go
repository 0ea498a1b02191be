package app

import (
	"slices"
	"time"

	"chatapp/shared"
)

// "X is typing…" (PROTOCOL.md 4.8). The server delivers at most one
// typing event per user and conversation every shared.TypingEvery; the
// line goes typingShown after the last one, or when that user's message
// arrives.

// typingShown is how long a typing event keeps its line.
const typingShown = 5 * time.Second

// typist is someone typing in a conversation, since the last event.
type typist struct {
	id string
	at time.Time
}

// typingSeen notes a typing event of user id in c at now.
func (m *model) typingSeen(c conv, id string, now time.Time) {
	list := slices.DeleteFunc(slices.Clone(m.typing[c]), func(t typist) bool { return shared.Fold(t.id) == shared.Fold(id) })
	m.typing[c] = append(list, typist{id: id, at: now})
}

// typingDone ends the line of user id in c: their message arrived.
func (m *model) typingDone(c conv, id string) {
	if len(m.typing[c]) == 0 {
		return
	}
	m.typing[c] = slices.DeleteFunc(slices.Clone(m.typing[c]), func(t typist) bool { return shared.Fold(t.id) == shared.Fold(id) })
}

// typists returns the display names of those typing in c at now, in the
// order they started, and forgets those whose line has gone.
func (m *model) typists(c conv, now time.Time) []string {
	m.typing[c] = slices.DeleteFunc(m.typing[c], func(t typist) bool { return now.Sub(t.at) >= typingShown })
	var names []string
	for _, t := range m.typing[c] {
		names = append(names, m.alias(t.id))
	}
	return names
}

// typingEvent applies a typing event: the line of its sender shows in its
// conversation, and the View is published again when it is due to go.
// Our own typing on another device shows nothing. s.mu must be held.
func (s *service) typingEventLocked(ev shared.Typing) {
	me := s.m.meKey()
	if me == "" || shared.Fold(ev.Sender) == me {
		return
	}
	c := userConv(ev.Sender)
	if ev.Command == shared.CommandGroupchat {
		c = roomConv(ev.Recipient)
	}
	s.m.typingSeen(c, ev.Sender, time.Now())
	time.AfterFunc(typingShown+50*time.Millisecond, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.changedLocked()
	})
}

// Typing tells the others in c that the user is typing, at most once
// every shared.TypingEvery (the server drops the extra ones anyway). It
// is best effort: nothing waits for a connection.
func (s *service) Typing(c conv) {
	s.mu.Lock()
	now := time.Now()
	var frame []byte
	switch {
	case !s.authed, c.kind != kindUser && c.kind != kindRoom, c.key == s.m.meKey(),
		c.kind == kindRoom && !s.m.member[c.key],
		now.Sub(s.typingSent[c]) < shared.TypingEvery:
	default:
		s.typingSent[c] = now
		_, frame = s.requestLocked(shared.EventTyping, shared.Typing{Recipient: s.idOfLocked(c), Command: c.command()},
			func(shared.Response) {}) // answered only because it carries an ack id; nothing to do
	}
	gen := s.gen
	s.mu.Unlock()
	s.link.write(gen, frame)
}
