package log

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// DefaultRing is the number of events a Tail keeps when NewTail is given
// no size: at ~500 bytes an event about 32 MiB, minutes of a busy
// cluster's traffic, which is what most reconnects need.
const DefaultRing = 65536

// Tail is a node's one follower of a Log. It hands every event to the
// node (the fan-out) in seq order, keeps the last events it handed over in
// a ring so that recent replays cost no I/O, lets callers wait until the
// fan-out has passed a seq, and gives the one position at which a replay
// meets live traffic.
type Tail struct {
	log Log

	// dispatch is held while fn handles an event, so that Sync runs
	// between two events, never during one.
	dispatch sync.Mutex

	mu      sync.Mutex    // guards everything below
	ring    []Event       // circular; sorted by seq from start
	start   int           // index of the oldest event in ring
	n       int           // events in ring
	floor   uint64        // events with seq <= floor may be missing from the ring
	pos     uint64        // seq of the last event fn returned from (or Run's after)
	changed chan struct{} // closed and replaced whenever pos moves
	running bool
}

// NewTail returns a Tail over l keeping size events (DefaultRing if
// size <= 0). Call Run once to start following.
func NewTail(l Log, size int) *Tail {
	if size <= 0 {
		size = DefaultRing
	}
	return &Tail{log: l, ring: make([]Event, size), changed: make(chan struct{})}
}

// Run follows the log from after (the events with seq > after), records
// each event in the ring, then calls fn with it, one at a time, in seq
// order. It returns like Log.Follow: ctx.Err(), fn's error, or the log's.
// A Tail runs once.
func (t *Tail) Run(ctx context.Context, after uint64, fn func(Event) error) error {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return errors.New("log: tail already run")
	}
	t.running = true
	t.pos, t.floor = after, after
	t.mu.Unlock()

	return t.log.Follow(ctx, after, func(ev Event) error {
		t.dispatch.Lock()
		defer t.dispatch.Unlock()

		t.mu.Lock()
		if ev.Seq <= t.pos {
			pos := t.pos
			t.mu.Unlock()
			return fmt.Errorf("%w: %d after %d", ErrOutOfOrder, ev.Seq, pos)
		}
		t.push(ev)
		t.erase(ev.Erase)
		t.mu.Unlock()

		if err := fn(ev); err != nil {
			return err
		}

		t.mu.Lock()
		t.pos = ev.Seq
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
		return nil
	})
}

// push adds ev as the newest event, evicting the oldest when full.
// t.mu must be held.
func (t *Tail) push(ev Event) {
	if t.n == len(t.ring) {
		t.floor = t.ring[t.start].Seq
		t.ring[t.start] = ev
		t.start = (t.start + 1) % len(t.ring)
		return
	}
	t.ring[(t.start+t.n)%len(t.ring)] = ev
	t.n++
}

// at returns the i-th oldest event of the ring. t.mu must be held.
func (t *Tail) at(i int) *Event { return &t.ring[(t.start+i)%len(t.ring)] }

// erase drops the events with these seqs from the ring, keeping their
// place (seq, topic) but not their payload, and marks them erased so
// Replay skips them. t.mu must be held.
func (t *Tail) erase(seqs []uint64) {
	for _, s := range seqs {
		i := sort.Search(t.n, func(i int) bool { return t.at(i).Seq >= s })
		if i < t.n && t.at(i).Seq == s {
			e := t.at(i)
			e.Data, e.ID, e.Topic.Kind = nil, "", 0 // kind 0 matches no filter
		}
	}
}

// Position returns the seq of the last event the fan-out has handled.
func (t *Tail) Position() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pos
}

// Wait returns once the fan-out has handled every event up to seq, or
// when ctx ends. A node answers 200 for an event with seq S only after
// Wait(S): everything up to S that the client may see is then already
// queued ahead of the answer, so the client never takes an offset that
// skips an event still on its way (docs/CLUSTER.md 3).
func (t *Tail) Wait(ctx context.Context, seq uint64) error {
	for {
		t.mu.Lock()
		pos, ch := t.pos, t.changed
		t.mu.Unlock()
		if pos >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Sync calls f with the current position while no event is being handed
// over. A socket that recovers from offset O is attached to the fan-out
// inside f and replays (O, pos]: live events then start exactly after pos.
// f must not call Run's fn or block on the log.
func (t *Tail) Sync(f func(pos uint64)) {
	t.dispatch.Lock()
	defer t.dispatch.Unlock()
	f(t.Position())
}

// Replay is Log.Replay for a range the fan-out has passed (upto <=
// Position()): the part the ring holds comes from memory, only an older
// part from the log.
func (t *Tail) Replay(ctx context.Context, f Filter, after, upto uint64, limit int) ([]Event, bool, error) {
	if err := f.Valid(); err != nil {
		return nil, false, err
	}
	t.mu.Lock()
	if upto > t.pos {
		pos := t.pos
		t.mu.Unlock()
		return nil, false, fmt.Errorf("log: replay up to %d is beyond the tail's position %d", upto, pos)
	}
	// Newest first from the ring, one more than limit to know whether
	// the ring alone leaves some out.
	var picked []Event
	for i := t.n - 1; i >= 0; i-- {
		e := t.at(i)
		if e.Seq <= after || e.Seq <= t.floor {
			break
		}
		if e.Seq > upto || !f.Match(e.Topic) {
			continue
		}
		picked = append(picked, *e)
		if limit > 0 && len(picked) > limit {
			break
		}
	}
	floor := t.floor
	t.mu.Unlock()

	more := false
	if limit > 0 && len(picked) > limit {
		picked, more = picked[:limit], true
	}
	reverse(picked)
	if more || after >= floor || after >= upto {
		return picked, more, nil
	}
	// The ring does not reach back to after: the rest is in the log.
	rest := 0
	if limit > 0 {
		rest = limit - len(picked)
		if rest == 0 {
			// Full already; ask for one older event only to set more.
			older, _, err := t.log.Replay(ctx, f, after, min(floor, upto), 1)
			return picked, len(older) > 0, err
		}
	}
	older, more, err := t.log.Replay(ctx, f, after, min(floor, upto), rest)
	if err != nil {
		return nil, false, err
	}
	return append(older, picked...), more, nil
}

func reverse(evs []Event) {
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
}
