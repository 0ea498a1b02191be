package server

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// TestTrimmerWaitsForQuiet: the trim runs once, after the logins stop,
// and not while they keep coming.
func TestTrimmerWaitsForQuiet(t *testing.T) {
	t.Parallel()
	tr := newTrimmer(100*time.Millisecond, 0, slog.New(slog.DiscardHandler))
	var calls atomic.Int32
	tr.free = func() { calls.Add(1) }
	defer tr.stop()
	for range 20 { // a burst of logins, 20 ms apart, for 400 ms
		tr.poke()
		time.Sleep(20 * time.Millisecond)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("trimmed %d times during the burst", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // no second trim without new logins
	if n := calls.Load(); n != 1 {
		t.Fatalf("trimmed %d times after the burst, want 1", n)
	}
}

// TestTrimmerSkipsLittle: with less excess heap than the threshold, the
// trim does nothing.
func TestTrimmerSkipsLittle(t *testing.T) {
	t.Parallel()
	tr := newTrimmer(time.Millisecond, 1<<62, slog.New(slog.DiscardHandler))
	var calls atomic.Int32
	tr.free = func() { calls.Add(1) }
	tr.run()
	if calls.Load() != 0 {
		t.Fatal("trimmed below the threshold")
	}
	if heapExcess() >= 1<<62 {
		t.Fatal("heapExcess out of range")
	}
}
