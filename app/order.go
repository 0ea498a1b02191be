package app

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// post posts an action for the service. go-app runs each global action
// handler in a goroutine of its own, and Go's scheduler may run a newer
// goroutine first, so two quick Enters could swap their messages, or a
// stale @ query overtake the current one: post numbers the actions, and
// handle runs them in that order.
func post(ctx app.Context, name string, v any) {
	ctx.NewActionWithValue(name, v, app.T(tagOrder, inOrder.stamp()))
}

// tagOrder is the tag of an action's number.
const tagOrder = "order"

// inOrder runs the numbered actions in their order.
var inOrder sequencer

// sequencer runs numbered functions in the order of their numbers,
// whatever the order they arrive in: one that arrives before its turn
// waits in pending, and one goroutine at a time (the drainer) runs what
// is due, so that two never start out of order. A number that never
// comes (an action lost by the engine) holds the others back for gapWait
// at most. Unnumbered ones (0) run at once: the service's methods are
// safe to call concurrently, only their order matters.
type sequencer struct {
	mu       sync.Mutex
	last     int64 // the last number stamped
	next     int64 // the next number to run; 0 means 1
	pending  map[int64]func()
	draining bool // a goroutine is running the due functions
	gapTimer *time.Timer
	gapWait  time.Duration // 0: defaultGapWait
}

// defaultGapWait is how long a missing number holds the later ones back.
const defaultGapWait = time.Second

// stamp returns the next number.
func (q *sequencer) stamp() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last++
	return q.last
}

// run runs f as number n: now, or when the numbers before it have run.
func (q *sequencer) run(n int64, f func()) {
	if n == 0 {
		f()
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == nil {
		q.pending = map[int64]func(){}
	}
	q.next = max(q.next, 1)
	q.pending[n] = f
	q.drainLocked()
}

// drainLocked runs the due functions, unless another goroutine does, and
// arms the gap timer when some wait for a number that has not come.
// q.mu must be held; it is released while each function runs.
func (q *sequencer) drainLocked() {
	if q.draining {
		return // the drainer finds it
	}
	q.draining = true
	for {
		f, ok := q.pending[q.next]
		if !ok {
			break
		}
		delete(q.pending, q.next)
		q.next++
		q.mu.Unlock()
		f()
		q.mu.Lock()
	}
	q.draining = false
	if len(q.pending) > 0 && q.gapTimer == nil {
		wait := q.gapWait
		if wait == 0 {
			wait = defaultGapWait
		}
		stuck := q.next
		q.gapTimer = time.AfterFunc(wait, func() { q.skipGap(stuck) })
	}
}

// skipGap gives up on number stuck, if the functions still wait for it.
func (q *sequencer) skipGap(stuck int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.gapTimer = nil
	if q.next == stuck && len(q.pending) > 0 && !q.draining {
		q.next = slices.Min(slices.Collect(maps.Keys(q.pending)))
	}
	q.drainLocked()
}
