// Package logtest is the conformance suite of server/log: what every Log
// (JetStream for the cluster, the in-process one of the single binary)
// must do, and what the Tail on top of it adds. A backend's test calls
// Run with a function that makes a fresh, empty Log for each subtest.
//
// The suite assumes nothing a backend may do differently: seqs increase
// but need not be contiguous, the records of one Append may be stored
// out of their order when one was retried, and ids and payloads
// round-trip.
package logtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	chatlog "chatapp/server/log"
)

// Timeout bounds each subtest; generous, because the machines that run
// the suite are loaded.
const Timeout = 2 * time.Minute

// Run runs every conformance test against logs made by newLog. newLog
// must return an empty log, and arrange its cleanup with t.Cleanup.
func Run(t *testing.T, newLog func(t *testing.T) chatlog.Log) {
	tests := []struct {
		name string
		fn   func(*testing.T, chatlog.Log)
	}{
		{"AppendAndFollow", testAppendAndFollow},
		{"Dedup", testDedup},
		{"FollowFrom", testFollowFrom},
		{"Replay", testReplay},
		{"ReplayLimit", testReplayLimit},
		{"ConditionalAppend", testConditionalAppend},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"NoGapVisible", testNoGapVisible},
		{"Erase", testErase},
		{"BadInput", testBadInput},
		{"TailRing", testTailRing},
		{"TailSync", testTailSync},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newLog(t))
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// rec is a message record of conversation key with payload data.
func rec(key, data string) chatlog.Record {
	return chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Message, Key: key}, Data: []byte(data)}
}

// appendOK appends recs and fails the test unless every record is stored.
func appendOK(t *testing.T, l chatlog.Log, recs ...chatlog.Record) []chatlog.Result {
	t.Helper()
	res, err := l.Append(ctxFor(t), recs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("Append: %d results for %d records", len(res), len(recs))
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Append: record %d: %v", i, r.Err)
		}
		if r.Seq == 0 {
			t.Fatalf("Append: record %d: seq 0", i)
		}
	}
	return res
}

