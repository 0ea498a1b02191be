//go:build unix

package main

import (
	"log/slog"
	"syscall"
	"testing"
)

// TestRaiseFileLimit: the soft limit on open files ends at the hard one.
func TestRaiseFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lowered := lim
	lowered.Cur = min(lim.Max-1, 4096)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	raiseFileLimit(slog.New(slog.DiscardHandler))
	var got syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &got); err != nil {
		t.Fatal(err)
	}
	if got.Cur != lim.Max {
		t.Fatalf("soft limit %d after raiseFileLimit, want the hard %d", got.Cur, lim.Max)
	}
}
