package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Passwords are hashed with bcrypt over base64(sha256(password)): bcrypt
// alone reads only the first 72 bytes, and passwords may be 128 characters.
func prehash(password string) []byte {
	sum := sha256.Sum256([]byte(password))
	b := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(b, sum[:])
	return b
}

// HashPassword returns the salted slow hash of password with the bcrypt
// work factor cost (clamped to bcrypt's range).
func HashPassword(password string, cost int) ([]byte, error) {
	cost = max(bcrypt.MinCost, min(cost, bcrypt.MaxCost))
	return bcrypt.GenerateFromPassword(prehash(password), cost)
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, prehash(password)) == nil
}

// newToken returns a random session token (256 bits, URL-safe) and the
// hash under which it is stored. Tokens are random, so a fast hash is as
// safe as a slow one and keeps reconnects cheap.
func newToken() (token string, hash []byte) {
	token = newTokenString()
	return token, tokenHash(token)
}

func newTokenString() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// throttle slows password guessing (PROTOCOL.md section 4): after 5 wrong
// passwords in a row for one id, or 20 from one address within 15 minutes,
// further attempts are refused for 1 s, doubling with each further failure
// up to 5 minutes. An id's count ends only at a success.
//
// An attempt is reserved (begin) before its password check and counted
// (end) after it, so parallel guesses cannot all pass the block check
// while the first ones are still hashing: an id has at most one check in
// flight, and an address at most as many as it has failures left before
// its block (20 − its failures, at least 1). Attempts past that wait for
// a check to end, and get 429 once a block begins or after checkWait. So
// N parallel guesses for one id get at most 5 password checks.
type throttle struct {
	mu    sync.Mutex
	ids   map[string]*failures // by folded id
	addrs map[string]*failures // by remote host
	// changed is closed and replaced whenever a check ends, waking the
	// attempts that wait for a reservation.
	changed chan struct{}
}

type failures struct {
	n        int
	first    time.Time // start of the address window
	last     time.Time // the last failure
	until    time.Time // refused before this
	checking int       // password checks in flight
}

const (
	idFailLimit   = 5
	addrFailLimit = 20
	addrWindow    = 15 * time.Minute
	maxBlock      = 5 * time.Minute
	maxTracked    = 100_000
	// checkWait is the longest an attempt waits for a reservation.
	checkWait = 5 * time.Second
)

func newThrottle() *throttle {
	return &throttle{ids: map[string]*failures{}, addrs: map[string]*failures{}, changed: make(chan struct{})}
}

// verdict is how a reserved attempt ended.
type verdict int

const (
	noCheck    verdict = iota // refused before any password check (400, 403, sign-up)
	checkOK                   // the right password
	checkWrong                // a wrong password, or any password for an unknown id
)

// begin reserves a password check for id (folded) from addr, waiting for
// one while the id or the address has as many in flight as it may. It
// reports false (429) when either is blocked, a block begins while it
// waits, it waited checkWait, or ctx ended. After true, end must follow.
func (t *throttle) begin(ctx context.Context, id, addr string, now func() time.Time) bool {
	var timeout <-chan time.Time
	for {
		t.mu.Lock()
		tn := now()
		fi, fa := t.ids[id], t.addrs[addr]
		if fa != nil {
			fa.expire(tn)
		}
		if fi.blocked(tn) || fa.blocked(tn) {
			t.mu.Unlock()
			return false
		}
		if fi.checks() == 0 && fa.checks() < max(1, addrFailLimit-fa.failed()) {
			t.entry(t.ids, id, tn).checking++
			t.entry(t.addrs, addr, tn).checking++
			t.mu.Unlock()
			return true
		}
		wake := t.changed
		t.mu.Unlock()
		if timeout == nil {
			tm := time.NewTimer(checkWait)
			defer tm.Stop()
			timeout = tm.C
		}
		select {
		case <-wake:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// end releases the reservation of begin and records its verdict: a wrong
// password counts for the id and the address (an unknown id included, as
// with --signup closed: its answer and its 429 must not tell it from a
// known one), a right one ends the id's count.
func (t *throttle) end(id, addr string, o verdict, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fi, fa := t.ids[id], t.addrs[addr]
	fi.checking--
	fa.checking--
	switch o {
	case checkOK:
		fi.n = 0
	case checkWrong:
		fi.n++
		fi.last = now
		if fi.n >= idFailLimit {
			fi.until = now.Add(backoff(fi.n - idFailLimit))
		}
		fa.expire(now)
		if fa.n == 0 {
			fa.first = now
		}
		fa.n++
		fa.last = now
		if fa.n >= addrFailLimit {
			fa.until = now.Add(backoff(fa.n - addrFailLimit))
		}
	}
	if fi.n == 0 && fi.checking == 0 {
		delete(t.ids, id)
	}
	if fa.n == 0 && fa.checking == 0 {
		delete(t.addrs, addr)
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// entry returns m[k], creating it; past maxTracked entries it first drops
// those that neither block nor check anything and have not failed for an
// address window (for ids this ends a count without a success, the price
// of bounded memory when unknown ids count). t.mu must be held.
func (t *throttle) entry(m map[string]*failures, k string, now time.Time) *failures {
	f := m[k]
	if f != nil {
		return f
	}
	if len(m) >= maxTracked {
		for k, f := range m {
			if f.checking == 0 && !now.Before(f.until) && now.Sub(f.last) > addrWindow {
				delete(m, k)
			}
		}
	}
	f = &failures{}
	m[k] = f
	return f
}

// expire ends an address window that is over and not blocking.
func (f *failures) expire(now time.Time) {
	if f.n > 0 && now.Sub(f.first) > addrWindow && !now.Before(f.until) {
		f.n, f.first = 0, time.Time{}
	}
}

func (f *failures) blocked(now time.Time) bool { return f != nil && now.Before(f.until) }

func (f *failures) checks() int {
	if f == nil {
		return 0
	}
	return f.checking
}

func (f *failures) failed() int {
	if f == nil {
		return 0
	}
	return f.n
}

func backoff(extra int) time.Duration {
	if extra >= 9 { // 2^9 s > 5 min
		return maxBlock
	}
	return min(time.Second<<extra, maxBlock)
}