// collect follows l from after until it has n events or the timeout.
func collect(t *testing.T, l chatlog.Log, after uint64, n int) []chatlog.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	var got []chatlog.Event
	done := errors.New("done")
	err := l.Follow(ctx, after, func(ev chatlog.Event) error {
		got = append(got, ev)
		if len(got) == n {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatalf("Follow from %d: %v after %d of %d events", after, err, len(got), n)
	}
	return got
}

// sameEvent fails unless ev is what r was stored as.
func sameEvent(t *testing.T, ev chatlog.Event, r chatlog.Record, seq uint64) {
	t.Helper()
	if ev.Seq != seq || ev.Topic != r.Topic || ev.ID != r.ID || !bytes.Equal(ev.Data, r.Data) ||
		!slices.Equal(ev.Erase, r.Erase) {
		t.Fatalf("event %+v, want seq %d of record %+v", ev, seq, r)
	}
	if ev.Time.IsZero() {
		t.Fatalf("event %d has no time", ev.Seq)
	}
}

func testAppendAndFollow(t *testing.T, l chatlog.Log) {
	recs := []chatlog.Record{
		rec("all", "hello"),
		{Topic: chatlog.Topic{Kind: chatlog.Message, Key: "r:größe.* >"}, ID: "bob\x1fcid-1", Data: []byte("room")},
		rec("d:a.b/c-d", "dm"),
		rec("d:x/x", "note to self"),
		{Topic: chatlog.Topic{Kind: chatlog.Control, Key: "r:größe.* >"}, Data: []byte("join")},
		{Topic: chatlog.Topic{Kind: chatlog.Control, Key: "u:bob"}, Data: []byte("account")},
		{Topic: chatlog.Topic{Kind: chatlog.Change, Key: "all", Ref: 1}, ID: "line\r\nbreak", Data: []byte("👍")},
		{Topic: chatlog.Topic{Kind: chatlog.Message, Key: "all"}}, // empty payload
	}
	start := time.Now()
	res := appendOK(t, l, recs...)
	// Records of one call usually get their seqs in order, but one that
	// had to be retried may land after the others: match by seq.
	bySeq := map[uint64]int{}
	var maxSeq uint64
	for i, r := range res {
		if r.Dup {
			t.Fatalf("record %d reported as a duplicate", i)
		}
		if _, ok := bySeq[r.Seq]; ok {
			t.Fatalf("seq %d given twice: %v", r.Seq, res)
		}
		bySeq[r.Seq], maxSeq = i, max(maxSeq, r.Seq)
	}
	got := collect(t, l, 0, len(recs))
	for j, ev := range got {
		if j > 0 && ev.Seq <= got[j-1].Seq {
			t.Fatalf("followed %d after %d", ev.Seq, got[j-1].Seq)
		}
		i, ok := bySeq[ev.Seq]
		if !ok {
			t.Fatalf("followed seq %d, which no record got", ev.Seq)
		}
		sameEvent(t, ev, recs[i], res[i].Seq)
		if ev.Time.Before(start.Add(-time.Minute)) || ev.Time.After(time.Now().Add(time.Minute)) {
			t.Fatalf("event %d time %v is not about now", ev.Seq, ev.Time)
		}
	}
	last, err := l.Last(ctxFor(t))
	if err != nil || last != maxSeq {
		t.Fatalf("Last = %d, %v; want %d", last, err, maxSeq)
	}
}

func testDedup(t *testing.T, l chatlog.Log) {
	a := chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Message, Key: "all"}, ID: "alice\x1fc1", Data: []byte("first")}
	first := appendOK(t, l, a)[0]
	again := a
	again.Data = []byte("retry") // a retry's payload is ignored
	res := appendOK(t, l, again, rec("all", "other"))
	if !res[0].Dup || res[0].Seq != first.Seq {
		t.Fatalf("retry: %+v, want dup of seq %d", res[0], first.Seq)
	}
	if res[1].Dup || res[1].Seq <= first.Seq {
		t.Fatalf("other: %+v", res[1])
	}
	// The same id twice in one batch: stored once.
	b := chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Message, Key: "all"}, ID: "alice\x1fc2", Data: []byte("x")}
	res2 := appendOK(t, l, b, b)
	if res2[0].Dup == res2[1].Dup || res2[1].Seq != res2[0].Seq {
		t.Fatalf("same id in one batch: %+v, want one stored and one duplicate", res2)
	}
	got := collect(t, l, 0, 3)
	if got[0].Seq != first.Seq || string(got[0].Data) != "first" || got[1].Seq != res[1].Seq || got[2].Seq != res2[0].Seq {
		t.Fatalf("followed %+v", got)
	}
	if l, err := l.Last(ctxFor(t)); err != nil || l != res2[0].Seq {
		t.Fatalf("Last = %d, %v: a duplicate was stored", l, err)
	}
}

func testFollowFrom(t *testing.T, l chatlog.Log) {
	var recs []chatlog.Record
	for i := range 10 {
		recs = append(recs, rec("all", fmt.Sprint(i)))
	}
	s := sorted(appendOK(t, l, recs...))
	// From the middle: the rest, then what comes later.
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	var got []chatlog.Event
	var mu sync.Mutex
	followed := make(chan error, 1)
	done := errors.New("done")
	go func() {
		followed <- l.Follow(ctx, s[4], func(ev chatlog.Event) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
			if len(got) == 8 {
				return done
			}
			return nil
		})
	}()
	later := sorted(appendOK(t, l, rec("all", "later1"), rec("all", "later2"), rec("all", "later3")))
	if err := <-followed; !errors.Is(err, done) {
		t.Fatalf("Follow: %v", err)
	}
	want := append(s[5:], later...)
	if g := evSeqs(got); !slices.Equal(g, want) {
		t.Fatalf("followed %v, want %v", g, want)
	}
	// From the last seq: only what is appended after.
	tail := appendOK(t, l, rec("all", "tail"))
	got2 := collect(t, l, later[2], 1)
	if got2[0].Seq != tail[0].Seq {
		t.Fatalf("from the end: %+v", got2)
	}
	// Follow ends with its context.
	ctx2, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel2()
	if err := l.Follow(ctx2, tail[0].Seq, func(chatlog.Event) error { return errors.New("no event expected") }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Follow past the end: %v, want the context's error", err)
	}
}

