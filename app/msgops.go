package app

import (
	"strings"

	"chatapp/shared"
)

// What the person does to a message on screen (the message row's
// actions, the composer's edit mode): edit, delete, react, and show the
// message a reply quotes. Changes go through the outbox (outbox.go) like
// messages, so they wait for the connection and survive a reload.

// editForm is the value of the edit action; deleteForm of the delete one.
type editForm struct{ Seq, Text string }

// reactForm is the value of the react action: an emoji on or off.
type reactForm struct{ Seq, Emoji string }

// seekForm is the value of the seek action: show message Seq of
// conversation Conv (a quoted message was clicked).
type seekForm struct {
	Conv conv
	Seq  string
}

// changeLocked queues a change to message seq (the actions check what
// the person may do; the server checks again) and returns the frames to
// write. A change of a message this client does not hold, or one deleted,
// is refused here with a notice. s.mu must be held.
func (s *service) changeLocked(seqText string, o outgoing, check func(shared.Message) *notice) [][]byte {
	seq, err := shared.ParseSeq(seqText)
	msg, _, found := s.m.find(seq)
	var bad *notice
	switch {
	case s.m.me == nil:
		bad = &notice{Key: "err.login.first", Error: true}
	case err != nil || !found:
		bad = &notice{Key: "err.no.message", Error: true}
	default:
		msg, _ = s.m.overlay(msg)
		if msg.Deleted {
			bad = &notice{Key: "err.no.message", Error: true}
		} else if check != nil {
			bad = check(msg)
		}
	}
	if bad != nil {
		s.notices["send"] = *bad
		s.changedLocked()
		return nil
	}
	o.CID, o.Ref = newCID(), seq
	if o.Op == opReact {
		o.On = !hasReacted(msg.Reactions, o.Data, s.m.me.ID)
	}
	if !s.authed {
		s.notices["send"] = info("queued.change")
	}
	s.changedLocked()
	return s.enqueueLocked(o)
}

// Edit replaces the text of one of the user's messages.
func (s *service) Edit(f editForm) {
	s.mu.Lock()
	frames := s.changeLocked(f.Seq, outgoing{Op: opEdit, Data: f.Text}, func(msg shared.Message) *notice {
		switch {
		case shared.Fold(msg.Sender) != s.m.meKey():
			return &notice{Key: "err.forbidden", Error: true}
		case strings.TrimSpace(f.Text) == "":
			n := invalid(shared.EventMessage, opEdit, shared.BadRequest("data", "empty"))
			return &n
		}
		if err := shared.ValidMessageText(f.Text, shared.DefaultMaxText); err != nil {
			n := invalid(shared.EventMessage, opEdit, err)
			return &n
		}
		return nil
	})
	gen := s.gen
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// Delete erases a message (the person confirmed it).
func (s *service) Delete(seq string) {
	s.mu.Lock()
	frames := s.changeLocked(seq, outgoing{Op: opDelete}, nil)
	gen := s.gen
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// React turns the user's reaction with an emoji on or off.
func (s *service) React(f reactForm) {
	s.mu.Lock()
	frames := s.changeLocked(f.Seq, outgoing{Op: opReact, Data: f.Emoji}, func(shared.Message) *notice {
		if err := shared.ValidEmoji("data", f.Emoji); err != nil {
			n := invalid(shared.EventMessage, opReact, err)
			return &n
		}
		return nil
	})
	gen := s.gen
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// Seek shows a message of a conversation: the one a reply quotes. When
// the open conversation does not hold it, older pages load until it
// shows (seekLocked); "All messages" opens its conversation first.
func (s *service) Seek(f seekForm) {
	s.mu.Lock()
	seq, err := shared.ParseSeq(f.Seq)
	if err != nil || s.m.me == nil {
		s.mu.Unlock()
		return
	}
	if s.m.selected == everything && !s.m.shows(seq) {
		s.m.selectConv(f.Conv)
	}
	s.m.seek, s.m.seekPages = seq, 0
	s.m.following = false
	s.seekLocked()
	s.changedLocked()
	frames := s.outq
	s.outq = nil
	gen := s.gen
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// seekMaxPages bounds how far back a seek loads: beyond it the quoted
// message is too far back to be worth the wait, and the person is told.
const seekMaxPages = 20

// seekLocked goes on with a seek after a page loaded: done when the
// message shows, another older page while there is one, a notice when it
// is not there. Frames to send go to s.outq. s.mu must be held.
func (s *service) seekLocked() {
	seq := s.m.seek
	if seq == 0 {
		return
	}
	if s.m.shows(seq) {
		s.m.seek, s.m.seekPages = 0, 0
		s.m.focus = seq
		s.m.focusN++
		return
	}
	c := s.m.selected
	t := s.m.convs[c]
	if c != everything && (t == nil || s.m.pageable(c, t) && t.from > seq) {
		if t != nil && t.loading {
			return // the page on its way calls again
		}
		if s.m.seekPages < seekMaxPages {
			if f := s.historyFrameLocked(c, true); f != nil {
				s.m.seekPages++
				s.outq = append(s.outq, f)
				return
			}
		}
	}
	s.m.seek, s.m.seekPages = 0, 0
	s.notices["send"] = failure("reply.gone")
}

// shows reports whether the selected view holds message seq.
func (m *model) shows(seq shared.Seq) bool {
	if m.selected == everything {
		for _, msg := range m.visible() {
			if msg.Seq == seq {
				return true
			}
		}
		return false
	}
	if t := m.convs[m.selected]; t != nil {
		_, found := t.find(seq)
		return found
	}
	return false
}
