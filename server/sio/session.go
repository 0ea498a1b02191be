package sio

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"chatapp/shared"
)

// engineHandler is the layer on top of an Engine.IO session: the Socket.IO
// protocol (sioLayer) or, for the protocol test suite, a raw echo. Its
// methods run on the session's read goroutine; an error closes the session
// as a protocol error.
type engineHandler interface {
	// opened runs once the open packet is queued.
	opened(s *Socket)
	// message handles a text message packet; frame includes the leading '4'.
	message(s *Socket, frame []byte) error
	// binary handles a binary message.
	binary(s *Socket, data []byte) error
	// closed runs once after the session has ended and its writer is done.
	closed(s *Socket, reason string)
}

// transport is where the writer puts frames: a WebSocket (wsTransport), or
// the buffer that polling GETs collect (pollTransport, which turns into
// the WebSocket on upgrade). write and close are called by the writer
// goroutine only; closeNow by anyone.
type transport interface {
	write(binary bool, b []byte) error // one frame; may buffer it until flush
	flush() error                      // end of a batch: write what is buffered
	close(code statusCode, reason string)
	closeNow()
}

// wsTransport writes to a WebSocket. The writer's writeTimer bounds its
// writes: it closes the connection, which fails a blocked write.
type wsTransport struct{ c *wsConn }

func (t wsTransport) write(binary bool, b []byte) error    { return t.c.queue(binary, b) }
func (t wsTransport) flush() error                         { return t.c.flush() }
func (t wsTransport) close(code statusCode, reason string) { t.c.close(code, reason) }
func (t wsTransport) closeNow()                            { t.c.closeNow() }

// Replayer produces the frames of a replay (see Socket.Replay).
type Replayer interface {
	// Next returns the next complete Engine.IO text frame and its seq, or
	// io.EOF after the last one. ctx is done when the session ends.
	Next(ctx context.Context) (frame []byte, seq int64, err error)
}

// outItem is one entry of the outbox: a frame, or a replay marker.
type outItem struct {
	frame  []byte
	seq    int64
	binary bool
	replay Replayer
}

// nspConn is a namespace the socket has joined, with its Socket.IO id.
type nspConn struct{ name, id string }

// Socket is one Engine.IO session (a WebSocket, or HTTP long-polling that
// may upgrade to one) and the Socket.IO namespace sockets on it. All
// methods are safe for concurrent use.
type Socket struct {
	srv    *Server
	tr     transport
	poll   *pollTransport // == tr for a session opened by polling; nil for a WebSocket one
	req    *http.Request
	eid    string // Engine.IO sid
	id     string // Socket.IO id on "/"
	remote string
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time

	wake       chan struct{} // cap 1: the writer has work
	writerDone chan struct{}
	pingDue    atomic.Bool  // a ping must be written at the next frame boundary
	abort      atomic.Bool  // closing without flush: the writer stops at the next frame
	dropMax    atomic.Int64 // live frames with 0 < seq <= dropMax are dropped; stored under mu
	// writeDeadline is when the frame being written must be done, in ns
	// since start; 0 while the writer is idle. writeTimer checks it lazily.
	writeDeadline atomic.Int64
	// pongDeadline is when the session expires without a pong, in ns since
	// start: the nominal next ping plus PingTimeout. Polling requests
	// check it, because timers fire late (SOCKETIO.md §2.4).
	pongDeadline atomic.Int64
	timerArmed   bool // writer goroutine only: writeTimer is running

	pingTimer    *time.Timer
	pongTimer    *time.Timer
	writeTimer   *time.Timer
	connectTimer *time.Timer // Socket.IO only; used on the read goroutine

	// readMu is held while Handler methods run for a polling session (a
	// POST's packets, frames of the upgraded WebSocket, the final
	// Disconnect), so that they run one at a time. A WebSocket session
	// needs no lock: its one read goroutine makes all those calls.
	readMu sync.Mutex

	mu          sync.Mutex // guards the fields below
	queue       []outItem  // the outbox, in order
	queued      int        // bytes in queue plus the writer's unfinished batch
	closing     bool       // the session is ending; nothing more is queued
	flush       bool       // write the queue before closing
	closeCode   statusCode
	closeReason string
	waitingPong bool
	joined      bool      // a namespace was ever joined (connect timeout)
	nsps        []nspConn // joined namespaces

	// Read goroutine only: a binary packet waiting for its attachments.
	pending    shared.Packet
	pendingAtt [][]byte
}

