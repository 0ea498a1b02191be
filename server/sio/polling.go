package sio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"chatapp/shared"
)

// HTTP long-polling (SOCKETIO.md §2.6) and the upgrade to WebSocket
// (§2.7, upgrade.go).
//
// A polling session has the same Socket, outbox and writer goroutine as a
// WebSocket one; its transport is a pollTransport. The writer "writes" a
// frame by appending it to the transport's buffer, and the one GET that may
// be pending takes the whole buffer, in order, as its response. A POST's
// packets are dispatched on the POST's goroutine, under Socket.readMu, so
// that Handler calls of one session still come one at a time. After an
// upgrade the same pollTransport writes to the WebSocket directly: the
// frames still buffered go out first, then the outbox, so nothing is lost
// or reordered and the hub never learns that the transport changed.

const (
	// pollBufferBytes is how many bytes of frames may wait for a GET
	// before the writer blocks (one larger frame is let through). It
	// bounds a polling session's memory beyond Config.SendBuffer.
	pollBufferBytes = 64 << 10
	// probeNoopDelay is how long after `3probe` a pending GET is held
	// before it is released with a noop (6): Node's 100 ms check interval.
	// The client waits for its GET to end before it sends `5`.
	probeNoopDelay = 100 * time.Millisecond
	// tombTTL is how long a closed polling sid is remembered: a GET that
	// lost the race against the POST of the client's close packet still
	// gets its noop (6), and any later request gets 400 code 1.
	tombTTL = time.Second
	// shutdownGrace bounds how long Shutdown waits for a polling client's
	// next GET to collect what is queued and the close packet.
	shutdownGrace = time.Second
)

var (
	closeFrame = []byte{shared.EIOClose}
	noopFrame  = []byte{shared.EIONoop}
)

// pollFrame is one frame waiting for a GET.
type pollFrame struct {
	binary bool
	b      []byte
}

// pollTransport is the transport of a session opened by a polling
// handshake: a buffer that GETs drain until the session upgrades, then the
// WebSocket.
type pollTransport struct {
	s *Socket

	// direct is the WebSocket after the upgrade, once the buffered frames
	// are written. Writer goroutine only.
	direct *wsConn

	mu       sync.Mutex
	cond     sync.Cond     // on mu: the writer waits for room, or for a GET to collect the close
	notify   chan struct{} // cap 1: wakes the pending GET
	buf      []pollFrame   // frames not yet collected by a GET, in order
	bufBytes int
	ready    int       // buf[:ready] may be collected: the writer flushed them
	getting  bool      // a GET is being served
	posting  bool      // a POST is being served
	closing  bool      // a graceful close is queued in buf (ends with `1`)
	closed   bool      // nothing more is delivered
	owe      []byte    // what the next GET gets once closed (`1` or `6`), at most once
	probing  bool      // a WebSocket holds the probe slot (from before Accept on)
	ws       *wsConn   // the probing or upgraded WebSocket
	probedAt time.Time // when `3probe` was sent; zero if not probing
	upgraded bool      // `5` arrived: the WebSocket carries the session
}

func newPollTransport(s *Socket) *pollTransport {
	pt := &pollTransport{s: s, notify: make(chan struct{}, 1)}
	pt.cond.L = &pt.mu
	return pt
}

// wakeGet wakes the pending GET. pt.mu must be held.
func (pt *pollTransport) wakeGet() {
	select {
	case pt.notify <- struct{}{}:
	default:
	}
}

// write appends a frame for the next GET, or writes it to the WebSocket
// after an upgrade. It blocks while the buffer is full. Writer goroutine
// only.
func (pt *pollTransport) write(binary bool, b []byte) error {
	if pt.direct != nil {
		return wsTransport{pt.direct}.write(binary, b)
	}
	pt.mu.Lock()
	for !pt.closed && !pt.upgraded && pt.bufBytes >= pollBufferBytes {
		pt.ready = len(pt.buf)
		pt.wakeGet()
		pt.cond.Wait()
	}
	if pt.closed {
		pt.mu.Unlock()
		return net.ErrClosed
	}
	if pt.upgraded {
		left := pt.switchToWS()
		pt.mu.Unlock()
		if err := pt.writeLeft(left); err != nil {
			return err
		}
		return wsTransport{pt.direct}.write(binary, b)
	}
	pt.buf = append(pt.buf, pollFrame{binary, b})
	pt.bufBytes += len(b)
	pt.mu.Unlock()
	return nil
}

