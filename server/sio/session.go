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
//
// A Socket holds little while its connection is idle (no logger, no
// request, no writer goroutine, a small outbox): per-connection memory is
// what bounds how many clients one server holds (docs/PERFORMANCE.md).
type Socket struct {
	srv    *Server
	tr     transport
	poll   *pollTransport // == tr for a session opened by polling; nil for a WebSocket one
	eid    string         // Engine.IO sid
	id     string         // Socket.IO id on "/"
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time

	// writer is the state of the writer goroutine, which runs only while
	// there is something to write (signal starts it).
	writer     atomic.Int32
	writerFn   func()        // s.writeLoop, made once: `go s.writerFn()` does not allocate
	writerDone chan struct{} // closed when the writer has closed the transport
	batch      []outItem     // writer only: the spare outbox buffer
	pingDue    atomic.Bool   // a ping must be written at the next frame boundary
	abort      atomic.Bool   // closing without flush: the writer stops at the next frame
	dropMax    atomic.Int64  // live frames with 0 < seq <= dropMax are dropped; stored under mu
	// writeDeadline is when the frame being written must be done, in ns
	// since start; 0 while the writer is idle. The server's sweepWrites
	// checks it.
	writeDeadline atomic.Int64
	// pongDeadline is when the session expires without a pong, in ns since
	// start: the nominal next ping plus PingTimeout. Polling requests
	// check it, because timers fire late (SOCKETIO.md §2.4).
	pongDeadline atomic.Int64

	hbTimer      *time.Timer // heartbeat: the next ping, or the pong deadline
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
	ctx, cancel := context.WithCancel(context.Background())
	s := &Socket{
		srv:        srv,
		tr:         tr,
		eid:        newID(),
		id:         newID(),
		remote:     remoteHost(r),
		ctx:        ctx,
		cancel:     cancel,
		start:      time.Now(),
		writerDone: make(chan struct{}),
	}
	s.writerFn = s.writeLoop
	s.hbTimer = time.AfterFunc(time.Hour, s.heartbeat)
	s.hbTimer.Stop()
	return s
}

// ID returns the Socket.IO socket id on "/": random, and distinct from the
// Engine.IO session id. It stays the same if the client leaves "/" and
// joins it again on the same session.
func (s *Socket) ID() string { return s.id }

// RemoteAddr returns the host the request came from (no port).
func (s *Socket) RemoteAddr() string { return s.remote }

// Context returns a context that is done when the session starts to end.
func (s *Socket) Context() context.Context { return s.ctx }

// logAt logs with the session's conn_id and remote. The Socket keeps no
// logger of its own: the attributes are built only for a record that is
// logged.
func (s *Socket) logAt(level slog.Level, msg string, args ...any) {
	if l := s.srv.log; l.Enabled(context.Background(), level) {
		l.With("conn_id", s.eid, "remote", s.remote).Log(context.Background(), level, msg, args...)
	}
}

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

// Writer states (Socket.writer).
const (
	writerIdle    = iota // no writer goroutine
	writerRunning        // a writer goroutine is draining the outbox
	writerWoken          // running, and signalled since it last took the outbox
	writerDead           // the writer closed the transport; none starts again
)

// signal makes sure a writer goroutine will look at the outbox: it starts
// one if none runs. An idle connection has no writer goroutine.
func (s *Socket) signal() {
	for {
		switch st := s.writer.Load(); st {
		case writerIdle:
			if s.writer.CompareAndSwap(writerIdle, writerRunning) {
				go s.writerFn()
				return
			}
		case writerRunning:
			if s.writer.CompareAndSwap(writerRunning, writerWoken) {
				return
			}
		default:
			return
		}
	}
}

// writerMayStop is called by the writer with nothing left to write. It
// reports whether the writer goroutine may exit: not if it was signalled
// since it last took the outbox.
func (s *Socket) writerMayStop() bool {
	if s.writer.CompareAndSwap(writerRunning, writerIdle) {
		return true
	}
	s.writer.Store(writerRunning) // was writerWoken: look again
	return false
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

// shutdown writes what is queued, then closes the transport as going away
// (1001; over polling, the close packet `1`), without DISCONNECT (41): a
// stock client takes 41 as a kick ("io server disconnect") and never
// reconnects, while a transport close makes it reconnect with its backoff,
// to this server once it is back.
func (s *Socket) shutdown() {
	s.end(statusGoingAway, "server shutting down", true)
}

func (s *Socket) slowConsumer() {
	if s.end(statusPolicyViolation, "slow consumer", false) {
		s.srv.slowKicks.Add(1)
		s.logAt(slog.LevelWarn, "sio: slow consumer, closing", "send_buffer", s.srv.cfg.SendBuffer)
	}
}

// writeTimedOut closes the session if its write deadline has passed.
func (s *Socket) writeTimedOut(now time.Time) {
	if d := s.writeDeadline.Load(); d == 0 || now.Sub(s.start) <= time.Duration(d) {
		return // the writer is idle, or frames are moving
	}
	if s.end(0, "write timeout", false) {
		s.srv.writeTimeouts.Add(1)
		s.logAt(slog.LevelWarn, "sio: write timeout, closing slow consumer", "dur", s.srv.cfg.WriteTimeout)
	}
	s.tr.closeNow() // unblocks the writer
}

// Heartbeat (SOCKETIO.md §2.4), on one timer per session: it fires
// PingInterval after the last pong and asks the writer for a `2`, then
// PingTimeout later, when the session expires unless a `3` came.
func (s *Socket) heartbeat() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if s.waitingPong {
		s.mu.Unlock()
		s.pingTimeout()
		return
	}
	cfg := &s.srv.cfg
	if time.Since(s.start) < time.Duration(s.pongDeadline.Load())-cfg.PingTimeout {
		s.mu.Unlock() // a late firing that a pong's Reset has overtaken
		return
	}
	s.waitingPong = true
	s.hbTimer.Reset(cfg.PingTimeout)
	s.mu.Unlock()
	s.pingDue.Store(true)
	s.signal()
}

