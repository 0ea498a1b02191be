package app

import (
	"slices"
	"testing"

	"chatapp/shared"
)

// page returns the messages with seqs from..to of one conversation.
func pageOf(from, to int) []shared.Message {
	var out []shared.Message
	for s := from; s <= to; s++ {
		out = append(out, msg(s, "bob", "ALL", shared.CommandChat, "m"))
	}
	return out
}

// span checks the window's first and last seq and its length.
func span(t *testing.T, tl *timeline, first, last shared.Seq, n int) {
	t.Helper()
	if len(tl.msgs) != n || tl.msgs[0].Seq != first || tl.msgs[len(tl.msgs)-1].Seq != last {
		got := seqsOf(tl.msgs)
		if len(got) > 4 {
			got = []shared.Seq{got[0], got[len(got)-1]}
		}
		t.Fatalf("window %v (%d messages), want %d…%d (%d)", got, len(tl.msgs), first, last, n)
	}
}

// Reading back far: the window stays at most maxWindow, the pages dropped
// at the new end come back through their cursors, and messages that
// arrived meanwhile are in them; nothing is lost and nothing is doubled.
func TestTimeline_PagesBackAndForthWithoutAGap(t *testing.T) {
	t.Parallel()
	tl := &timeline{from: 1001}
	for s := 1001; s <= 1050; s++ { // live
		tl.live(msg(s, "bob", "ALL", shared.CommandChat, "m"))
	}
	// Scrolling up: pages of 50 before from.
	for tl.older() {
		before := tl.from
		if !tl.continues(before, true) {
			t.Fatal("a fresh request does not continue the window")
		}
		lo := max(1, int(before)-pageSize)
		tl.page(pageOf(lo, int(before)-1), pageSize, true)
		if len(tl.msgs) > maxWindow {
			t.Fatalf("window of %d messages", len(tl.msgs))
		}
	}
	span(t, tl, 1, 250, maxWindow)
	if tl.atLive() || len(tl.newer) == 0 {
		t.Fatal("no cursors for the dropped pages")
	}
	// Live messages while the newest pages are dropped.
	for s := 1051; s <= 1120; s++ {
		if !tl.live(msg(s, "bob", "ALL", shared.CommandChat, "m")) {
			t.Fatalf("live %d not taken", s)
		}
	}
	// Scrolling down: each cursor loads the page below it.
	all := pageOf(1, 1120)
	for !tl.atLive() {
		c := tl.newer[0]
		i, _ := slices.BinarySearchFunc(all, c, func(m shared.Message, s shared.Seq) int { return cmpSeq(m.Seq, s) })
		tl.page(all[max(0, i-pageSize):i], pageSize, false)
		if len(tl.msgs) > maxWindow {
			t.Fatalf("window of %d messages", len(tl.msgs))
		}
		for j := 1; j < len(tl.msgs); j++ {
			if tl.msgs[j].Seq != tl.msgs[j-1].Seq+1 {
				t.Fatalf("gap between %d and %d", tl.msgs[j-1].Seq, tl.msgs[j].Seq)
			}
		}
	}
	span(t, tl, 871, 1120, maxWindow)
	if tl.from != 871 {
		t.Fatalf("from %d after dropping the oldest pages", tl.from)
	}
}

// A page answered after the window moved is not merged: it would leave a
// gap.
func TestTimeline_StalePageIsRefused(t *testing.T) {
	t.Parallel()
	tl := &timeline{from: 100}
	tl.live(msg(100, "bob", "ALL", shared.CommandChat, "m"))
	before := tl.from
	tl.leave(101) // trimmed while the request was out: nothing to trim here
	if !tl.continues(before, true) {
		t.Fatal("an unchanged window refuses its page")
	}
	for s := 101; s <= 300; s++ {
		tl.live(msg(s, "bob", "ALL", shared.CommandChat, "m"))
	}
	tl.leave(301)
	if tl.continues(before, true) {
		t.Fatalf("a page before %d continues a window from %d", before, tl.from)
	}
	span(t, tl, 201, 300, keepTail)
}

func TestCalls_AnswerOnceAndLostWithTheirConnection(t *testing.T) {
	t.Parallel()
	var c calls
	var got []string
	record := func(name string) func(shared.Response) {
		return func(r shared.Response) { got = append(got, name+" "+r.Code) }
	}
	f := c.frame(1, "history", struct{}{}, record("a"))
	p, err := shared.DecodePacket(f[1:])
	if err != nil || p.ID != 1 || p.Type != shared.PacketEvent {
		t.Fatalf("frame %q: %+v %v", f, p, err)
	}
	c.frame(1, "message", struct{}{}, record("b"))
	c.frame(2, "message", struct{}{}, record("c"))
	if done, ok := c.answer(1); ok {
		done(shared.Response{Code: "200"})
	}
	if _, ok := c.answer(1); ok {
		t.Fatal("an ack id answered twice")
	}
	for _, done := range c.lost(1) {
		done(shared.Response{Code: codeLost})
	}
	if want := []string{"a 200", "b lost"}; !slices.Equal(got, want) {
		t.Fatalf("callbacks %v, want %v", got, want)
	}
	if len(c.waiting) != 1 {
		t.Fatalf("%d requests wait; the one on connection 2 should", len(c.waiting))
	}
}