// switchToWS makes the WebSocket the direct transport and returns the
// frames no GET collected. pt.mu must be held; writer goroutine only.
func (pt *pollTransport) switchToWS() []pollFrame {
	left := pt.buf
	pt.buf, pt.bufBytes, pt.ready = nil, 0, 0
	pt.direct = pt.ws
	return left
}

func (pt *pollTransport) writeLeft(left []pollFrame) error {
	for _, f := range left {
		if err := (wsTransport{pt.direct}).write(f.binary, f.b); err != nil {
			return err
		}
	}
	return nil
}

// flush hands what the writer has buffered to the pending GET, or, after
// an upgrade, writes it to the WebSocket. Writer goroutine only, at the
// end of each batch.
func (pt *pollTransport) flush() error {
	if pt.direct != nil {
		return pt.direct.flush()
	}
	pt.mu.Lock()
	if pt.upgraded {
		left := pt.switchToWS()
		pt.mu.Unlock()
		for _, f := range left {
			if err := pt.s.write(f.binary, f.b); err != nil { // under the write timeout
				return err
			}
		}
		return pt.direct.flush()
	}
	if len(pt.buf) > pt.ready {
		pt.ready = len(pt.buf)
		pt.wakeGet()
	}
	pt.mu.Unlock()
	return nil
}

// close ends the transport; the writer calls it last. After an upgrade it
// closes the WebSocket with code. Over polling, a normal close (1000, 1001:
// Close, Disconnect, Shutdown) is graceful: the buffered frames and then
// the close packet `1` go to the next GET, and close waits for that GET
// (at most pingInterval + pingTimeout, after which the client is gone
// anyway; shutdownGrace on Shutdown). Any other code drops the session at
// once.
func (pt *pollTransport) close(code statusCode, reason string) {
	pt.mu.Lock()
	if pt.upgraded {
		var left []pollFrame
		if pt.direct == nil {
			left = pt.switchToWS()
		}
		ws := pt.ws
		pt.mu.Unlock()
		if pt.writeLeft(left) == nil {
			wsTransport{ws}.close(code, reason)
		}
		return
	}
	if pt.closed || code != statusNormalClosure && code != statusGoingAway {
		pt.mu.Unlock()
		pt.closeNow()
		return
	}
	probe := pt.ws
	pt.ws, pt.probedAt = nil, time.Time{}
	pt.buf = append(pt.buf, pollFrame{b: closeFrame})
	pt.ready = len(pt.buf)
	pt.closing = true
	pt.wakeGet()
	cfg := &pt.s.srv.cfg
	wait := cfg.PingInterval + cfg.PingTimeout
	if code == statusGoingAway {
		wait = min(wait, shutdownGrace) // a live client polls again within a round trip
	}
	grace := time.AfterFunc(wait, func() {
		pt.mu.Lock()
		pt.closed = true
		pt.cond.Broadcast()
		pt.mu.Unlock()
	})
	for !pt.closed {
		pt.cond.Wait()
	}
	pt.mu.Unlock()
	grace.Stop()
	if probe != nil {
		probe.closeNow()
	}
}

// closeNow drops the session: a pending GET gets the close packet `1`,
// later ones 400; a probing or upgraded WebSocket is cut.
func (pt *pollTransport) closeNow() {
	pt.mu.Lock()
	pt.closeLocked(closeFrame)
	ws := pt.ws
	pt.mu.Unlock()
	if ws != nil {
		ws.closeNow()
	}
}

// clientClose handles the client's close packet, sent by POST: a pending
// GET gets a noop (6), and so does the next one if the POST won the race
// against it (the tomb keeps the sid for that).
func (pt *pollTransport) clientClose() {
	pt.mu.Lock()
	if !pt.closed {
		pt.closeLocked(noopFrame)
		if pt.owe == nil {
			pt.owe = noopFrame
		}
	}
	pt.mu.Unlock()
}

// closeLocked marks the transport closed; a pending GET is owed final.
// pt.mu must be held.
func (pt *pollTransport) closeLocked(final []byte) {
	if pt.closed {
		return
	}
	pt.closed = true
	pt.buf, pt.bufBytes, pt.ready = nil, 0, 0
	if pt.getting {
		pt.owe = final
	}
	pt.wakeGet()
	pt.cond.Broadcast()
}