func (s *Socket) pingTimeout() {
	if s.end(0, "ping timeout", false) {
		s.srv.pingTimeouts.Add(1)
		s.logAt(slog.LevelDebug, "sio: ping timeout")
		s.tr.closeNow()
	}
}

// startHeartbeat arms the first ping; the session expires without a pong
// PingInterval + PingTimeout from now.
func (s *Socket) startHeartbeat() {
	cfg := &s.srv.cfg
	s.pongDeadline.Store(int64(time.Since(s.start) + cfg.PingInterval + cfg.PingTimeout))
	s.hbTimer.Reset(cfg.PingInterval)
}

// checkPingDeadline ends the session if its pong deadline has passed,
// even if the timer has not fired yet.
func (s *Socket) checkPingDeadline() {
	if time.Since(s.start) > time.Duration(s.pongDeadline.Load()) {
		s.pingTimeout()
	}
}

func (s *Socket) onPong() {
	s.mu.Lock()
	if s.waitingPong && !s.closing {
		s.waitingPong = false
		cfg := &s.srv.cfg
		s.pongDeadline.Store(int64(time.Since(s.start) + cfg.PingInterval + cfg.PingTimeout))
		s.hbTimer.Reset(cfg.PingInterval)
	}
	s.mu.Unlock()
}

// drop ends the session at once, e.g. when its connection is gone.
func (s *Socket) drop(reason string) {
	if s.end(0, reason, false) {
		s.logAt(slog.LevelDebug, "sio: closing", "reason", reason)
	}
	s.tr.closeNow()
}

// protocolError ends the session at once for invalid client input.
func (s *Socket) protocolError(reason string, err error) {
	if s.end(statusProtocolError, reason, false) {
		s.srv.protocolErrors.Add(1)
		s.logAt(slog.LevelWarn, "sio: protocol error, closing", "err", err)
	}
	s.tr.closeNow()
}

// panicked logs a recovered Handler panic and ends the session.
func (s *Socket) panicked(p any) {
	s.logAt(slog.LevelError, "sio: panic in session", "err", p, "stack", string(debug.Stack()))
	s.end(statusInternalError, "server error", false)
}

// run starts the session of a new WebSocket: its read loop ends with
// finish, and then marks the session's goroutine done (srv.wg).
func (s *Socket) run(c *wsConn) {
	cfg := &s.srv.cfg
	open := shared.AppendEngineOpen(make([]byte, 0, 128), shared.EngineOpen{
		SID:          s.eid,
		Upgrades:     []string{},
		PingInterval: int(cfg.PingInterval / time.Millisecond),
		PingTimeout:  int(cfg.PingTimeout / time.Millisecond),
		MaxPayload:   cfg.MaxPayload,
	})
	s.push(open, 0, false, nil) // the first frame, before anything else can be queued; it starts the writer
	s.startHeartbeat()
	s.srv.eh.opened(s)
	s.logAt(slog.LevelDebug, "sio: session open", "transport", "websocket")
	s.serve(c, false, func(err error) {
		s.finish(err)
		s.srv.wg.Done()
	})
}