// replayFixture appends events of many conversations and control events
// and returns the records with their seqs.
func replayFixture(t *testing.T, l chatlog.Log) ([]chatlog.Record, []uint64) {
	keys := []string{"all", "r:a", "r:b", "d:u/v", "d:u/u", "d:v/w", "d:a/u", "r:u"}
	var recs []chatlog.Record
	for round := range 3 {
		for _, k := range keys {
			recs = append(recs, rec(k, fmt.Sprint(k, round)))
		}
		recs = append(recs, chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Control, Key: "r:a"}, Data: []byte("ctl")})
	}
	res := appendOK(t, l, recs...)
	// A change of the first "r:a" message.
	ch := chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Change, Key: "r:a", Ref: res[1].Seq}, Data: []byte("edit")}
	res = append(res, appendOK(t, l, ch)...)
	recs = append(recs, ch)
	return recs, seqs(res)
}

// expect returns the seqs of recs matching f in (after, upto], in
// increasing order (a batch's records may have been stored out of their
// order).
func expect(recs []chatlog.Record, s []uint64, f chatlog.Filter, after, upto uint64) []uint64 {
	var out []uint64
	for i, r := range recs {
		if s[i] > after && s[i] <= upto && f.Match(r.Topic) {
			out = append(out, s[i])
		}
	}
	slices.Sort(out)
	return out
}

func testReplay(t *testing.T, l chatlog.Log) {
	recs, s := replayFixture(t, l)
	last := s[len(s)-1]
	cases := []struct {
		name        string
		f           chatlog.Filter
		after, upto uint64
	}{
		{"all", chatlog.Filter{Convs: []string{"all"}}, 0, last},
		{"rooms", chatlog.Filter{Convs: []string{"r:a", "r:u"}}, 0, last},
		{"direct of u", chatlog.Filter{DirectOf: "u"}, 0, last},
		{"a user's view", chatlog.Filter{Convs: []string{"all", "r:a", "d:u/v"}, DirectOf: "u"}, 0, last},
		{"a range", chatlog.Filter{Convs: []string{"all", "r:b"}, DirectOf: "v"}, s[5], s[20]},
		{"nothing in range", chatlog.Filter{Convs: []string{"r:nobody"}}, 0, last},
		{"empty filter", chatlog.Filter{}, 0, last},
		{"empty range", chatlog.Filter{Convs: []string{"all"}}, s[10], s[10]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, more, err := l.Replay(ctxFor(t), c.f, c.after, c.upto, 0)
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			want := expect(recs, s, c.f, c.after, c.upto)
			if g := evSeqs(evs); !slices.Equal(g, want) || more {
				t.Fatalf("Replay = %v (more %v), want %v", g, more, want)
			}
			for _, ev := range evs {
				i := slices.Index(s, ev.Seq)
				sameEvent(t, ev, recs[i], s[i])
			}
		})
	}
}

func testReplayLimit(t *testing.T, l chatlog.Log) {
	recs, s := replayFixture(t, l)
	f := chatlog.Filter{Convs: []string{"all"}, DirectOf: "u"}
	all := expect(recs, s, f, 0, s[len(s)-1])
	for _, limit := range []int{1, 3, len(all) - 1, len(all), len(all) + 5} {
		evs, more, err := l.Replay(ctxFor(t), f, 0, s[len(s)-1], limit)
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		want := all[max(0, len(all)-limit):] // the newest
		if g := evSeqs(evs); !slices.Equal(g, want) || more != (limit < len(all)) {
			t.Fatalf("limit %d: %v (more %v), want %v", limit, g, more, want)
		}
	}
}

