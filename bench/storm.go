package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"chatapp/shared"
)

// tracker follows one reconnected storm client: the message seqs it got
// after its offset, over every connection it needed. Only the read loop
// of its current connection touches got; the storm goroutine reads it
// once that loop is over.
type tracker struct {
	after    int64 // the offset of the first reconnect
	want     int   // how many messages it missed
	got      []int64
	caught   atomic.Bool
	finished atomic.Bool
	done     chan struct{} // closed when it caught up
	start    time.Time     // when the storm began
}

// A storm client dropped by the server reconnects up to stormRetries
// times, stormBackoff apart.
const (
	stormRetries = 5
	stormBackoff = 200 * time.Millisecond
)

func (r *runner) caughtUp(c *conn, t *tracker) {
	if !t.caught.CompareAndSwap(false, true) {
		return
	}
	r.catchUp.record(c.idx, time.Since(t.start))
	r.caught.Add(1)
	close(t.done)
	r.stormFinished(t)
}

// stormGaveUp counts a client that could not reconnect.
func (r *runner) stormGaveUp(t *tracker) { r.stormFinished(t) }

// stormFinished counts a client that caught up or gave up, once; after
// the last one, the wait is over.
func (r *runner) stormFinished(t *tracker) {
	if t.finished.CompareAndSwap(false, true) && r.finished.Add(1) == int64(r.o.Clients) {
		close(r.caughtAll)
	}
}

