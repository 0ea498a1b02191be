package store

import (
	"slices"
	"testing"

	"chatapp/shared"
)

// visibilityFixture:
//
//	users alice bob carol dave; room R1 {alice, bob}; room R2 {carol}
//	1 alice→bob   2 bob→alice   3 carol→dave   4 alice→ALL   5 alice→alice
//	6 bob→R1      7 carol→R2    8 dave→ALL     9 Carol→alice
func visibilityFixture(t *testing.T) *Store {
	t.Helper()
	s, _ := newStore(t, Options{})
	mustUser(t, s, "Alice", "bob", "Carol", "dave", "eve")
	mustRoom(t, s, "R1", "alice", "bob")
	mustRoom(t, s, "R2", "carol")
	for _, m := range []shared.Message{
		chat("Alice", "bob", "1"), chat("bob", "Alice", "2"), chat("Carol", "dave", "3"),
		chat("Alice", "ALL", "4"), chat("Alice", "Alice", "5"), group("bob", "R1", "6"),
		group("Carol", "R2", "7"), chat("dave", "ALL", "8"), chat("Carol", "Alice", "9"),
	} {
		mustAppend(t, s, m)
	}
	return s
}

func seqsOf(msgs []shared.Message) []int {
	out := []int{}
	for _, m := range msgs {
		out = append(out, int(m.Seq))
	}
	return out
}

var visible = map[string][]int{
	"alice": {1, 2, 4, 5, 6, 8, 9},
	"BOB":   {1, 2, 4, 6, 8},
	"carol": {3, 4, 7, 8, 9},
	"Dave":  {3, 4, 8},
	"eve":   {4, 8},
	"zed":   {4, 8}, // no account: sees ALL only
}