func newSocket(srv *Server, tr transport, r *http.Request) *Socket {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	s := &Socket{
		srv:        srv,
		tr:         tr,
		req:        r,
		eid:        newID(),
		id:         newID(),
		remote:     remoteHost(r),
		ctx:        ctx,
		cancel:     cancel,
		start:      time.Now(),
		wake:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	s.log = srv.log.With("conn_id", s.eid, "remote", s.remote)
	s.writeTimer = time.AfterFunc(time.Hour, s.writeTimedOut)
	s.writeTimer.Stop()
	s.pongTimer = time.AfterFunc(time.Hour, s.pongTimedOut)
	s.pongTimer.Stop()
	s.pingTimer = time.AfterFunc(time.Hour, s.pingDueNow)
	s.pingTimer.Stop()
	return s
}

// ID returns the Socket.IO socket id on "/": random, and distinct from the
// Engine.IO session id. It stays the same if the client leaves "/" and
// joins it again on the same session.
func (s *Socket) ID() string { return s.id }

// RemoteAddr returns the host the request came from (no port).
func (s *Socket) RemoteAddr() string { return s.remote }

// Request returns the request that opened the session: the WebSocket
// upgrade, or the polling handshake. Treat it as read-only.
func (s *Socket) Request() *http.Request { return s.req }

// Context returns a context that is done when the session starts to end.
// It carries the values of the request context.
func (s *Socket) Context() context.Context { return s.ctx }

// Send queues one complete Engine.IO text frame (e.g. from
// shared.EventFrame). It never blocks and never modifies frame, so the
// same frame may be queued on many sockets.
//
// seq > 0 marks a chat message: while a Replay is running and after it,
// queued frames with 0 < seq <= the replay's end are dropped as
// duplicates (Send returns true for them).
//
// If the queued bytes would exceed Config.SendBuffer, the socket is closed
// as a slow consumer (WebSocket close 1008 "slow consumer") and Send
// returns false; a frame that finds nothing queued is always accepted,
// however large. It also returns false once the session is ending.
// Send never calls the Handler, so it may be called with the caller's
// locks held.
func (s *Socket) Send(frame []byte, seq int64) bool {
	return s.push(frame, seq, false, nil)
}

// push queues frame and then its binary attachments, back to back.
func (s *Socket) push(frame []byte, seq int64, binary bool, attachments [][]byte) bool {
	n := len(frame)
	for _, a := range attachments {
		n += len(a)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	if seq > 0 && seq <= s.dropMax.Load() {
		s.mu.Unlock()
		return true
	}
	if s.queued > 0 && s.queued+n > s.srv.cfg.SendBuffer { // a frame that meets an empty queue always fits
		s.mu.Unlock()
		s.slowConsumer()
		return false
	}
	s.queue = append(s.queue, outItem{frame: frame, seq: seq, binary: binary})
	for _, a := range attachments {
		s.queue = append(s.queue, outItem{frame: a, binary: true})
	}
	s.queued += n
	s.mu.Unlock()
	s.signal()
	return true
}

// Replay queues a replay. When the writer reaches this point of the queue
// it writes the frames r.Next returns until io.EOF, before anything queued
// after the Replay call. Replay frames do not count toward SendBuffer: they
// are pulled as the socket drains. Frames queued behind the replay do.
//
// end is the highest seq the replay covers: from now on, frames with
// 0 < seq <= end that have not been written yet are dropped, whether they
// were queued before or after this call. Call Replay before the socket
// starts receiving live seq frames, so that none is written ahead of it.
//
// If r.Next fails with another error than io.EOF, the session is closed
// (1011) and the client reconnects with its offset.
func (s *Socket) Replay(r Replayer, end int64) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, outItem{replay: r})
	if end > s.dropMax.Load() {
		s.dropMax.Store(end)
	}
	s.mu.Unlock()
	s.signal()
}