func testConditionalAppend(t *testing.T, l chatlog.Log) {
	msg := appendOK(t, l, rec("r:a", "message"))[0]
	change := func(ifLast uint64, data string) chatlog.Record {
		return chatlog.Record{
			Topic:  chatlog.Topic{Kind: chatlog.Change, Key: "r:a", Ref: msg.Seq},
			IfLast: chatlog.Last(ifLast),
			Data:   []byte(data),
		}
	}
	first := appendOK(t, l, change(0, "react on"))[0]
	// Another node decided against the state before first: refused.
	res, err := l.Append(ctxFor(t), []chatlog.Record{change(0, "react on, again")})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	var ce *chatlog.ConflictError
	if !errors.Is(res[0].Err, chatlog.ErrConflict) || !errors.As(res[0].Err, &ce) {
		t.Fatalf("stale conditional append: %+v, want a conflict", res[0])
	}
	if ce.Last != 0 && ce.Last != first.Seq {
		t.Fatalf("conflict names %d as the newest, want %d", ce.Last, first.Seq)
	}
	// Other topics do not count: a message in the room, a change of
	// another message.
	appendOK(t, l, rec("r:a", "busy room"))
	second := appendOK(t, l, change(first.Seq, "react off"))[0]
	// Control topics take conditions too.
	ctl := func(ifLast uint64) chatlog.Record {
		return chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Control, Key: "r:new"}, IfLast: chatlog.Last(ifLast), Data: []byte("create")}
	}
	created := appendOK(t, l, ctl(0))[0]
	res, _ = l.Append(ctxFor(t), []chatlog.Record{ctl(0)})
	if !errors.Is(res[0].Err, chatlog.ErrConflict) {
		t.Fatalf("second create: %+v, want a conflict", res[0])
	}
	evs, _, err := l.Replay(ctxFor(t), chatlog.Filter{Convs: []string{"r:a"}}, 0, second.Seq, 0)
	if err != nil || len(evs) != 4 || evs[1].Seq != first.Seq || evs[3].Seq != second.Seq {
		t.Fatalf("room after conditional appends: %v, %v", evSeqs(evs), err)
	}
	if last, _ := l.Last(ctxFor(t)); last != created.Seq {
		t.Fatalf("Last = %d after refused appends, want %d", last, created.Seq)
	}
}