func TestSinceVisibility(t *testing.T) {
	s := visibilityFixture(t)
	ctx := t.Context()
	for user, want := range visible {
		msgs, more, err := s.Since(ctx, user, 0, 9, 100)
		if err != nil || more || !slices.Equal(seqsOf(msgs), want) {
			t.Errorf("Since(%s) = %v more=%v %v; want %v", user, seqsOf(msgs), more, err, want)
		}
		// Paging by 2 gives the same, with more on every page but the last.
		var paged []int
		after := shared.Seq(0)
		for {
			page, more, err := s.Since(ctx, user, after, 9, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 || (more && len(page) != 2) {
				t.Fatalf("Since(%s) page %v more=%v", user, seqsOf(page), more)
			}
			paged = append(paged, seqsOf(page)...)
			if !more {
				break
			}
			after = page[len(page)-1].Seq
		}
		if !slices.Equal(paged, want) {
			t.Errorf("Since(%s) paged = %v, want %v", user, paged, want)
		}
	}

	// Range bounds: after < seq <= upto.
	msgs, more, err := s.Since(ctx, "alice", 2, 6, 100)
	if err != nil || more || !slices.Equal(seqsOf(msgs), []int{4, 5, 6}) {
		t.Fatalf("Since(alice, 2, 6) = %v %v %v", seqsOf(msgs), more, err)
	}
	msgs, more, err = s.Since(ctx, "alice", 2, 6, 3)
	if err != nil || more || len(msgs) != 3 {
		t.Fatalf("Since(alice, 2, 6, limit 3) = %v more=%v %v; want 3, no more (upto bounds it)", seqsOf(msgs), more, err)
	}
	msgs, _, _ = s.Since(ctx, "alice", 6, 6, 10)
	if msgs == nil || len(msgs) != 0 {
		t.Fatalf("empty range = %#v, want non-nil empty", msgs)
	}
	if _, _, err := s.Since(ctx, "alice", 0, 9, 0); err == nil {
		t.Fatal("Since with limit 0 succeeded")
	}

	// Full messages come back.
	msgs, _, _ = s.Since(ctx, "dave", 2, 3, 10)
	if len(msgs) != 1 || msgs[0].Sender != "Carol" || msgs[0].Recipient != "dave" || msgs[0].Data != "3" || msgs[0].Command != "chat" || msgs[0].Time == "" {
		t.Fatalf("message 3 = %+v", msgs)
	}

	// Room messages are visible to current members only.
	if err := s.Leave(ctx, "r1", "ALICE"); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ = s.Since(ctx, "alice", 0, 9, 100)
	if want := []int{1, 2, 4, 5, 8, 9}; !slices.Equal(seqsOf(msgs), want) {
		t.Fatalf("after Leave: %v, want %v", seqsOf(msgs), want)
	}
	if err := s.Join(ctx, "R2", "eve"); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ = s.Since(ctx, "eve", 0, 9, 100)
	if want := []int{4, 7, 8}; !slices.Equal(seqsOf(msgs), want) {
		t.Fatalf("after Join: %v, want %v (room history comes with membership)", seqsOf(msgs), want)
	}
}

func TestCountSinceAndNthNewest(t *testing.T) {
	s := visibilityFixture(t)
	ctx := t.Context()
	for user, want := range visible {
		n, err := s.CountSince(ctx, user, 0, 9, 100)
		if err != nil || n != len(want) {
			t.Errorf("CountSince(%s) = %d, %v; want %d", user, n, err, len(want))
		}
		n, err = s.CountSince(ctx, user, 0, 9, 1)
		if err != nil || n != min(len(want), 2) {
			t.Errorf("CountSince(%s, max 1) = %d, %v; want %d (max+1)", user, n, err, min(len(want), 2))
		}
		for k := 1; k <= len(want); k++ {
			seq, err := s.NthNewest(ctx, user, 0, 9, k)
			if err != nil || int(seq) != want[len(want)-k] {
				t.Errorf("NthNewest(%s, %d) = %d, %v; want %d", user, k, seq, err, want[len(want)-k])
			}
		}
		// Fewer than n: the oldest visible.
		if seq, err := s.NthNewest(ctx, user, 0, 9, 100); err != nil || int(seq) != want[0] {
			t.Errorf("NthNewest(%s, 100) = %d, %v; want oldest %d", user, seq, err, want[0])
		}
	}
	// Ranges.
	if n, _ := s.CountSince(ctx, "alice", 4, 8, 100); n != 3 { // 5 6 8
		t.Errorf("CountSince(alice, 4, 8) = %d, want 3", n)
	}
	if n, _ := s.CountSince(ctx, "alice", 8, 8, 100); n != 0 {
		t.Errorf("CountSince empty range = %d", n)
	}
	if seq, _ := s.NthNewest(ctx, "alice", 0, 6, 2); seq != 5 {
		t.Errorf("NthNewest(alice, upto 6, 2) = %d, want 5", seq)
	}
	_, err := s.NthNewest(ctx, "dave", 4, 7, 1)
	wantErr(t, "NthNewest none visible", err, ErrNotFound)
	_, err = s.NthNewest(ctx, "dave", 0, 9, 0)
	wantErr(t, "NthNewest n=0", err, ErrNotFound)

	// The replay cap as the server uses it: count > max → start at the
	// max-th newest.
	const max = 3
	if n, _ := s.CountSince(ctx, "alice", 0, 9, max); n <= max {
		t.Fatalf("count = %d, want > %d", n, max)
	}
	first, _ := s.NthNewest(ctx, "alice", 0, 9, max)
	msgs, _, _ := s.Since(ctx, "alice", first-1, 9, 100)
	if !slices.Equal(seqsOf(msgs), []int{6, 8, 9}) {
		t.Fatalf("capped replay = %v, want newest 3 [6 8 9]", seqsOf(msgs))
	}
}

func TestLastVisibleSeq(t *testing.T) {
	s := visibilityFixture(t)
	for user, want := range visible {
		seq, err := s.LastVisibleSeq(t.Context(), user)
		if err != nil || int(seq) != want[len(want)-1] {
			t.Errorf("LastVisibleSeq(%s) = %d, %v; want %d", user, seq, err, want[len(want)-1])
		}
	}
	empty, _ := newStore(t, Options{})
	if seq, err := empty.LastVisibleSeq(t.Context(), "alice"); err != nil || seq != 0 {
		t.Fatalf("LastVisibleSeq on empty store = %d, %v", seq, err)
	}
}

func TestHistory(t *testing.T) {
	s := visibilityFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		q    HistoryQuery
		want []int
	}{
		{HistoryQuery{User: "alice", Command: "groupchat", Target: "r1"}, []int{6}},
		{HistoryQuery{User: "carol", Command: "groupchat", Target: "R2"}, []int{7}},
		{HistoryQuery{User: "eve", Command: "chat", Target: "all"}, []int{4, 8}},
		{HistoryQuery{User: "ALICE", Command: "chat", Target: "Bob"}, []int{1, 2}},
		{HistoryQuery{User: "bob", Command: "chat", Target: "alice"}, []int{1, 2}},
		{HistoryQuery{User: "alice", Command: "chat", Target: "alice"}, []int{5}},
		{HistoryQuery{User: "alice", Command: "chat", Target: "carol"}, []int{9}},
		{HistoryQuery{User: "dave", Command: "chat", Target: "carol"}, []int{3}},
		{HistoryQuery{User: "alice", Command: "chat", Target: "dave"}, []int{}},
		{HistoryQuery{User: "alice", Command: "groupchat", Target: "nowhere"}, []int{}},
		// Newest Limit, oldest first; Before is exclusive.
		{HistoryQuery{User: "x", Command: "chat", Target: "ALL", Limit: 1}, []int{8}},
		{HistoryQuery{User: "x", Command: "chat", Target: "ALL", Before: 8}, []int{4}},
		{HistoryQuery{User: "x", Command: "chat", Target: "ALL", Before: 4}, []int{}},
		{HistoryQuery{User: "bob", Command: "chat", Target: "alice", Limit: 1}, []int{2}},
		{HistoryQuery{User: "bob", Command: "chat", Target: "alice", Before: 2}, []int{1}},
	} {
		msgs, err := s.History(ctx, tc.q)
		if err != nil || msgs == nil || !slices.Equal(seqsOf(msgs), tc.want) {
			t.Errorf("History(%+v) = %v (nil %v), %v; want %v", tc.q, seqsOf(msgs), msgs == nil, err, tc.want)
		}
	}
	if _, err := s.History(ctx, HistoryQuery{User: "a", Command: "shout", Target: "b"}); err == nil {
		t.Error("History with unknown command succeeded")
	}
}

func TestHistoryPaging(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	mustUser(t, s, "a", "b")
	var want []int
	for i := range 120 {
		from, to := "a", "b"
		if i%3 == 0 {
			from, to = "b", "a"
		}
		want = append(want, int(mustAppend(t, s, chat(from, to, "x")).Seq))
		mustAppend(t, s, chat("a", "ALL", "noise"))
	}
	var got []int
	before := shared.Seq(0)
	for {
		page, err := s.History(ctx, HistoryQuery{User: "b", Command: "chat", Target: "A", Before: before, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if !slices.IsSorted(seqsOf(page)) {
			t.Fatalf("page not oldest first: %v", seqsOf(page))
		}
		got = append(seqsOf(page), got...)
		before = page[0].Seq
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged history has %d messages, want %d in order", len(got), len(want))
	}
	// Limit 0 means the default.
	page, _ := s.History(ctx, HistoryQuery{User: "b", Command: "chat", Target: "a"})
	if len(page) != shared.DefaultLimit {
		t.Fatalf("default limit page = %d", len(page))
	}
}
