package server

import (
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
	var b [32]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, tokenHash(token)
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// throttle slows password guessing (PROTOCOL.md section 4): after 5 wrong
// passwords in a row for one id, or 20 from one address within 15 minutes,
// further attempts are refused for 1 s, doubling with each further failure
// up to 5 minutes. An id's count ends only at a success.
type throttle struct {
	mu    sync.Mutex
	ids   map[string]*failures // by folded id
	addrs map[string]*failures // by remote host
}

type failures struct {
	n     int
	first time.Time // start of the address window
	until time.Time // refused before this
}

const (
	idFailLimit   = 5
	addrFailLimit = 20
	addrWindow    = 15 * time.Minute
	maxBlock      = 5 * time.Minute
	maxTracked    = 100_000
)

func newThrottle() *throttle {
	return &throttle{ids: map[string]*failures{}, addrs: map[string]*failures{}}
}

// blocked reports whether an attempt for id from addr must get 429.
func (t *throttle) blocked(id, addr string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.ids[id]; f != nil && now.Before(f.until) {
		return true
	}
	if f := t.addrs[addr]; f != nil && now.Before(f.until) {
		return true
	}
	return false
}

// fail records a wrong password. knownID is false for ids with no account:
// those count toward the address only.
func (t *throttle) fail(id, addr string, knownID bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if knownID {
		f := t.ids[id]
		if f == nil {
			f = &failures{}
			t.ids[id] = f
		}
		f.n++
		if f.n >= idFailLimit {
			f.until = now.Add(backoff(f.n - idFailLimit))
		}
	}
	f := t.addrs[addr]
	if f == nil || now.Sub(f.first) > addrWindow && !now.Before(f.until) {
		if len(t.addrs) >= maxTracked {
			t.pruneAddrs(now)
		}
		f = &failures{first: now}
		t.addrs[addr] = f
	}
	f.n++
	if f.n >= addrFailLimit {
		f.until = now.Add(backoff(f.n - addrFailLimit))
	}
}

// succeed ends id's count of failures.
func (t *throttle) succeed(id string) {
	t.mu.Lock()
	delete(t.ids, id)
	t.mu.Unlock()
}

// pruneAddrs drops addresses whose window and block are over.
// t.mu must be held.
func (t *throttle) pruneAddrs(now time.Time) {
	for a, f := range t.addrs {
		if now.Sub(f.first) > addrWindow && !now.Before(f.until) {
			delete(t.addrs, a)
		}
	}
}

func backoff(extra int) time.Duration {
	if extra >= 9 { // 2^9 s > 5 min
		return maxBlock
	}
	return min(time.Second<<extra, maxBlock)
}