// Close ends the session now: queued frames are discarded and the
// WebSocket is closed with 1000 and reason (over polling, the next GET
// gets the close packet). Handler.Disconnect gets reason
// (or "server close" when it is empty). The client reconnects by itself;
// use Disconnect to stop it from doing so.
func (s *Socket) Close(reason string) {
	if reason == "" {
		reason = "server close"
	}
	s.end(statusNormalClosure, reason, false)
}

func (s *Socket) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end starts ending the session and reports whether this call did so.
// code 0 closes the connection without a close handshake. With flush, the
// writer writes what is queued first; otherwise the queue is dropped.
func (s *Socket) end(code statusCode, reason string, flush bool) bool {
	return s.endWith(nil, code, reason, flush)
}

// endWith is end that first queues DISCONNECT (41) for each joined namespace
// for which kick returns true.
func (s *Socket) endWith(kick func(nsp string) bool, code statusCode, reason string, flush bool) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	s.closing = true
	s.flush = flush
	s.closeCode = code
	s.closeReason = reason
	if kick != nil {
		for _, n := range s.nsps {
			if kick(n.name) {
				s.queue = append(s.queue, outItem{frame: disconnectFrame(n.name)})
			}
		}
	}
	if !flush {
		s.abort.Store(true)
		clear(s.queue)
		s.queue = s.queue[:0]
	}
	s.mu.Unlock()
	s.cancel()
	s.signal()
	return true
}

func (s *Socket) reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeReason
}

// shutdown sends 41 for every joined namespace, then closes with 1001.
func (s *Socket) shutdown() {
	s.endWith(func(string) bool { return true }, statusGoingAway, "server shutting down", true)
}

func (s *Socket) slowConsumer() {
	if s.end(statusPolicyViolation, "slow consumer", false) {
		s.srv.slowKicks.Add(1)
		s.log.Warn("sio: slow consumer, closing", "send_buffer", s.srv.cfg.SendBuffer)
	}
}

func (s *Socket) writeTimedOut() {
	d := s.writeDeadline.Load()
	if d == 0 {
		return // the writer is idle
	}
	if rem := time.Duration(d) - time.Since(s.start); rem > 0 {
		s.writeTimer.Reset(rem) // frames are still moving
		return
	}
	if s.end(0, "write timeout", false) {
		s.srv.writeTimeouts.Add(1)
		s.log.Warn("sio: write timeout, closing slow consumer", "dur", s.srv.cfg.WriteTimeout)
	}
	s.tr.closeNow() // unblocks the writer
}

// Heartbeat (SOCKETIO.md §2.4): pingTimer fires every PingInterval after
// the last pong and asks the writer for a `2`; pongTimer closes the session
// if no `3` comes within PingTimeout.

func (s *Socket) pingDueNow() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.waitingPong = true
	s.pongTimer.Reset(s.srv.cfg.PingTimeout)
	s.mu.Unlock()
	s.pingDue.Store(true)
	s.signal()
}

func (s *Socket) pongTimedOut() {
	s.mu.Lock()
	expired := s.waitingPong
	s.mu.Unlock()
	if expired {
		s.pingTimeout()
	}
}

func (s *Socket) pingTimeout() {
	if s.end(0, "ping timeout", false) {
		s.srv.pingTimeouts.Add(1)
		s.log.Debug("sio: ping timeout")
		s.tr.closeNow()
	}
}

