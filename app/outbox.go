package app

import (
	"slices"
	"time"

	"chatapp/shared"
)

// The outbox: what the user did that the server has not answered 200 yet,
// in the order it was done. Messages, edits, deletions, reactions and read
// marks all wait here, persisted (storage.go), and go out once the socket
// is logged in, oldest first, with the same cid after a reconnect or a
// reload: the server answers a repeated cid with the first seq and does
// not apply it twice (PROTOCOL.md 4.3). Until then the page shows them as
// if done, marked as waiting.

// The operations of the outbox (outgoing.Op).
const (
	opMessage = ""                   // a new message
	opEdit    = shared.CommandEdit   // new text for one of the user's messages
	opDelete  = shared.CommandDelete // erase a message
	opReact   = shared.CommandReact  // a reaction on or off
	opRead    = shared.EventRead     // a read mark
)

// outgoing is one operation of the outbox.
type outgoing struct {
	Op  string `json:"op,omitempty"`
	CID string `json:"cid"`
	// Recipient and Command: where a message goes, or the conversation
	// of a read mark (its target and command).
	Recipient string `json:"recepient,omitempty"`
	Command   string `json:"command,omitempty"`
	// Data: the text of a message or an edit, the emoji of a reaction.
	Data    string     `json:"data,omitempty"`
	ReplyTo shared.Seq `json:"replyTo,omitempty"` // a message: the one it answers
	Ref     shared.Seq `json:"ref,omitempty"`     // a change: the message changed
	// On: a reaction is wanted on (else off). The server toggles; the
	// client applies the answer as this state, which is what the person
	// saw when they clicked.
	On  bool       `json:"on,omitempty"`
	Seq shared.Seq `json:"seq,omitempty"` // a read mark
	// Created is when a message was typed, RFC 3339 (display only).
	Created string `json:"created,omitempty"`

	// sentIn is the connection generation it was last written on; 0 means
	// it waits to be sent. Not persisted: after a reload everything waits.
	sentIn int64
}

// isChange reports whether o changes an earlier message.
func (o *outgoing) isChange() bool { return shared.IsChange(o.Op) }

// request returns the event and payload that carry o.
func (o *outgoing) request() (string, any) {
	switch {
	case o.Op == opRead:
		seq := o.Seq
		return shared.EventRead, shared.ReadRequest{Target: o.Recipient, Command: o.Command, Seq: &seq}
	case o.isChange():
		ref := o.Ref
		return shared.EventMessage, shared.SendMessage{Command: o.Op, Ref: &ref, Data: o.Data, CID: o.CID}
	}
	req := shared.SendMessage{Recipient: o.Recipient, Command: o.Command, Type: shared.TypeText, Data: o.Data, CID: o.CID}
	if o.ReplyTo > 0 {
		r := o.ReplyTo
		req.ReplyTo = &r
	}
	return shared.EventMessage, req
}

// asEvent is the change o as the server delivers it, for applying the
// answer to it: the sending socket of a change to a direct message gets
// only the answer (PROTOCOL.md 4.6).
func (o *outgoing) asEvent(me string, seq shared.Seq, at string) shared.Message {
	on := o.On
	return shared.Message{Seq: seq, Time: at, Sender: me, Command: o.Op, Ref: o.Ref, Data: o.Data, On: &on}
}