// serve is the read loop of a WebSocket; done gets the error that ended
// it. locked (an upgraded polling session) dispatches each frame under
// readMu.
//
// Whenever it has handled all the input there is, it goes on on a fresh
// goroutine and lets this one end: handling a login (bcrypt, SQLite) grows
// a goroutine's stack to tens of KiB, which an idle connection would
// otherwise keep until enough GC cycles shrink it. A new goroutine blocks
// in Read with the smallest stack.
func (s *Socket) serve(c *wsConn, locked bool, done func(error)) {
	for {
		binary, b, err := c.read()
		if err != nil {
			var we *wsError
			if errors.As(err, &we) { // read has sent the close frame
				s.srv.protocolErrors.Add(1)
				s.logAt(slog.LevelWarn, "sio: websocket protocol error, closing", "err", err, "max_payload", s.srv.cfg.MaxPayload)
				s.end(0, we.msg, false)
			}
			done(err)
			return
		}
		if s.ctx.Err() != nil {
			continue // ending: read on until the close handshake is done
		}
		if err := s.dispatchSafe(binary, b, locked); err != nil {
			if err != errClientClose && err != errPanic {
				s.srv.protocolErrors.Add(1)
				s.logAt(slog.LevelWarn, "sio: protocol error, closing", "err", err)
				s.end(statusProtocolError, "parse error", false)
			}
			// The writer sends a close frame: read on until the peer
			// answers it (or the writer gives up), so that closing the
			// connection cannot reset it before the peer has read ours.
			for {
				if _, _, rerr := c.read(); rerr != nil {
					done(err)
					return
				}
			}
		}
		if c.br.Buffered() == 0 {
			go s.serve(c, locked, done)
			return
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

// finish cleans up after the session: for a WebSocket session after the
// read loop, for a polling one after the writer.
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
		s.logAt(slog.LevelDebug, "sio: session closed", "reason", reason, "dur", time.Since(s.start), "err", readErr)
	} else {
		s.logAt(slog.LevelDebug, "sio: session closed", "reason", reason, "dur", time.Since(s.start))
	}
}

func (s *Socket) stopTimers() {
	s.hbTimer.Stop()
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

// maxBusyBatch is the largest outbox buffer, in items (56 bytes each), a
// busy writer keeps after a burst; idleBatch is what a socket keeps when
// its outbox is empty.
const (
	maxBusyBatch = 1024
	idleBatch    = 8
)

// writeLoop is the writer goroutine, started by signal. It drains the
// outbox and exits when it is empty; the one that closes the transport
// marks the writer dead.
func (s *Socket) writeLoop() {
	if s.drain() {
		s.writer.Store(writerDead)
		close(s.writerDone)
	}
}

// drain is the session's only writer. It takes the whole outbox at once
// (double-buffered, so steady state allocates nothing), writes it in
// order and flushes it; pings go out at the next frame boundary. It
// returns true once it has closed the transport, false when the outbox is
// empty and the goroutine may exit.
func (s *Socket) drain() (done bool) {
	defer func() {
		if p := recover(); p != nil {
			s.logAt(slog.LevelError, "sio: panic in writer", "err", p, "stack", string(debug.Stack()))
			s.end(statusInternalError, "server error", false)
			s.tr.closeNow()
			done = true
		}
	}()
	written := 0
	for {
		s.mu.Lock()
		s.queued -= written
		written = 0
		s.batch, s.queue = s.queue, s.batch[:0]
		batch := s.batch
		closing, flush := s.closing, s.flush
		code, reason := s.closeCode, s.closeReason
		s.mu.Unlock()

		if closing && !flush {
			s.closeTransport(code, reason)
			return true
		}
		if s.pingDue.Swap(false) {
			if err := s.write(false, pingFrame); err != nil {
				s.writeFailed(err)
				return true
			}
		}
		if len(batch) == 0 {
			if !closing {
				if err := s.flushTransport(); err != nil {
					s.writeFailed(err)
					return true
				}
			}
			s.idle()
			if closing {
				s.closeTransport(code, reason)
				return true
			}
			s.shrinkOutbox()
			if s.writerMayStop() {
				return false
			}
			continue
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
				return true
			}
		}
		clear(batch) // drop frame references
		if cap(batch) > maxBusyBatch {
			s.batch = nil // a burst is over: do not keep its buffer
		}
		if !closing { // write the batch, or hand it to the pending GET
			if err := s.flushTransport(); err != nil {
				s.writeFailed(err)
				return true
			}
		}
	}
}

// shrinkOutbox drops outbox buffers grown by a burst (a login's presence
// and room lists, a replay) once the outbox is empty.
func (s *Socket) shrinkOutbox() {
	if cap(s.batch) > idleBatch {
		s.batch = nil
	}
	s.mu.Lock()
	if len(s.queue) == 0 && cap(s.queue) > idleBatch {
		s.queue = nil
	}
	s.mu.Unlock()
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
				s.logAt(slog.LevelWarn, "sio: replay failed, closing", "err", err)
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
// operation per frame, it moves writeDeadline on; the server's sweepWrites
// checks it.
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
	s.writeDeadline.Store(int64(time.Since(s.start) + s.srv.cfg.WriteTimeout))
}

// idle disarms the write timeout when the outbox is empty.
func (s *Socket) idle() { s.writeDeadline.Store(0) }

func (s *Socket) writeFailed(err error) {
	if s.end(0, "transport error", false) {
		s.logAt(slog.LevelDebug, "sio: write failed", "err", err)
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
