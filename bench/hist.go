package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a log-linear latency histogram in microseconds: exact below
// 64 µs, then 32 buckets per power of two (at most ~3% error). Record is
// safe for concurrent use and allocates nothing.
type hist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Uint64 // µs
}

const histBuckets = 64 + 58*32 // covers every uint64

func bucketOf(us uint64) int {
	if us < 64 {
		return int(us)
	}
	e := bits.Len64(us) - 6 // us>>e is in [32, 63]
	return 64 + (e-1)*32 + int(us>>e) - 32
}

// bucketLow returns the smallest value in bucket i.
func bucketLow(i int) uint64 {
	if i < 64 {
		return uint64(i)
	}
	e := (i-64)/32 + 1
	return uint64((i-64)%32+32) << e
}

// record adds one latency.
func (h *hist) record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	h.counts[bucketOf(us)].Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// hists spreads recording over shards so that many reader goroutines do
// not all hit the same cache lines.
type hists [16]hist

func (hs *hists) record(shard int, d time.Duration) { hs[shard&15].record(d) }

// snapshot merges the shards.
func (hs *hists) snapshot() *histSnap {
	s := &histSnap{}
	for i := range hs {
		for j := range hs[i].counts {
			s.counts[j] += hs[i].counts[j].Load()
		}
		s.max = max(s.max, hs[i].max.Load())
	}
	for _, c := range s.counts {
		s.n += c
	}
	return s
}

type histSnap struct {
	counts [histBuckets]uint64
	n, max uint64
}

// quantile returns the q-quantile (0 < q ≤ 1) in milliseconds: the middle
// of the bucket that holds it, never above the maximum. Zero when empty.
func (s *histSnap) quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(q*float64(s.n) + 0.5)
	rank = max(1, min(rank, s.n))
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			lo := bucketLow(i)
			v := lo
			if i >= 64 {
				v = (lo + bucketLow(i+1)) / 2
			}
			return float64(min(v, s.max)) / 1000
		}
	}
	return float64(s.max) / 1000
}

// Latency is a summary of a histogram, in milliseconds.
type Latency struct {
	N   uint64  `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func (s *histSnap) summary() Latency {
	return Latency{N: s.n, P50: s.quantile(0.5), P90: s.quantile(0.9), P99: s.quantile(0.99), Max: float64(s.max) / 1000}
}