// storm: the clients log in and leave with their token and offset; the
// senders send them --missed messages each (or --missed to ALL); then all
// clients reconnect at once with {token, offset} and must each receive
// exactly the messages they missed, once and in order.
func (r *runner) storm(ctx context.Context, res *Result) error {
	o := r.o
	st := &StormResult{Missed: o.Missed, ToAll: o.MissedAll}
	res.Storm = st

	// 1. Accounts, each logged in once, then away.
	start := time.Now()
	_, logins, err := r.loginAll(ctx, o.Clients, 0, r.accountID, false)
	if err != nil {
		return err
	}
	senderID := func(i int) string { return fmt.Sprintf("b%s-s%d", o.RunID, i) }
	conns, _, err := r.loginAll(ctx, o.Senders, o.Clients, senderID, true)
	if err != nil {
		return err
	}
	r.fillSetup(res, time.Since(start))

	// 2. The messages they miss.
	r.setPhase("send")
	sendStart := time.Now()
	senders := make([]*sender, len(conns))
	var wg sync.WaitGroup
	var failed atomic.Bool
	for k, c := range conns {
		s := newSender(r, c, shared.CommandChat)
		senders[k] = s
		wg.Go(func() {
			send := func(to string, idx int32) bool {
				if !s.waitBelow(256, ctx.Done()) || s.send(to, idx) != nil {
					failed.Store(true)
					return false
				}
				return true
			}
			if o.MissedAll {
				for m := k; m < o.Missed; m += len(conns) {
					if !send(shared.All, -1) {
						return
					}
				}
				return
			}
			for range o.Missed {
				for i := k; i < o.Clients; i += len(conns) {
					if !send(r.accountID(i), int32(i)) {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, s := range senders {
		if !s.waitBelow(1, ctx.Done()) {
			failed.Store(true)
		}
	}
	if failed.Load() {
		return fmt.Errorf("storm: sending the missed messages failed: %w", context.Cause(ctx))
	}
	st.SendSeconds = time.Since(sendStart).Seconds()
	expected := make([][]int64, o.Clients)
	var toAll []int64
	for _, s := range senders {
		for _, x := range s.seqs {
			if x.to < 0 {
				toAll = append(toAll, x.seq)
			} else {
				expected[x.to] = append(expected[x.to], x.seq)
			}
		}
	}
	slices.Sort(toAll)
	st.Sent = r.accepted.Load()

	// 3. Everyone back at once.
	r.setPhase("storm")
	r.caughtAll = make(chan struct{})
	trackers := make([]*tracker, o.Clients)
	for i := range trackers {
		want := toAll
		if !o.MissedAll {
			slices.Sort(expected[i])
			want = expected[i]
		}
		offset, _ := shared.ParseSeq(logins[i].Offset)
		trackers[i] = &tracker{after: int64(offset), want: len(want)}
		expected[i] = want
	}
	w := r.openWindow()
	stormStart := time.Now()
	sctx, stopStorm := context.WithTimeout(ctx, o.Timeout)
	var connected, redials atomic.Int64
	for i := range o.Clients {
		t := trackers[i]
		t.start = stormStart
		t.done = make(chan struct{})
		wg.Go(func() {
			first := true
			for attempt := 0; ; attempt++ {
				// Like a real client, one that is dropped comes back
				// with the newest seq it has as its offset.
				offset := logins[i].Offset
				if n := len(t.got); n > 0 {
					offset = strconv.FormatInt(t.got[n-1], 10)
				}
				auth := map[string]string{"token": logins[i].Token, "offset": offset}
				c, err := dial(sctx, r.endpoint, i, r.accountID(i), auth, r, t)
				if err != nil {
					if sctx.Err() == nil && attempt < stormRetries {
						sleep(sctx, stormBackoff)
						continue
					}
					r.addError("connect")
					r.stormGaveUp(t)
					return
				}
				r.track(c)
				if first {
					first = false
					connected.Add(1)
				}
				if t.want == 0 {
					r.caughtUp(c, t)
				}
				select {
				case <-t.done:
					return
				case <-sctx.Done():
					return
				case <-c.done: // dropped: its read loop is over
				}
				if t.caught.Load() {
					return
				}
				redials.Add(1)
				if attempt >= stormRetries {
					r.addError("disconnect")
					r.stormGaveUp(t)
					return
				}
				sleep(sctx, stormBackoff)
			}
		})
	}
	if !r.waitCaughtUp(sctx) {
		res.Notes = append(res.Notes, fmt.Sprintf("not every client reconnected and caught up within --timeout %v", o.Timeout))
	}
	stopStorm()
	wg.Wait()
	w.close()
	st.AllCaughtUpS = w.end.Sub(stormStart).Seconds()
	// Anything sent twice would arrive right behind: give it a moment.
	sleep(ctx, 300*time.Millisecond)
	r.mu.Lock()
	for _, c := range r.conns {
		st.Partial += c.partial.Load()
	}
	r.mu.Unlock()
	r.closeAll()

	st.Reconnected = int(connected.Load())
	st.Redials = redials.Load()
	st.CaughtUp = int(r.caught.Load())
	st.CatchUp = r.catchUp.snapshot().summary()
	for i, t := range trackers {
		lost, dup, dis, extra := verify(expected[i], t.got)
		st.Lost += lost
		st.Duplicated += dup
		st.Disordered += dis
		st.Unexpected += extra
	}
	st.ExactlyOnce = st.Reconnected == o.Clients && st.CaughtUp == o.Clients &&
		st.Lost == 0 && st.Duplicated == 0 && st.Disordered == 0 && st.Unexpected == 0
	replayed := int64(0)
	for _, e := range expected {
		replayed += int64(len(e))
	}
	if err := w.fill(res, replayed, replayed); err != nil {
		return err
	}
	if sv := res.Server; sv != nil {
		st.CPUSeconds = sv.CPUSeconds
		if replayed > 0 {
			st.CPUPerReplayedUs = sv.CPUSeconds * 1e6 / float64(replayed)
		}
	}
	return nil
}

// waitCaughtUp waits until every storm client caught up or gave up, or
// ctx ends. It reports whether all caught up.
func (r *runner) waitCaughtUp(ctx context.Context) bool {
	select {
	case <-r.caughtAll:
	case <-ctx.Done():
	}
	return r.caught.Load() == int64(r.o.Clients)
}

// verify compares the seqs a client got with the ones it missed (sorted):
// lost were never received, dup arrived more than once, dis arrived not
// above the one before, extra were not expected.
func verify(want, got []int64) (lost, dup, dis, extra int64) {
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			dis++
		}
	}
	seen := make(map[int64]int, len(got))
	for _, s := range got {
		seen[s]++
	}
	for _, s := range want {
		switch n := seen[s]; {
		case n == 0:
			lost++
		case n > 1:
			dup += int64(n - 1)
		}
		delete(seen, s)
	}
	for _, n := range seen {
		extra += int64(n)
	}
	return lost, dup, dis, extra
}