// startHeartbeat arms the first ping; the session expires without a pong
// PingInterval + PingTimeout from now.
func (s *Socket) startHeartbeat() {
	cfg := &s.srv.cfg
	s.pongDeadline.Store(int64(time.Since(s.start) + cfg.PingInterval + cfg.PingTimeout))
	s.pingTimer.Reset(cfg.PingInterval)
}

// checkPingDeadline ends the session if its pong deadline has passed,
// even if pongTimer has not fired yet.
func (s *Socket) checkPingDeadline() {
	if time.Since(s.start) > time.Duration(s.pongDeadline.Load()) {
		s.pingTimeout()
	}
}

func (s *Socket) onPong() {
	s.mu.Lock()
	if s.waitingPong && !s.closing {
		s.waitingPong = false
		s.pongTimer.Stop()
		cfg := &s.srv.cfg
		s.pongDeadline.Store(int64(time.Since(s.start) + cfg.PingInterval + cfg.PingTimeout))
		s.pingTimer.Reset(cfg.PingInterval)
	}
	s.mu.Unlock()
}

// drop ends the session at once, e.g. when its connection is gone.
func (s *Socket) drop(reason string) {
	if s.end(0, reason, false) {
		s.log.Debug("sio: closing", "reason", reason)
	}
	s.tr.closeNow()
}

// protocolError ends the session at once for invalid client input.
func (s *Socket) protocolError(reason string, err error) {
	if s.end(statusProtocolError, reason, false) {
		s.srv.protocolErrors.Add(1)
		s.log.Warn("sio: protocol error, closing", "err", err)
	}
	s.tr.closeNow()
}

// panicked logs a recovered Handler panic and ends the session.
func (s *Socket) panicked(p any) {
	s.log.Error("sio: panic in session", "err", p, "stack", string(debug.Stack()))
	s.end(statusInternalError, "server error", false)
}

// run runs the session on the HTTP handler goroutine until it ends.
func (s *Socket) run(c *wsConn) {
	cfg := &s.srv.cfg
	open := shared.AppendEngineOpen(make([]byte, 0, 128), shared.EngineOpen{
		SID:          s.eid,
		Upgrades:     []string{},
		PingInterval: int(cfg.PingInterval / time.Millisecond),
		PingTimeout:  int(cfg.PingTimeout / time.Millisecond),
		MaxPayload:   cfg.MaxPayload,
	})
	s.push(open, 0, false, nil) // the first frame, before anything else can be queued
	go s.writeLoop()
	s.startHeartbeat()
	s.srv.eh.opened(s)
	s.log.Debug("sio: session open", "transport", "websocket")
	err := s.serve(c, false)
	s.finish(err)
}

// serve is the read loop of a WebSocket. It returns the error that ended
// it. locked (an upgraded polling session) dispatches each frame under
// readMu.
func (s *Socket) serve(c *wsConn, locked bool) error {
	for {
		binary, b, err := c.read()
		if err != nil {
			var we *wsError
			if errors.As(err, &we) { // read has sent the close frame
				s.srv.protocolErrors.Add(1)
				s.log.Warn("sio: websocket protocol error, closing", "err", err, "max_payload", s.srv.cfg.MaxPayload)
				s.end(0, we.msg, false)
			}
			return err
		}
		if s.ctx.Err() != nil {
			continue // ending: read on until the close handshake is done
		}
		if err := s.dispatchSafe(binary, b, locked); err != nil {
			if err != errClientClose && err != errPanic {
				s.srv.protocolErrors.Add(1)
				s.log.Warn("sio: protocol error, closing", "err", err)
				s.end(statusProtocolError, "parse error", false)
			}
			// The writer sends a close frame: read on until the peer
			// answers it (or the writer gives up), so that closing the
			// connection cannot reset it before the peer has read ours.
			for {
				if _, _, rerr := c.read(); rerr != nil {
					return err
				}
			}
		}
	}
}

