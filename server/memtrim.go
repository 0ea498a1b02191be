package server

import (
	"log/slog"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"time"
)

// trimmer gives the memory a burst of logins leaves behind back to the
// operating system once the burst is over. Every login gets the presence
// list of every account (PROTOCOL.md), so a reconnect storm of N clients
// allocates O(N²) bytes that are garbage a moment later, and the Go
// runtime would keep most of it resident for minutes: no GC runs while
// the server is idle, and its scavenger only returns what lies above the
// last GC's goal. A server on a small machine should not sit on hundreds
// of MiB after its clients reconnect (docs/PERFORMANCE.md, idle).
type trimmer struct {
	quiet time.Duration // after the last login
	min   uint64        // heap beyond the live heap worth returning, in bytes
	timer *time.Timer
	free  func() // debug.FreeOSMemory; tests count calls instead
	log   *slog.Logger
}

func newTrimmer(quiet time.Duration, min uint64, log *slog.Logger) *trimmer {
	t := &trimmer{quiet: quiet, min: min, free: debug.FreeOSMemory, log: log}
	t.timer = time.AfterFunc(time.Hour, t.run)
	t.timer.Stop()
	return t
}

// poke notes a login: the trim runs once no login has come for quiet.
func (t *trimmer) poke() { t.timer.Reset(t.quiet) }

func (t *trimmer) stop() { t.timer.Stop() }

func (t *trimmer) run() {
	excess := heapExcess()
	if excess < t.min {
		t.log.Debug("memory after a burst of logins: little to return", "heap_excess_bytes", excess)
		return
	}
	t.free() // a GC, then every free page goes back
	t.log.Debug("returned memory after a burst of logins", "heap_excess_bytes", excess)
}

// heapExcess is the heap the process holds beyond what was live at the
// last GC: garbage, and free pages not yet returned.
func heapExcess() uint64 {
	s := []rtmetrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	rtmetrics.Read(s)
	held := s[0].Value.Uint64() + s[1].Value.Uint64() + s[2].Value.Uint64()
	if live := s[3].Value.Uint64(); held > live {
		return held - live
	}
	return 0
}
