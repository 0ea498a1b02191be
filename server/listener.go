package server

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// limitListener counts the TCP connections open from each remote address
// and closes, as it accepts it, each one past Config.MaxConnsPerIP: a
// client opening thousands of idle connections then holds at most that
// many file descriptors, and a refused one costs no goroutine, no TLS
// handshake and no header timeout. It also logs accept errors (such as
// "too many open files") at warn, at most one line per logEvery.
type limitListener struct {
	net.Listener
	max int // <= 0: count nothing
	log *slog.Logger

	mu      sync.Mutex
	perAddr map[string]int

	acceptErrs, refusals sparseLog
}

// logEvery is the most often a repeated accept error or refusal is logged.
const logEvery = 10 * time.Second

func (s *Server) limitListener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, max: s.cfg.MaxConnsPerIP, log: s.log, perAddr: map[string]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) { // Serve is shutting down
				return nil, err
			}
			// http.Server retries temporary errors with a backoff; this
			// line is what an operator sees.
			if ok, skipped := l.acceptErrs.allow(time.Now()); ok {
				l.log.Warn("accept failed", "err", err, "similar_since_last", skipped)
			}
			return nil, err
		}
		if l.max <= 0 {
			return c, nil
		}
		host := hostOf(c.RemoteAddr().String())
		if l.acquire(host) {
			return &countedConn{Conn: c, l: l, host: host}, nil
		}
		c.Close()
		if ok, skipped := l.refusals.allow(time.Now()); ok {
			l.log.Warn("connection refused: too many from this address", "remote", host,
				"max_conns_per_ip", l.max, "similar_since_last", skipped)
		}
	}
}

func (l *limitListener) acquire(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perAddr[host] >= l.max {
		return false
	}
	l.perAddr[host]++
	return true
}

func (l *limitListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perAddr[host]--; l.perAddr[host] <= 0 {
		delete(l.perAddr, host)
	}
}

// countedConn gives its address's slot back once, when closed: by
// http.Server, or by the WebSocket session that hijacked it.
type countedConn struct {
	net.Conn
	l    *limitListener
	host string
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.host) })
	return err
}

// sparseLog lets one event in per logEvery through to the log and counts
// the others, so that a flood of the same failure writes a line now and
// then instead of filling the disk.
type sparseLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// allow reports whether to log now, and how many were skipped since the
// last line.
func (s *sparseLog) allow(now time.Time) (ok bool, skipped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && now.Sub(s.last) < logEvery {
		s.skipped++
		return false, 0
	}
	skipped, s.skipped, s.last = s.skipped, 0, now
	return true, skipped
}