// dispatchSafe dispatches one message; a Handler panic ends the session
// (1011) and returns errPanic.
func (s *Socket) dispatchSafe(binary bool, b []byte, locked bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.panicked(p)
			err = errPanic
		}
	}()
	if locked {
		return s.dispatchLocked(binary, b)
	}
	return s.dispatch(binary, b)
}

// Protocol errors. Their text goes to the log, never to the client.
var (
	errEmptyFrame         = errors.New("sio: empty frame")
	errEngineType         = errors.New("sio: unknown engine.io packet type")
	errHeartbeat          = errors.New("sio: ping from client (invalid heartbeat direction)")
	errClientClose        = errors.New("sio: client closed the session")
	errPanic              = errors.New("sio: panic")
	errStrayBinary        = errors.New("sio: binary message without a pending binary packet")
	errTextDuringBinary   = errors.New("sio: text message while attachments are pending")
	errBinaryNotAllowed   = errors.New("sio: binary packet (not allowed)")
	errNotConnected       = errors.New("sio: packet for a namespace not joined")
	errAlreadyConnected   = errors.New("sio: CONNECT to a namespace already joined")
	errClientConnectError = errors.New("sio: CONNECT_ERROR from client")
)

func (s *Socket) dispatch(binary bool, b []byte) error {
	if binary {
		return s.srv.eh.binary(s, b)
	}
	return s.onText(b)
}

func (s *Socket) dispatchLocked(binary bool, b []byte) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if s.ctx.Err() != nil {
		return nil // ending: read on until the close handshake is done
	}
	return s.dispatch(binary, b)
}

// onText dispatches a text frame by its Engine.IO packet type.
func (s *Socket) onText(b []byte) error {
	if len(b) == 0 {
		return errEmptyFrame
	}
	switch b[0] {
	case shared.EIOMessage:
		return s.srv.eh.message(s, b)
	case shared.EIOPong:
		s.onPong()
		return nil
	case shared.EIOClose:
		s.end(statusNormalClosure, "client close", false)
		return errClientClose
	case shared.EIOPing:
		return errHeartbeat
	case shared.EIOUpgrade, shared.EIONoop:
		return nil
	}
	return errEngineType
}

// finish cleans up after the session: for a WebSocket session on the HTTP
// handler goroutine after the read loop, for a polling one on the writer's
// goroutine after the writer.
func (s *Socket) finish(readErr error) {
	if s.end(0, "transport close", false) {
		s.tr.closeNow() // the read side failed first: the connection is gone
	}
	<-s.writerDone
	s.tr.closeNow()
	s.stopTimers()
	reason := s.reason()
	s.readMu.Lock() // no POST or upgraded frame is being dispatched, and none will be (ctx is done)
	s.srv.eh.closed(s, reason)
	s.readMu.Unlock()
	s.srv.unregister(s)
	if readErr != nil && !normalClose(readErr) {
		s.log.Debug("sio: session closed", "reason", reason, "dur", time.Since(s.start), "err", readErr)
	} else {
		s.log.Debug("sio: session closed", "reason", reason, "dur", time.Since(s.start))
	}
}

func (s *Socket) stopTimers() {
	s.pingTimer.Stop()
	s.pongTimer.Stop()
	s.writeTimer.Stop()
	if s.connectTimer != nil {
		s.connectTimer.Stop()
	}
}