var (
	errPollOverlap = errors.New("sio: two GETs at once on a polling session")
	errPostOverlap = errors.New("sio: two POSTs at once on a polling session")
	errBadPayload  = errors.New("sio: invalid polling payload")
)

// poll serves one GET: every flushed frame at once, else it waits for
// them, a close, the probe's noop delay or the upgrade. Frames count as
// flushed at the end of each writer batch, so that a response carries
// whole batches (a DISCONNECT with the close packet behind it, say). It returns the
// body, or an httpError to answer.
func (pt *pollTransport) poll(r *http.Request) ([]pollFrame, []byte, *httpError) {
	s := pt.s
	pt.mu.Lock()
	if pt.getting {
		pt.mu.Unlock()
		// Two GETs at once: the client is broken. The pending one gets `1`.
		s.protocolError("poll overlap", errPollOverlap)
		return nil, nil, &errBadRequest
	}
	if pt.upgraded && !pt.closed {
		pt.mu.Unlock()
		return nil, nil, &errBadRequest
	}
	pt.getting = true
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch {
		case pt.closed:
			owe := pt.owe
			pt.owe = nil
			pt.getting = false
			pt.mu.Unlock()
			if owe == nil {
				return nil, nil, &errUnknownSID
			}
			return nil, owe, nil
		case pt.upgraded:
			pt.getting = false
			pt.mu.Unlock()
			return nil, nil, &errBadRequest
		case pt.ready > 0:
			frames := pt.buf[:pt.ready:pt.ready]
			pt.buf = append([]pollFrame(nil), pt.buf[pt.ready:]...)
			pt.ready = 0
			for _, f := range frames {
				pt.bufBytes -= len(f.b)
			}
			if pt.closing && len(pt.buf) == 0 {
				pt.closed = true // the GET carries the close packet
			}
			pt.getting = false
			pt.cond.Broadcast()
			pt.mu.Unlock()
			return frames, nil, nil
		case !pt.probedAt.IsZero():
			wait := probeNoopDelay - time.Since(pt.probedAt)
			if wait <= 0 {
				pt.getting = false
				pt.mu.Unlock()
				return nil, noopFrame, nil
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
		}
		pt.mu.Unlock()
		var tc <-chan time.Time
		if timer != nil {
			tc = timer.C
		}
		select {
		case <-pt.notify:
		case <-tc:
		case <-r.Context().Done():
			// The client gave up the poll: Node ends the session too.
			pt.mu.Lock()
			pt.getting = false
			pt.mu.Unlock()
			s.drop("poll connection closed prematurely")
			return nil, nil, nil
		}
		pt.mu.Lock()
	}
}

// encodePayload joins frames with the record separator; a binary frame
// is `b` and its standard base64 (SOCKETIO.md §2.2).
func encodePayload(frames []pollFrame) []byte {
	n := max(len(frames)-1, 0)
	for _, f := range frames {
		if f.binary {
			n += 1 + base64.StdEncoding.EncodedLen(len(f.b))
		} else {
			n += len(f.b)
		}
	}
	out := make([]byte, 0, n)
	for i, f := range frames {
		if i > 0 {
			out = append(out, '\x1e')
		}
		if f.binary {
			out = append(out, 'b')
			out = base64.StdEncoding.AppendEncode(out, f.b)
		} else {
			out = append(out, f.b...)
		}
	}
	return out
}

// decodePayload splits a POST body into its packets. A binary packet
// (`b` + base64) is decoded; every other packet must start with an
// Engine.IO type. The packets alias body, except binary ones.
func decodePayload(body []byte) ([]pollFrame, error) {
	n := bytes.Count(body, []byte{'\x1e'}) + 1
	frames := make([]pollFrame, 0, n)
	for p := range bytes.SplitSeq(body, []byte{'\x1e'}) {
		if len(p) == 0 {
			return nil, errBadPayload
		}
		if p[0] == 'b' {
			data, err := base64.StdEncoding.AppendDecode(nil, p[1:])
			if err != nil {
				return nil, errBadPayload
			}
			frames = append(frames, pollFrame{binary: true, b: data})
			continue
		}
		if p[0] < shared.EIOOpen || p[0] > shared.EIONoop {
			return nil, errBadPayload
		}
		frames = append(frames, pollFrame{b: p})
	}
	return frames, nil
}

