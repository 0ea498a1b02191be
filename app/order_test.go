package app

import (
	"slices"
	"sync"
	"testing"
)

// go-app runs global action handlers in goroutines of their own, which
// may start in any order: the sequencer runs them in the order post
// numbered them.
func TestSequencer_RunsInOrder(t *testing.T) {
	t.Parallel()
	var q sequencer
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

// A number that never arrives does not stop the others for long.
func TestSequencer_SkipsALostNumber(t *testing.T) {
	t.Parallel()
	var q sequencer
	lost := q.stamp()
	var ran []int64
	for range maxPending + 1 {
		n := q.stamp()
		q.run(n, func() { ran = append(ran, n) })
	}
	if len(ran) != maxPending+1 || ran[0] != lost+1 {
		t.Fatalf("ran %v after losing %d", ran, lost)
	}
	q.run(0, func() { ran = append(ran, 0) }) // unnumbered: at once
	if ran[len(ran)-1] != 0 {
		t.Fatal("an unnumbered action waited")
	}
}
