package sio

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// The upgrade from polling to WebSocket (SOCKETIO.md §2.7). Per session:
// polling → a WebSocket attached (it must send `2probe`) → probed (`3probe`
// sent; a pending GET is released with a noop after probeNoopDelay) →
// upgraded (`5` arrived: the writer flushes the frames still buffered for
// GETs to the WebSocket, then goes on with the outbox, and polling requests
// get 400). A probe that fails or times out closes only the new WebSocket.

// serveWebSocketSID serves a WebSocket request that names the live session
// s: the upgrade of a polling session, or else a WebSocket that Node
// accepts and closes at once (a second one, or one for a WebSocket
// session).
func (srv *Server) serveWebSocketSID(w http.ResponseWriter, r *http.Request, s *Socket) {
	pt := s.poll
	if pt == nil || !pt.reserveProbe() {
		srv.refuseWS(w, r, statusPolicyViolation, "session already open")
		return
	}
	if !srv.addGoroutine() {
		pt.releaseProbe(nil)
		srv.refuseWS(w, r, statusGoingAway, "")
		return
	}
	c := s.acceptProbe(w, r)
	if c == nil {
		srv.wg.Done()
		return
	}
	srv.upgrades.Add(1)
	s.logAt(slog.LevelDebug, "sio: upgraded to websocket")
	s.serve(c, true, func(err error) {
		defer srv.wg.Done()
		if s.end(0, "transport close", false) {
			s.tr.closeNow() // the read side failed first: the connection is gone
		}
		if err != nil && !normalClose(err) {
			s.logAt(slog.LevelDebug, "sio: websocket read", "err", err)
		}
	})
}

// refuseWS accepts a WebSocket only to close it at once with code.
func (srv *Server) refuseWS(w http.ResponseWriter, r *http.Request, code statusCode, reason string) {
	if c, err := acceptWS(w, r, srv.cfg.MaxPayload); err == nil {
		c.reject(code, reason)
	}
}

// acceptProbe accepts the WebSocket of an upgrade and runs the probe on
// it. It returns the connection once the upgrade is complete, or nil: the
// probe slot is released and the connection closed.
func (s *Socket) acceptProbe(w http.ResponseWriter, r *http.Request) *wsConn {
	pt := s.poll
	c, err := acceptWS(w, r, s.srv.cfg.MaxPayload)
	if err != nil { // acceptWS has answered the request
		pt.releaseProbe(nil)
		s.srv.rejected.Add(1)
		s.logAt(slog.LevelDebug, "sio: websocket accept", "err", err)
		return nil
	}
	if !pt.attach(c) {
		c.closeNow()
		return nil
	}
	if !s.probe(c) {
		pt.releaseProbe(c)
		c.closeNow()
		return nil
	}
	return c
}

// addGoroutine counts a goroutine that serves a session, unless Shutdown
// has begun.
func (srv *Server) addGoroutine() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	srv.wg.Add(1)
	return true
}

// probe runs the probe on c until the upgrade completes (true), or until
// it fails or Config.UpgradeTimeout passes (false).
func (s *Socket) probe(c *wsConn) bool {
	// The timeout frees the probe slot before it closes c, so that a
	// client that sees the close may probe again at once.
	timeout := time.AfterFunc(s.srv.cfg.UpgradeTimeout, func() {
		if s.poll.releaseProbe(c) {
			c.closeNow()
		}
	})
	defer timeout.Stop()
	stop := context.AfterFunc(s.ctx, c.closeNow) // the end of the session closes c
	defer stop()
	if c.flush() != nil { // the 101
		return false
	}
	for {
		binary, b, err := c.read()
		if err != nil || binary {
			return false
		}
		switch string(b) {
		case "2probe":
			if c.queue(false, []byte("3probe")) != nil || c.flush() != nil {
				return false
			}
			s.poll.probed()
		case "5":
			return s.upgrade(c)
		default: // Node closes the new transport on anything else
			return false
		}
	}
}

// upgrade makes c the session's transport. It waits for a POST being
// dispatched (readMu), so Handler calls stay one at a time and in order.
func (s *Socket) upgrade(c *wsConn) bool {
	pt := s.poll
	s.readMu.Lock()
	defer s.readMu.Unlock()
	pt.mu.Lock()
	if pt.closed || pt.closing || pt.ws != c || pt.probedAt.IsZero() || s.ctx.Err() != nil {
		pt.mu.Unlock()
		return false
	}
	pt.upgraded = true
	pt.probedAt = time.Time{}
	pt.wakeGet()        // a pending GET gets 400
	pt.cond.Broadcast() // a writer waiting for room writes to c instead
	pt.mu.Unlock()
	s.signal() // the writer flushes what GETs did not collect
	return true
}

// reserveProbe claims the one WebSocket slot of the session.
func (pt *pollTransport) reserveProbe() bool {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.closed || pt.closing || pt.upgraded || pt.ws != nil || pt.probing {
		return false
	}
	pt.probing = true
	return true
}

// attach records the accepted WebSocket, unless the session has ended.
func (pt *pollTransport) attach(c *wsConn) bool {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.closed || pt.closing {
		pt.probing = false
		return false
	}
	pt.ws = c
	return true
}

// probed notes that `3probe` was sent: a pending GET is released with a
// noop after probeNoopDelay.
func (pt *pollTransport) probed() {
	pt.mu.Lock()
	if pt.probedAt.IsZero() {
		pt.probedAt = time.Now()
	}
	pt.wakeGet()
	pt.mu.Unlock()
}

// releaseProbe forgets a failed probe, unless the upgrade has completed,
// and reports whether it did; the session goes on polling.
func (pt *pollTransport) releaseProbe(c *wsConn) bool {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.upgraded || c != nil && pt.ws != c {
		return false
	}
	pt.ws = nil
	pt.probedAt = time.Time{}
	pt.probing = false
	pt.wakeGet()
	return true
}