// handshakePolling opens a polling session: the response is the open
// packet alone, with upgrades ["websocket"].
func (srv *Server) handshakePolling(w http.ResponseWriter, r *http.Request) {
	s := newSocket(srv, nil, r)
	pt := newPollTransport(s)
	s.tr, s.poll = pt, pt
	cfg := &srv.cfg
	open := shared.AppendEngineOpen(make([]byte, 0, 128), shared.EngineOpen{
		SID:          s.eid,
		Upgrades:     []string{"websocket"},
		PingInterval: int(cfg.PingInterval / time.Millisecond),
		PingTimeout:  int(cfg.PingTimeout / time.Millisecond),
		MaxPayload:   cfg.MaxPayload,
	})
	// Everything is set up before register publishes s to other requests.
	s.startHeartbeat()
	srv.eh.opened(s)
	if !srv.register(s) {
		s.stopTimers()
		srv.reject(w, errShuttingDown)
		return
	}
	srv.polling.Add(1)
	go func() {
		defer srv.wg.Done()
		<-s.writerDone
		s.finish(nil)
	}()
	s.logAt(slog.LevelDebug, "sio: session open", "transport", "polling")
	writePollResponse(w, open)
}

func writePollResponse(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// servePolling serves a GET or POST of the polling session s.
func (srv *Server) servePolling(w http.ResponseWriter, r *http.Request, s *Socket) {
	pt := s.poll
	if pt == nil { // a WebSocket session
		srv.reject(w, errBadRequest)
		return
	}
	s.checkPingDeadline()
	switch r.Method {
	case http.MethodGet:
		frames, body, herr := pt.poll(r)
		switch {
		case herr != nil:
			srv.reject(w, *herr)
		case frames != nil:
			writePollResponse(w, encodePayload(frames))
		case body != nil:
			writePollResponse(w, body)
		}
	case http.MethodPost:
		srv.servePost(w, r, s)
	default:
		srv.reject(w, errBadRequest)
	}
}

// servePost decodes a POST body and dispatches its packets in order before
// it answers `ok`. A body over MaxPayload gets 413 and the session lives on;
// an overlapping POST or an invalid payload gets 400 and ends the session.
func (srv *Server) servePost(w http.ResponseWriter, r *http.Request, s *Socket) {
	pt := s.poll
	pt.mu.Lock()
	switch {
	case pt.closed:
		pt.mu.Unlock()
		srv.reject(w, errUnknownSID)
		return
	case pt.upgraded:
		pt.mu.Unlock()
		srv.reject(w, errBadRequest)
		return
	case pt.posting:
		pt.mu.Unlock()
		srv.reject(w, errBadRequest)
		s.protocolError("post overlap", errPostOverlap)
		return
	}
	pt.posting = true
	pt.mu.Unlock()
	defer func() {
		pt.mu.Lock()
		pt.posting = false
		pt.mu.Unlock()
	}()

	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") {
		srv.reject(w, errBadRequest) // Engine.IO v4 payloads are text
		s.protocolError("parse error", errBadPayload)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(srv.cfg.MaxPayload)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			srv.rejected.Add(1)
			s.logAt(slog.LevelWarn, "sio: POST body over maxPayload", "max_payload", srv.cfg.MaxPayload)
			http.Error(w, "Payload Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		s.logAt(slog.LevelDebug, "sio: read POST body", "err", err)
		srv.reject(w, errBadRequest)
		return
	}
	frames, err := decodePayload(body)
	if err != nil {
		srv.reject(w, errBadRequest)
		s.protocolError("parse error", err)
		return
	}
	if err := s.dispatchPayload(frames); err != nil {
		if err != errClientClose {
			srv.reject(w, errBadRequest)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

// dispatchPayload handles the packets of one POST in order, on the POST's
// goroutine, holding readMu. A protocol error or a panic ends the session
// and is returned; the client's close packet returns errClientClose.
func (s *Socket) dispatchPayload(frames []pollFrame) (err error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			s.panicked(p)
			s.tr.closeNow()
			err = errPanic
		}
	}()
	for _, f := range frames {
		if s.ctx.Err() != nil {
			return nil // ending: the rest is dropped
		}
		switch {
		case f.binary:
			err = s.srv.eh.binary(s, f.b)
		case f.b[0] == shared.EIOClose:
			s.poll.clientClose()
			s.end(statusNormalClosure, "client close", false)
			return errClientClose
		default:
			err = s.onText(f.b)
		}
		if err != nil {
			s.protocolError("parse error", err)
			return err
		}
	}
	return nil
}