func testConcurrentAppenders(t *testing.T, l chatlog.Log) {
	const writers, batches, per = 6, 8, 5
	var (
		mu  sync.Mutex
		all = map[uint64]string{}
		wg  sync.WaitGroup
	)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			var prev uint64 // the highest seq of this writer's earlier batches
			for b := range batches {
				var recs []chatlog.Record
				for i := range per {
					recs = append(recs, chatlog.Record{
						Topic: chatlog.Topic{Kind: chatlog.Message, Key: fmt.Sprintf("r:w%d", w%3)},
						ID:    fmt.Sprintf("w%d-%d-%d", w, b, i),
						Data:  fmt.Appendf(nil, "w%d-%d-%d", w, b, i),
					})
				}
				res, err := l.Append(t.Context(), recs)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				top := prev
				for i, r := range res {
					if r.Err != nil || r.Dup || r.Seq <= prev {
						mu.Unlock()
						errs <- fmt.Errorf("writer %d: %+v, an earlier batch got %d", w, r, prev)
						return
					}
					if _, ok := all[r.Seq]; ok {
						mu.Unlock()
						errs <- fmt.Errorf("seq %d given twice", r.Seq)
						return
					}
					all[r.Seq] = string(recs[i].Data)
					top = max(top, r.Seq)
				}
				prev = top
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := collect(t, l, 0, writers*batches*per)
	for i, ev := range got {
		if i > 0 && ev.Seq <= got[i-1].Seq {
			t.Fatalf("follow not in seq order: %d after %d", ev.Seq, got[i-1].Seq)
		}
		if all[ev.Seq] != string(ev.Data) {
			t.Fatalf("seq %d holds %q, its append said %q", ev.Seq, ev.Data, all[ev.Seq])
		}
	}
}

// testNoGapVisible runs appenders and a Tail together. Whenever the Tail
// has passed an acknowledged seq (Wait returned), every seq acknowledged
// before it and below it must already have been handed to the fan-out:
// that is what lets a client take a 200's seq as its offset.
func testNoGapVisible(t *testing.T, l chatlog.Log) {
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	tail := chatlog.NewTail(l, 64)
	var (
		mu   sync.Mutex
		seen = map[uint64]bool{}
		last uint64
	)
	tailErr := make(chan error, 1)
	go func() {
		tailErr <- tail.Run(ctx, 0, func(ev chatlog.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if ev.Seq <= last {
				return fmt.Errorf("fan-out got %d after %d", ev.Seq, last)
			}
			seen[ev.Seq], last = true, ev.Seq
			return nil
		})
	}()
	const writers, n = 4, 40
	var (
		ackMu sync.Mutex
		acked []uint64
		wg    sync.WaitGroup
	)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range n {
				res, err := l.Append(ctx, []chatlog.Record{rec(fmt.Sprintf("d:u%d/v", w), fmt.Sprint(i))})
				if err != nil || res[0].Err != nil {
					errs <- fmt.Errorf("append: %v %+v", err, res)
					return
				}
				s := res[0].Seq
				ackMu.Lock()
				before := slices.Clone(acked)
				acked = append(acked, s)
				ackMu.Unlock()
				if err := tail.Wait(ctx, s); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, b := range append(before, s) {
					if b <= s && !seen[b] {
						mu.Unlock()
						errs <- fmt.Errorf("tail passed %d but never handed over %d", s, b)
						return
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cancel()
	if err := <-tailErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("tail: %v", err)
	}
	if len(seen) != writers*n {
		t.Fatalf("fan-out saw %d events, %d were acknowledged", len(seen), writers*n)
	}
}

func testErase(t *testing.T, l chatlog.Log) {
	res := appendOK(t, l, rec("r:a", "secret"), rec("r:a", "kept"))
	edit := appendOK(t, l, chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Change, Key: "r:a", Ref: res[0].Seq}, Data: []byte("secret too")})
	del := chatlog.Record{
		Topic: chatlog.Topic{Kind: chatlog.Change, Key: "r:a", Ref: res[0].Seq},
		Erase: []uint64{res[0].Seq, edit[0].Seq},
	}
	delRes := appendOK(t, l, del)
	if err := l.Erase(ctxFor(t), del.Erase); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if err := l.Erase(ctxFor(t), del.Erase); err != nil {
		t.Fatalf("Erase again: %v", err)
	}
	evs, _, err := l.Replay(ctxFor(t), chatlog.Filter{Convs: []string{"r:a"}}, 0, delRes[0].Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g, want := evSeqs(evs), []uint64{res[1].Seq, delRes[0].Seq}; !slices.Equal(g, want) {
		t.Fatalf("replay after erase: %v, want %v", g, want)
	}
	sameEvent(t, evs[1], del, delRes[0].Seq)
	got := collect(t, l, 0, 2)
	if g, want := evSeqs(got), []uint64{res[1].Seq, delRes[0].Seq}; !slices.Equal(g, want) {
		t.Fatalf("follow after erase: %v, want %v", g, want)
	}
}

func testBadInput(t *testing.T, l chatlog.Log) {
	bad := []chatlog.Topic{
		{Kind: chatlog.Message, Key: ""},
		{Kind: chatlog.Message, Key: "r:"},
		{Kind: chatlog.Message, Key: "d:b/a"}, // not in order
		{Kind: chatlog.Message, Key: "d:a"},
		{Kind: chatlog.Message, Key: "ALL"},
		{Kind: chatlog.Message, Key: "all", Ref: 3},
		{Kind: chatlog.Change, Key: "all"},
		{Kind: chatlog.Control, Key: "all"},
		{Kind: 0, Key: "all"},
	}
	for _, tp := range bad {
		if _, err := l.Append(ctxFor(t), []chatlog.Record{{Topic: tp}}); err == nil {
			t.Errorf("Append accepted topic %+v", tp)
		}
	}
	if _, _, err := l.Replay(ctxFor(t), chatlog.Filter{Convs: []string{"d:z/a"}}, 0, 10, 0); err == nil {
		t.Error("Replay accepted a bad conversation key")
	}
	if last, err := l.Last(ctxFor(t)); err != nil || last != 0 {
		t.Fatalf("Last = %d, %v after refused appends", last, err)
	}
}

// testTailRing checks that a Tail's replays, from its ring alone or from
// the ring and the log together, are the log's own.
func testTailRing(t *testing.T, l chatlog.Log) {
	recs, s := replayFixture(t, l)
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	tail := chatlog.NewTail(l, 8) // smaller than the fixture: older ranges come from the log
	go tail.Run(ctx, 0, func(chatlog.Event) error { return nil })
	last := s[len(s)-1]
	if err := tail.Wait(ctx, last); err != nil {
		t.Fatal(err)
	}
	f := chatlog.Filter{Convs: []string{"all", "r:a"}, DirectOf: "u"}
	for _, after := range []uint64{0, s[10], s[len(s)-6], s[len(s)-2], last} {
		for _, limit := range []int{0, 1, 2, 5} {
			evs, more, err := tail.Replay(ctx, f, after, last, limit)
			if err != nil {
				t.Fatalf("tail replay after %d limit %d: %v", after, limit, err)
			}
			want, wantMore, err := l.Replay(ctx, f, after, last, limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(evSeqs(evs), evSeqs(want)) || more != wantMore {
				t.Fatalf("after %d limit %d: tail %v (%v), log %v (%v)", after, limit, evSeqs(evs), more, evSeqs(want), wantMore)
			}
			for _, ev := range evs {
				i := slices.Index(s, ev.Seq)
				sameEvent(t, ev, recs[i], s[i])
			}
		}
	}
	if _, _, err := tail.Replay(ctx, f, 0, last+1, 0); err == nil {
		t.Fatal("tail replayed beyond its position")
	}
	// A deletion followed by the tail drops the erased payloads from
	// its ring at once, before anyone calls Log.Erase.
	del := appendOK(t, l, chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Change, Key: "r:a", Ref: s[1]}, Erase: []uint64{s[len(s)-1]}})
	if err := tail.Wait(ctx, del[0].Seq); err != nil {
		t.Fatal(err)
	}
	before := slices.Sorted(slices.Values(s))[len(s)-2] // the seq just before the erased change
	evs, _, err := tail.Replay(ctx, chatlog.Filter{Convs: []string{"r:a"}}, before, del[0].Seq, 0)
	if err != nil || !slices.Equal(evSeqs(evs), []uint64{del[0].Seq}) {
		t.Fatalf("tail replay after a deletion: %v, %v", evSeqs(evs), err)
	}
}

// testTailSync checks the hand-off of a recovering socket: replay up to
// the position Sync gives, then every live event after it, without a gap
// or a duplicate, while appenders keep going.
func testTailSync(t *testing.T, l chatlog.Log) {
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	tail := chatlog.NewTail(l, 0)
	var (
		mu       sync.Mutex
		attached bool
		live     []uint64
	)
	go tail.Run(ctx, 0, func(ev chatlog.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if attached {
			live = append(live, ev.Seq)
		}
		return nil
	})
	var wg sync.WaitGroup
	var acked []uint64
	var ackMu sync.Mutex
	wg.Go(func() {
		for i := range 60 {
			res, err := l.Append(ctx, []chatlog.Record{rec("all", fmt.Sprint(i))})
			if err != nil || res[0].Err != nil {
				t.Errorf("append: %v %+v", err, res)
				return
			}
			ackMu.Lock()
			acked = append(acked, res[0].Seq)
			ackMu.Unlock()
		}
	})
	// Attach the "socket" once some events are in.
	for tail.Position() == 0 {
		time.Sleep(time.Millisecond)
	}
	var pos uint64
	tail.Sync(func(p uint64) {
		pos = p
		mu.Lock()
		attached = true
		mu.Unlock()
	})
	wg.Wait()
	ackMu.Lock()
	lastAck := acked[len(acked)-1]
	ackMu.Unlock()
	if err := tail.Wait(ctx, lastAck); err != nil {
		t.Fatal(err)
	}
	replayed, _, err := tail.Replay(ctx, chatlog.Filter{Convs: []string{"all"}}, 0, pos, 0)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append(evSeqs(replayed), live...)
	mu.Unlock()
	ackMu.Lock()
	want := slices.Sorted(slices.Values(acked))
	ackMu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("replay to %d then live: %v, want %v", pos, got, want)
	}
}

// sorted returns the seqs of res in increasing order.
func sorted(res []chatlog.Result) []uint64 { return slices.Sorted(slices.Values(seqs(res))) }

func seqs(res []chatlog.Result) []uint64 {
	out := make([]uint64, len(res))
	for i, r := range res {
		out[i] = r.Seq
	}
	return out
}

func evSeqs(evs []chatlog.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}
