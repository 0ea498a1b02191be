package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	chatlog "chatapp/server/log"
	"chatapp/server/log/jetstream/natstest"
)

// load appends records with ids from several writers until stop is
// closed, the way nodes answering clients would: each record is retried
// with its id (its cid) until it is acknowledged, so none is given up.
type load struct {
	l *Log

	mu    sync.Mutex
	acked map[string]uint64 // record id → seq
	data  map[string]string // record id → payload
	times []time.Time       // when each acknowledgement arrived
	fails int               // Appends answered ErrUnavailable (then retried)
}

func newLoad(l *Log) *load {
	return &load{l: l, acked: map[string]uint64{}, data: map[string]string{}}
}

// run starts writers single-record writers and one writer of batches of
// 10; it returns when stop is closed and every writer has finished its
// current record.
func (ld *load) run(t *testing.T, writers int, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for w := range writers + 1 {
		wg.Go(func() {
			size := 1
			if w == writers {
				size = 10
			}
			var prev uint64
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var recs []chatlog.Record
				for j := range size {
					id := fmt.Sprintf("w%d/%d/%d", w, i, j)
					recs = append(recs, chatlog.Record{
						Topic: chatlog.Topic{Kind: chatlog.Message, Key: fmt.Sprintf("r:room%d", w%2)},
						ID:    id,
						Data:  []byte("payload " + id),
					})
				}
				res := ld.appendUntilStored(t, recs)
				if res == nil {
					return
				}
				ld.mu.Lock()
				for j, r := range res {
					if r.Seq <= prev {
						t.Errorf("writer %d got seq %d after its own %d", w, r.Seq, prev)
					}
					ld.acked[recs[j].ID] = r.Seq
					ld.data[recs[j].ID] = string(recs[j].Data)
				}
				for _, r := range res {
					prev = max(prev, r.Seq)
				}
				ld.times = append(ld.times, time.Now())
				ld.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// appendUntilStored appends recs, and appends again the ones answered
// ErrUnavailable, until all are stored (nil if the test is over).
func (ld *load) appendUntilStored(t *testing.T, recs []chatlog.Record) []chatlog.Result {
	out := make([]chatlog.Result, len(recs))
	todo := slices.Collect(func(yield func(int) bool) {
		for i := range recs {
			if !yield(i) {
				return
			}
		}
	})
	for len(todo) > 0 {
		batch := make([]chatlog.Record, len(todo))
		for k, i := range todo {
			batch[k] = recs[i]
		}
		res, err := ld.l.Append(t.Context(), batch)
		if err != nil {
			if t.Context().Err() == nil {
				t.Errorf("Append: %v", err)
			}
			return nil
		}
		var again []int
		for k, r := range res {
			switch {
			case r.Err == nil:
				out[todo[k]] = r
			case errors.Is(r.Err, chatlog.ErrUnavailable):
				again = append(again, todo[k])
				ld.mu.Lock()
				ld.fails++
				ld.mu.Unlock()
			default:
				t.Errorf("Append %s: %v", recs[todo[k]].ID, r.Err)
				return nil
			}
		}
		todo = again
	}
	return out
}

func (ld *load) count() int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return len(ld.acked)
}

// longestSilence is the longest time between two acknowledgements after
// from: how long appends stalled while the stream's leader moved.
func (ld *load) longestSilence(from time.Time) time.Duration {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ts := slices.Clone(ld.times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var longest time.Duration
	prev := from
	for _, tm := range ts {
		if tm.Before(from) {
			continue
		}
		longest = max(longest, tm.Sub(prev))
		prev = tm
	}
	return longest
}

// verify follows the stream from the start and checks that every
// acknowledged record is there once, at its seq, with its payload, and
// that no id was stored twice.
func (ld *load) verify(t *testing.T, l *Log) {
	t.Helper()
	last, err := l.Last(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ld.mu.Lock()
	defer ld.mu.Unlock()
	stored := map[string]uint64{}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	done := errors.New("done")
	err = l.Follow(ctx, 0, func(ev chatlog.Event) error {
		if s, ok := stored[ev.ID]; ok {
			return fmt.Errorf("id %s stored twice: %d and %d", ev.ID, s, ev.Seq)
		}
		stored[ev.ID] = ev.Seq
		if want, ok := ld.data[ev.ID]; ok && string(ev.Data) != want {
			return fmt.Errorf("seq %d holds %q, want %q", ev.Seq, ev.Data, want)
		}
		if ev.Seq == last {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatalf("follow: %v", err)
	}
	for id, seq := range ld.acked {
		if stored[id] != seq {
			t.Fatalf("acknowledged %s at seq %d, the stream has it at %d", id, seq, stored[id])
		}
	}
	t.Logf("%d records acknowledged, %d stored (the rest were in flight when the load stopped), %d appends retried by the caller after ErrUnavailable",
		len(ld.acked), len(stored), ld.fails)
}

// waitCount waits until n more records have been acknowledged, or fails
// after d.
func (ld *load) waitCount(t *testing.T, n int, d time.Duration) {
	t.Helper()
	target := ld.count() + n
	deadline := time.Now().Add(d)
	for ld.count() < target {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d acknowledgements after %v", ld.count(), target, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLeaderKilledUnderLoad stops the server leading the stream while
// writers append: no acknowledged record is lost or stored twice, appends
// resume once a new leader is elected (within a bound), and a Tail
// following the stream misses nothing across the move.
func TestLeaderKilledUnderLoad(t *testing.T) {
	c := natstest.StartProcs(t, 3)
	l := openLog(t, c.Connect(t), Config{RetryFor: 30 * time.Second})
	leader := streamLeader(t, c, l, -1)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tail := chatlog.NewTail(l, 0)
	var (
		tailMu sync.Mutex
		tailed []uint64
	)
	tailErr := make(chan error, 1)
	go func() {
		tailErr <- tail.Run(ctx, 0, func(ev chatlog.Event) error {
			tailMu.Lock()
			tailed = append(tailed, ev.Seq)
			tailMu.Unlock()
			return nil
		})
	}()

	ld := newLoad(l)
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		ld.run(t, 4, stop)
		close(loadDone)
	}()
	ld.waitCount(t, 200, time.Minute)

	killed := time.Now()
	c.Kill(leader) // SIGKILL: the others must notice the silence and elect
	t.Logf("killed server %d, the stream's leader, after %d records", leader, ld.count())
	newLeader := streamLeader(t, c, l, leader)
	elected := time.Since(killed)
	// Appends must resume: 200 more within the bound.
	ld.waitCount(t, 200, 45*time.Second)
	gap := ld.longestSilence(killed)
	t.Logf("new leader: server %d, known %v after the kill; longest time without an acknowledgement: %v (publishes in flight to the dead leader wait for their %v ack timeout)",
		newLeader, elected.Round(time.Millisecond), gap.Round(time.Millisecond), l.cfg.AckTimeout)
	if gap > 30*time.Second {
		t.Fatalf("appends stalled for %v", gap)
	}
	close(stop)
	<-loadDone

	// The tail passed every acknowledged seq, in order, without a hole.
	var maxAck uint64
	ld.mu.Lock()
	for _, s := range ld.acked {
		maxAck = max(maxAck, s)
	}
	ld.mu.Unlock()
	wctx, wcancel := context.WithTimeout(t.Context(), time.Minute)
	defer wcancel()
	if err := tail.Wait(wctx, maxAck); err != nil {
		t.Fatalf("tail stuck at %d, acknowledged up to %d: %v", tail.Position(), maxAck, err)
	}
	tailMu.Lock()
	seen := map[uint64]bool{}
	for i, s := range tailed {
		if i > 0 && s <= tailed[i-1] {
			t.Fatalf("tail got %d after %d", s, tailed[i-1])
		}
		seen[s] = true
	}
	tailMu.Unlock()
	ld.mu.Lock()
	for id, s := range ld.acked {
		if !seen[s] {
			t.Fatalf("tail never got %s (seq %d)", id, s)
		}
	}
	ld.mu.Unlock()
	cancel()
	if err := <-tailErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("tail: %v", err)
	}

	c.Restart(leader)
	ld.verify(t, l)
}

// streamLeader returns the index of the server leading l's stream,
// waiting (up to a minute) for one other than not.
func streamLeader(t *testing.T, c *natstest.Procs, l *Log, not int) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		info, err := l.stream.Info(ctx)
		cancel()
		if err == nil && info.Cluster != nil {
			if i := c.Index(info.Cluster.Leader); i >= 0 && i != not {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader of stream %s but server %d after a minute (%v)", l.cfg.Stream, not, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterRestart kills every server (SIGKILL) after a load and
// starts them again from their storage: every acknowledged record is
// still there, and the same Log (its connection reconnects by itself)
// appends again.
func TestClusterRestart(t *testing.T) {
	c := natstest.StartProcs(t, 3)
	l := openLog(t, c.Connect(t), Config{})
	ld := newLoad(l)
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		ld.run(t, 3, stop)
		close(loadDone)
	}()
	ld.waitCount(t, 300, time.Minute)
	close(stop)
	<-loadDone
	before, err := l.Last(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	c.KillAll()
	for i := range c.Size() {
		c.Restart(i)
	}
	c.WaitReady()
	streamLeader(t, c, l, -1)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	after, err := lastWhenBack(ctx, l)
	if err != nil || after != before {
		t.Fatalf("last seq %d before the restart, %d (%v) after", before, after, err)
	}
	ld.verify(t, l)
	res := appendOK(t, l, chatlog.Record{Topic: chatlog.Topic{Kind: chatlog.Message, Key: "all"}, ID: "after", Data: []byte("x")})
	if res[0].Seq <= before {
		t.Fatalf("append after the restart got seq %d, not after %d", res[0].Seq, before)
	}
}

// lastWhenBack asks for the last seq until the cluster answers.
func lastWhenBack(ctx context.Context, l *Log) (uint64, error) {
	for {
		s, err := l.Last(ctx)
		if err == nil || ctx.Err() != nil {
			return s, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// appendOK appends recs and fails unless every record is stored.
func appendOK(tb testing.TB, l *Log, recs ...chatlog.Record) []chatlog.Result {
	tb.Helper()
	res, err := l.Append(tb.Context(), recs)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
	}
	return res
}
