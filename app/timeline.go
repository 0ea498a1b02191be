package app

import (
	"slices"

	"chatapp/shared"
)

// Paging of a conversation's messages.
const (
	// pageSize is how many messages one history request asks for.
	pageSize = 50
	// maxWindow is the most messages one conversation holds in memory.
	// Past it, pages far from what the person reads are dropped, and
	// loaded again with history when they scroll back.
	maxWindow = 250
	// keepTail is what a conversation keeps of its newest messages once
	// the person leaves it.
	keepTail = 2 * pageSize
)

// timeline is what the client holds of one conversation: a window of
// consecutive messages. "Consecutive" is the invariant everything here
// keeps: between msgs[0] and the last message the window holds every
// message of the conversation, so a history request with before =
// msgs[0].Seq continues it without a gap, and a live message belongs at
// its end.
//
// The window reaches the newest message unless pages were dropped at the
// new end while the person read far back: then newer holds one cursor per
// dropped page (the before of the history request that loads it again),
// nearest first, and live messages only move the last cursor.
type timeline struct {
	msgs []shared.Message // sorted by seq, no duplicates
	// from: the window holds every message of the conversation from this
	// seq on (from ≤ msgs[0].Seq); the server may hold older ones. 0: it
	// holds them all (a page came back short, or the replay was complete).
	from shared.Seq
	// newer are the cursors of dropped pages at the new end; empty when
	// msgs reach the newest message. lastCount is how many messages the
	// last cursor's page holds.
	newer     []shared.Seq
	lastCount int
	// loading: a history request for this conversation is out.
	loading bool
}

func (t *timeline) atLive() bool { return len(t.newer) == 0 }

// older reports whether the server may hold older messages: a history
// request with before = t.from loads them.
func (t *timeline) older() bool { return t.from > 0 }

func cmpSeq(a, b shared.Seq) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// find returns where seq is or belongs in msgs.
func (t *timeline) find(seq shared.Seq) (int, bool) {
	return slices.BinarySearchFunc(t.msgs, seq, func(e shared.Message, s shared.Seq) int { return cmpSeq(e.Seq, s) })
}

// live adds a message that just arrived (live or replayed), the newest
// of its conversation. It reports whether it was new. While pages are
// dropped at the new end it only moves the last cursor: the message is
// loaded with that page.
func (t *timeline) live(m shared.Message) bool {
	if i, found := t.find(m.Seq); found {
		t.msgs[i] = m // the server's copy wins over one built from an ack
		return false
	}
	if !t.atLive() {
		if len(t.newer) > 0 && m.Seq < t.newer[len(t.newer)-1] {
			return false // already inside a dropped page
		}
		if t.lastCount < pageSize {
			t.newer[len(t.newer)-1] = m.Seq + 1
			t.lastCount++
		} else {
			t.newer = append(t.newer, m.Seq+1)
			t.lastCount = 1
		}
		return true
	}
	i, _ := t.find(m.Seq)
	t.msgs = slices.Insert(slices.Clip(t.msgs), i, m)
	return true
}

// page merges the answer to a history request that asked for limit
// messages: before t.from (older) or the page of the first newer cursor.
func (t *timeline) page(msgs []shared.Message, limit int, older bool) {
	for _, m := range msgs {
		if i, found := t.find(m.Seq); found {
			t.msgs[i] = m
		} else {
			t.msgs = slices.Insert(slices.Clip(t.msgs), i, m)
		}
	}
	if older {
		t.from = 0
		if len(msgs) >= limit {
			t.from = msgs[0].Seq
		}
		if len(t.msgs) > maxWindow {
			t.dropNewest(len(t.msgs) - maxWindow)
		}
		return
	}
	if len(t.newer) > 0 {
		t.newer = t.newer[1:]
		if len(t.newer) == 0 {
			t.lastCount = 0
		}
	}
	if len(t.msgs) > maxWindow {
		t.dropOldest(len(t.msgs) - maxWindow)
	}
}

// dropOldest forgets the n oldest messages; they are loaded again with
// history.
func (t *timeline) dropOldest(n int) {
	if n <= 0 {
		return
	}
	n = min(n, len(t.msgs))
	if n == len(t.msgs) {
		t.from = t.msgs[n-1].Seq + 1
	} else {
		t.from = t.msgs[n].Seq
	}
	t.msgs = slices.Clone(t.msgs[n:])
}

// dropNewest forgets at least n of the newest messages, in pages, and
// keeps a cursor for each.
func (t *timeline) dropNewest(n int) {
	var cursors []shared.Seq
	first := t.atLive()
	for dropped := 0; dropped < n && len(t.msgs) > 0; {
		k := min(pageSize, len(t.msgs))
		cursors = append(cursors, t.msgs[len(t.msgs)-1].Seq+1)
		if first && len(cursors) == 1 {
			t.lastCount = k
		}
		t.msgs = t.msgs[:len(t.msgs)-k]
		dropped += k
	}
	slices.Reverse(cursors)
	t.newer = append(cursors, t.newer...)
	t.msgs = slices.Clone(t.msgs)
}

// leave shrinks a conversation the person no longer looks at: to its
// newest keepTail messages, or, when it does not reach the newest, to
// nothing: it holds what arrives from next on (next is the seq after
// the newest one received), and loads the rest when opened.
func (t *timeline) leave(next shared.Seq) {
	if !t.atLive() {
		*t = timeline{from: next}
		return
	}
	t.dropOldest(len(t.msgs) - keepTail)
}

// continues reports whether the answer to a history request asked with
// before still fits the window: it changed meanwhile (trimmed, or a
// newer page arrived) when the request's edge is no longer its edge.
func (t *timeline) continues(before shared.Seq, older bool) bool {
	if !older {
		return len(t.newer) > 0 && t.newer[0] == before
	}
	return t.from == before
}