// queue adds an operation, folding it into what waits unsent: a second
// read mark of a conversation replaces the first; a reaction clicked
// again cancels the one not sent yet; a second edit of a message replaces
// the text of the first; a deletion drops the edits and reactions of its
// message that were not sent. It reports whether o itself was queued.
func (m *model) queue(o outgoing) bool {
	unsent := func(match func(p *outgoing) bool) int {
		return slices.IndexFunc(m.outbox, func(p outgoing) bool { return p.sentIn == 0 && match(&p) })
	}
	m.outbox = slices.Clip(m.outbox)
	switch o.Op {
	case opRead:
		c := convNamed(o.Recipient, o.Command)
		m.outbox = slices.DeleteFunc(m.outbox, func(p outgoing) bool {
			return p.sentIn == 0 && p.Op == opRead && convNamed(p.Recipient, p.Command) == c
		})
	case opReact:
		if i := unsent(func(p *outgoing) bool { return p.Op == opReact && p.Ref == o.Ref && p.Data == o.Data }); i >= 0 {
			m.outbox = slices.Delete(m.outbox, i, i+1)
			return false
		}
	case opEdit:
		if i := unsent(func(p *outgoing) bool { return p.Op == opEdit && p.Ref == o.Ref }); i >= 0 {
			m.outbox[i].Data = o.Data
			return false
		}
	case opDelete:
		m.outbox = slices.DeleteFunc(m.outbox, func(p outgoing) bool {
			return p.sentIn == 0 && (p.Op == opEdit || p.Op == opReact) && p.Ref == o.Ref
		})
	}
	m.outbox = append(m.outbox, o)
	return true
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

// acked applies the 200 answer to an operation of ours: a message joins
// its conversation, a change is applied to its message. A read mark was
// applied when it was made.
func (m *model) acked(cid string, seq shared.Seq, at string) {
	o, ok := m.findOutgoing(cid)
	if !ok || m.me == nil {
		return
	}
	m.dropOutgoing(cid)
	switch {
	case o.Op == opMessage:
		msg := shared.Message{
			Seq: seq, Time: at, Sender: m.me.ID, Recipient: o.Recipient,
			Command: o.Command, Type: shared.TypeText, Data: o.Data, CID: cid, ReplyTo: o.ReplyTo,
		}
		c := convOf(m.meKey(), &msg)
		m.counted(c, &msg, true)
		m.timeline(c).live(msg)
	case o.isChange():
		ev := o.asEvent(m.me.ID, seq, at)
		if c, _, found := m.applyChange(ev); found {
			m.counted(c, &ev, true)
		}
	}
}

// overlay returns msg as the person sees it: with the changes to it that
// wait in the outbox applied. pending reports whether there were any.
func (m *model) overlay(msg shared.Message) (shared.Message, bool) {
	pending := false
	for i := range m.outbox {
		if o := &m.outbox[i]; o.isChange() && o.Ref == msg.Seq {
			msg = changed(msg, o.asEvent(m.me.ID, 0, ""))
			pending = true
		}
	}
	return msg, pending
}

// pending returns the messages of the outbox in the selected
// conversation.
func (m *model) pending() []outgoing {
	var out []outgoing
	me := m.meKey()
	for _, o := range m.outbox {
		if o.Op != opMessage {
			continue
		}
		msg := shared.Message{Sender: me, Recipient: o.Recipient, Command: o.Command}
		if m.selected == everything || convOf(me, &msg) == m.selected {
			out = append(out, o)
		}
	}
	return out
}

// outboxFramesLocked marks every waiting outbox entry as sent on the
// current connection and returns their frames, oldest first.
func (s *service) outboxFramesLocked() [][]byte {
	if s.gen == 0 || !s.authed {
		return nil
	}
	var frames [][]byte
	for i := range s.m.outbox {
		o := &s.m.outbox[i]
		if o.sentIn != 0 {
			continue
		}
		o.sentIn = s.gen
		cid := o.CID
		name, payload := o.request()
		_, f := s.requestLocked(name, payload, func(r shared.Response) { s.outboxAnswerLocked(cid, r) })
		frames = append(frames, f)
	}
	return frames
}

// outboxAnswerLocked handles the answer to an outbox operation: done,
// to be sent again later, or refused for good (said near the composer,
// except for read marks, which nobody waits for).
func (s *service) outboxAnswerLocked(cid string, r shared.Response) {
	switch r.Code {
	case shared.CodeOK:
		seq, err := shared.ParseSeq(r.Seq)
		if err != nil && r.Seq != "" {
			return
		}
		s.m.acked(cid, seq, r.Time)
		s.saveOutboxLocked()
		s.dirty = true
		if len(s.m.outbox) == 0 {
			delete(s.notices, "send") // "queued" or "too many requests": the queue drained
		}
	case shared.CodeTooManyRequests, shared.CodeInternal, shared.CodeUnauthorized, codeLost:
		// Kept; sent again after a pause, the next connection or login.
		for i := range s.m.outbox {
			if s.m.outbox[i].CID == cid {
				s.m.outbox[i].sentIn = 0
			}
		}
		if r.Code == shared.CodeTooManyRequests || r.Code == shared.CodeInternal {
			s.notices["send"] = refusal(shared.EventMessage, "", r)
			time.AfterFunc(retryLater, s.flushOutbox)
		}
	default:
		o, _ := s.m.findOutgoing(cid)
		s.m.dropOutgoing(cid)
		s.saveOutboxLocked()
		if o.Op == opRead {
			return
		}
		n := refusal(shared.EventMessage, o.Op, r)
		n.Quote = clip(o.Data, 40)
		s.notices["send"] = n
		if r.Code == shared.CodeForbidden && o.Op == opMessage && o.Command == shared.CommandGroupchat {
			s.m.member[shared.Fold(o.Recipient)] = false
		}
	}
}

// flushOutbox sends what waits in the outbox, if the socket is logged in.
func (s *service) flushOutbox() {
	s.mu.Lock()
	gen := s.gen
	frames := s.outboxFramesLocked()
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// enqueueLocked queues an operation (persisted at once) and returns the
// frames to write after unlocking: it and anything else that waits, when
// the socket is logged in. s.mu must be held.
func (s *service) enqueueLocked(o outgoing) [][]byte {
	s.m.queue(o)
	s.saveOutboxLocked()
	s.dirty = true
	return s.outboxFramesLocked()
}
