package app

import (
	"slices"
	"strings"
	"time"

	"chatapp/shared"
)

// The messages of the View: each message of the selected view as it
// shows, with the changes waiting in the outbox applied, its reactions,
// the message it answers, the day separators, the groups of one sender,
// and the "new messages" line.

// commonEmoji are the reactions the picker offers, in its order; the
// chips of a message follow it too, then the others by their text, so
// that they never move around.
var commonEmoji = []string{"👍", "❤️", "😂", "🎉", "😮", "😢"}

// messagesLocked fills v.Messages and v.Pending. s.mu must be held.
func (s *service) messagesLocked(v *View, now time.Time) {
	m, lang := s.m, s.lang
	me := m.meKey()
	owned := v.Room != nil && v.Room.Owned
	var prev *shared.Message
	line := m.newFrom > 0
	for _, msg := range m.visible() {
		msg, pending := m.overlay(msg)
		it := MsgItem{
			Seq: msg.Seq.String(), Stamp: msg.Time, Sender: msg.Sender,
			Alias: m.alias(msg.Sender), Text: msg.Data, Mine: shared.Fold(msg.Sender) == me,
			Edited: msg.Edited, Deleted: msg.Deleted, Pending: pending,
			Mention: m.mentionsMe(&msg), Mentions: msg.Mentions,
		}
		it.CanEdit = it.Mine && !it.Deleted
		it.CanDelete = (it.Mine || owned) && !it.Deleted
		it.Time = shortTime(lang, msg.Time, now)
		t, _ := time.Parse(time.RFC3339Nano, msg.Time)
		it.First, it.Day = true, dayLabel(lang, t, now)
		if prev != nil {
			pt, _ := time.Parse(time.RFC3339Nano, prev.Time)
			if sameDay(pt, t) {
				it.Day = ""
				it.First = shared.Fold(prev.Sender) != shared.Fold(msg.Sender) || t.Sub(pt) > groupGap
			}
		}
		if line && msg.Seq >= m.newFrom && !it.Mine {
			it.NewLine, it.First, line = true, true, false
		}
		if m.selected == everything {
			it.Conv = convOf(me, &msg)
			it.Where = s.whereLocked(it.Conv)
			it.To, it.Command = s.idOfLocked(it.Conv), it.Conv.command()
			if it.Conv.kind == kindAll {
				it.To = shared.All
			}
			it.First = it.First || prev == nil || convOf(me, prev) != it.Conv
		}
		it.Reactions = m.reactions(msg.Reactions)
		if msg.ReplyTo > 0 {
			it.Reply = m.quote(msg.ReplyTo)
		}
		v.Messages = append(v.Messages, it)
		prev = &msg
	}
	for _, o := range m.pending() {
		it := PendingItem{CID: o.CID, Text: o.Data}
		if m.selected == everything {
			msg := shared.Message{Sender: me, Recipient: o.Recipient, Command: o.Command}
			it.Where = s.whereLocked(convOf(me, &msg))
		}
		v.Pending = append(v.Pending, it)
	}
}

// reactions returns the chips of a message's reactions, in the picker's
// order, then the others by their text.
func (m *model) reactions(rs map[string][]string) []Reaction {
	if len(rs) == 0 {
		return nil
	}
	emoji := make([]string, 0, len(rs))
	for e := range rs {
		emoji = append(emoji, e)
	}
	rank := func(e string) int {
		if i := slices.Index(commonEmoji, e); i >= 0 {
			return i
		}
		return len(commonEmoji)
	}
	slices.SortFunc(emoji, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	out := make([]Reaction, 0, len(emoji))
	for _, e := range emoji {
		users := rs[e]
		names := make([]string, len(users))
		for i, u := range users {
			names[i] = m.alias(u)
		}
		out = append(out, Reaction{Emoji: e, Count: len(users), Mine: m.me != nil && hasReacted(rs, e, m.me.ID), Who: strings.Join(names, ", ")})
	}
	return out
}

// quote returns what a reply shows of the message it answers.
func (m *model) quote(seq shared.Seq) *Quote {
	orig, _, found := m.find(seq)
	if !found {
		return &Quote{Seq: seq.String(), Missing: true}
	}
	orig, _ = m.overlay(orig)
	return &Quote{Seq: seq.String(), Alias: m.alias(orig.Sender), Text: clip(orig.Data, 120), Deleted: orig.Deleted}
}
