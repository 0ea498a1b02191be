package app

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// go-app runs global action handlers in goroutines of their own, which
// may start in any order: the sequencer runs them in the order post
// numbered them.
func TestSequencer_RunsInOrder(t *testing.T) {
	t.Parallel()
	q := sequencer{gapWait: time.Minute} // nothing is lost here: never skip
	var mu sync.Mutex
	var ran []int64
	nums := make([]int64, 10)
	for i := range nums {
		nums[i] = q.stamp()
	}
	var wg sync.WaitGroup
	for _, i := range []int{3, 0, 9, 1, 2, 8, 4, 7, 5, 6} { // arrival order
		n := nums[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.run(n, func() {
				mu.Lock()
				ran = append(ran, n)
				mu.Unlock()
			})
		}()
		// Each arrival is complete before the next, so the order of
		// arrival is the one above, not the scheduler's.
		wg.Wait()
	}
	if !slices.Equal(ran, nums) {
		t.Fatalf("ran %v, want %v", ran, nums)
	}
}

// A number that never arrives holds the others back for a moment only.
func TestSequencer_SkipsALostNumber(t *testing.T) {
	t.Parallel()
	q := sequencer{gapWait: 10 * time.Millisecond}
	lost := q.stamp()
	ran := make(chan int64, 3)
	for range 3 {
		n := q.stamp()
		q.run(n, func() { ran <- n })
	}
	for want := lost + 1; want <= lost+3; want++ {
		select {
		case n := <-ran:
			if n != want {
				t.Fatalf("ran %d, want %d", n, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d never ran after losing %d", want, lost)
		}
	}
	done := false
	q.run(0, func() { done = true }) // unnumbered: at once
	if !done {
		t.Fatal("an unnumbered action waited")
	}
}

// Two goroutines never start numbers out of order, even when the later
// one arrives while the earlier one is being started.
func TestSequencer_NeverOverlapsOutOfOrder(t *testing.T) {
	t.Parallel()
	q := sequencer{gapWait: time.Minute}
	var mu sync.Mutex
	var ran []int64
	var wg sync.WaitGroup
	const n = 200
	for range n {
		k := q.stamp()
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.run(k, func() {
				mu.Lock()
				ran = append(ran, k)
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	if len(ran) != n || !slices.IsSorted(ran) {
		t.Fatalf("ran %d in order %v", len(ran), slices.IsSorted(ran))
	}
}
