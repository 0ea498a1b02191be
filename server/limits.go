package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// addrLimiter is a token bucket per remote address: n events per period,
// all of them at once at most (burst n). It bounds what one address may
// do however many sockets it opens: sign-ups (each a password hash) and
// logins (a token reconnect has no password check to slow it).
type addrLimiter struct {
	every rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter // by remote host
}

// newAddrLimiter allows n events per period per address; nil (no limit)
// when n <= 0.
func newAddrLimiter(n int, period time.Duration) *addrLimiter {
	if n <= 0 {
		return nil
	}
	return &addrLimiter{every: rate.Limit(float64(n) / period.Seconds()), burst: n, m: map[string]*rate.Limiter{}}
}

// allow takes one event for addr, reporting false when its bucket is
// empty. A nil limiter allows everything.
func (l *addrLimiter) allow(addr string) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[addr]
	if lim == nil {
		if len(l.m) >= maxTracked {
			l.pruneLocked()
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[addr] = lim
	}
	return lim.Allow()
}

// pruneLocked drops the buckets that are full again: forgetting them
// changes nothing. l.mu must be held.
func (l *addrLimiter) pruneLocked() {
	now := time.Now()
	for a, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, a)
		}
	}
}

// newRateLimiter allows n events per period overall (burst n); nil (no
// limit) when n <= 0.
func newRateLimiter(n float64, period time.Duration) *rate.Limiter {
	if n <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(n/period.Seconds()), max(1, int(n)))
}
