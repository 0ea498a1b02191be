package app

import (
	"maps"
	"slices"
	"sync"

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
// whatever the order they arrive in; one that arrives before its turn
// waits in pending and runs when its turn comes, on the goroutine of the
// one before it. Unnumbered ones (0) run at once.
type sequencer struct {
	mu      sync.Mutex
	last    int64 // the last number stamped
	next    int64 // the next number to run
	pending map[int64]func()
	running sync.Mutex // held while a function runs, so they never overlap
}

// stamp returns the next number.
func (q *sequencer) stamp() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last++
	return q.last
}

// maxPending bounds the wait for a number that never arrives (an action
// lost by the engine): past it, the gap is skipped.
const maxPending = 32

func (q *sequencer) run(n int64, f func()) {
	if n == 0 {
		q.running.Lock()
		defer q.running.Unlock()
		f()
		return
	}
	q.mu.Lock()
	if q.pending == nil {
		q.pending = map[int64]func(){}
		q.next = max(q.next, 1)
	}
	q.pending[n] = f
	if len(q.pending) > maxPending {
		q.next = slices.Min(slices.Collect(maps.Keys(q.pending)))
	}
	for {
		g, ok := q.pending[q.next]
		if !ok {
			break
		}
		delete(q.pending, q.next)
		q.next++
		q.mu.Unlock()
		q.running.Lock()
		g()
		q.running.Unlock()
		q.mu.Lock()
	}
	q.mu.Unlock()
}