// normalClose reports whether err is an ordinary end of a connection.
func normalClose(err error) bool {
	switch closeStatus(err) {
	case statusNormalClosure, statusGoingAway, statusNoStatusRcvd:
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		err == errClientClose
}

var pingFrame = []byte{shared.EIOPing}

// maxIdleBatch is the largest outbox buffer, in items, a writer keeps after
// a burst (56 bytes each).
const maxIdleBatch = 1024

// writeLoop is the session's only writer. It takes the whole outbox at
// once (double-buffered, so steady state allocates nothing) and writes it
// in order; pings go out at the next frame boundary.
func (s *Socket) writeLoop() {
	defer close(s.writerDone)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("sio: panic in writer", "err", p, "stack", string(debug.Stack()))
			s.end(statusInternalError, "server error", false)
			s.tr.closeNow()
		}
	}()
	var batch []outItem
	written := 0
	for {
		<-s.wake
		for {
			s.mu.Lock()
			s.queued -= written
			written = 0
			batch, s.queue = s.queue, batch[:0]
			closing, flush := s.closing, s.flush
			code, reason := s.closeCode, s.closeReason
			s.mu.Unlock()

			if closing && !flush {
				s.closeTransport(code, reason)
				return
			}
			if s.pingDue.Swap(false) {
				if err := s.write(false, pingFrame); err != nil {
					s.writeFailed(err)
					return
				}
			}
			if len(batch) == 0 {
				if !closing {
					if err := s.flushTransport(); err != nil {
						s.writeFailed(err)
						return
					}
				}
				s.idle()
				if closing {
					s.closeTransport(code, reason)
					return
				}
				break
			}
			for i := range batch {
				if s.abort.Load() {
					break
				}
				it := &batch[i]
				written += len(it.frame)
				var err error
				switch {
				case it.replay != nil:
					if !closing {
						err = s.runReplay(it.replay)
					}
				case it.seq > 0 && it.seq <= s.dropMax.Load():
					// A replay covers it.
				default:
					err = s.write(it.binary, it.frame)
				}
				if err == nil && s.pingDue.Load() && s.pingDue.Swap(false) {
					err = s.write(false, pingFrame)
				}
				if err != nil {
					s.writeFailed(err)
					return
				}
			}
			clear(batch) // drop frame references
			if cap(batch) > maxIdleBatch {
				batch = nil // a burst is over: do not keep its buffer
			}
			if !closing { // write the batch, or hand it to the pending GET
				if err := s.flushTransport(); err != nil {
					s.writeFailed(err)
					return
				}
			}
		}
	}
}

// runReplay writes the frames of r until io.EOF.
func (s *Socket) runReplay(r Replayer) error {
	for !s.abort.Load() {
		// Next may wait for the store: that is not the client being slow,
		// so the write timeout does not run meanwhile.
		s.idle()
		frame, _, err := r.Next(s.ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("sio: replay failed, closing", "err", err)
				s.end(statusInternalError, "replay failed", false)
			}
			return nil
		}
		if err := s.write(false, frame); err != nil {
			return err
		}
		if s.pingDue.Load() && s.pingDue.Swap(false) {
			if err := s.write(false, pingFrame); err != nil {
				return err
			}
		}
	}
	return nil
}

// write writes one frame within WriteTimeout. Rather than a timer
// operation per frame, it moves writeDeadline on; the timer, armed once
// per busy period, fires only to check it.
func (s *Socket) write(binary bool, b []byte) error {
	s.armWriteTimeout()
	return s.tr.write(binary, b)
}

// flushTransport ends a batch within WriteTimeout: the WebSocket writes
// what it has buffered; polling hands it to the pending GET.
func (s *Socket) flushTransport() error {
	s.armWriteTimeout()
	return s.tr.flush()
}

func (s *Socket) armWriteTimeout() {
	wt := s.srv.cfg.WriteTimeout
	s.writeDeadline.Store(int64(time.Since(s.start) + wt))
	if !s.timerArmed {
		s.timerArmed = true
		s.writeTimer.Reset(wt)
	}
}

// idle disarms the write timeout when the outbox is empty.
func (s *Socket) idle() {
	if s.timerArmed {
		s.timerArmed = false
		s.writeDeadline.Store(0)
		s.writeTimer.Stop()
	}
}

func (s *Socket) writeFailed(err error) {
	if s.end(0, "transport error", false) {
		s.log.Debug("sio: write failed", "err", err)
	}
	s.tr.closeNow()
}

func (s *Socket) closeTransport(code statusCode, reason string) {
	if code == 0 {
		s.tr.closeNow()
		return
	}
	s.tr.close(code, reason)
}
