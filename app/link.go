package app

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// Connection states, rendered as data-state on #status.
const (
	stateConnected  = "connected"
	stateConnecting = "connecting"
	stateOffline    = "offline"
)

// Reconnect timing: exponential backoff with full jitter, the first retry
// within backoffBase, never waiting longer than backoffCap.
const (
	backoffBase = time.Second
	backoffCap  = 10 * time.Second
	// dialTimeout bounds the WebSocket handshake plus the Engine.IO open
	// packet, and each write.
	dialTimeout = 10 * time.Second
	// offlinePoll is how often the loop looks again while the browser says
	// it is offline and no online event came.
	offlinePoll = 30 * time.Second
)

// backoff returns the pause before reconnect attempt n (0 = the first
// retry): a uniformly random duration in [0, min(cap, base·2ⁿ)) ("full
// jitter"). r returns a float in [0, 1).
func backoff(n int, r func() float64) time.Duration {
	ceil := backoffCap
	if n < 8 {
		ceil = min(backoffCap, backoffBase<<n)
	}
	return time.Duration(r() * float64(ceil))
}

// Why a connection ended; the service words them at render time.
var (
	errDead       = errors.New("no ping from the server within pingInterval+pingTimeout")
	errRetryNow   = errors.New("reconnect at once")
	errServerGone = errors.New("the server closed the connection")
)

// refusedError is a CONNECT_ERROR the owner did not handle.
type refusedError struct{ message string }

func (e refusedError) Error() string { return "connect refused: " + e.message }

// linkOwner is what the link reports to: the service (client.go). Every
// method but dialTarget is called from the link's goroutine with no lock
// held.
type linkOwner interface {
	// dialTarget returns the Engine.IO WebSocket URL to dial and the
	// Socket.IO CONNECT packet to send there, read at each attempt.
	dialTarget() (url string, connect []byte)
	// linkState reports the state, why the last attempt failed (nil when
	// none did) and whether the browser says it is offline.
	linkState(state string, why error, netDown bool)
	// connected: the server accepted CONNECT on connection gen.
	connected(gen int64)
	// refused: the server answered CONNECT with CONNECT_ERROR. With
	// retry, the link reconnects at once (the owner changed what it sends);
	// otherwise it backs off.
	refused(gen int64, message string) (retry bool)
	// event and ack hand over the Socket.IO EVENT and ACK packets.
	event(gen int64, name string, arg json.RawMessage)
	ack(gen int64, id int64, r shared.Response)
	// ended: connection gen is gone; nothing written on it will be answered.
	ended(gen int64)
}

// link is the app's one connection to the server (GOAPP.md §4): it dials
// the Engine.IO WebSocket, sends CONNECT, answers the server's pings,
// notices a dead link, reconnects with backoff and decodes the Socket.IO
// packets it reads. It knows nothing of the chat: what to send and what
// the packets mean is the owner's.
//
// Goroutines: run is the one loop that owns the connection; write may be
// called from anywhere. wmu orders writes; mu guards ws and gen.
type link struct {
	owner  linkOwner
	online func() bool // navigator.onLine

	kick  chan struct{} // wake the loop: online, visible, connect
	abort chan struct{} // end the current connection (new target)
	rnd   func() float64

	wmu sync.Mutex
	mu  sync.Mutex
	ws  *websocket.Conn // nil unless a Socket.IO session is open
	gen int64           // generation of ws
}

func newLink(owner linkOwner, online func() bool) *link {
	return &link{
		owner:  owner,
		online: online,
		kick:   make(chan struct{}, 1),
		abort:  make(chan struct{}, 1),
		rnd:    rand.Float64,
	}
}

// Kick makes the loop reconnect now if it is waiting: the browser came
// back online, or the tab became visible.
func (l *link) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Redial ends the current connection, if any, and connects again at once
// (to a new target).
func (l *link) Redial() {
	select {
	case l.abort <- struct{}{}:
	default:
	}
	l.Kick()
}

// run is the connection loop; it returns when ctx ends.
func (l *link) run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		if !l.online() {
			l.owner.linkState(stateOffline, nil, true)
			l.wait(ctx, offlinePoll)
			continue
		}
		l.owner.linkState(stateConnecting, nil, false)
		select { // a kick from before this attempt is stale
		case <-l.kick:
		default:
		}
		established, err := l.session(ctx)
		if established {
			attempt = 0
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRetryNow) {
			continue
		}
		l.owner.linkState(stateOffline, err, false)
		l.wait(ctx, backoff(attempt, l.rnd))
		attempt++
	}
}

func (l *link) wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.kick:
	case <-l.abort:
	case <-ctx.Done():
	}
}

// session runs one connection: dial, open packet, CONNECT, then frames
// until it ends. established reports whether CONNECT was accepted.
func (l *link) session(ctx context.Context) (established bool, err error) {
	select { // an abort from before this connection is stale
	case <-l.abort:
	default:
	}
	url, connect := l.owner.dialTarget()
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, _, err := websocket.Dial(dctx, url, nil)
	cancel()
	if err != nil {
		return false, err
	}
	c.SetReadLimit(-1) // history answers can be large; the server bounds them

	// The reader goroutine hands frames over. A browser WebSocket's Close
	// waits for the closing handshake, which a dead link never completes,
	// so this loop never waits for Read or Close: it just leaves.
	frames := make(chan []byte, 64)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		for {
			typ, b, err := c.Read(context.Background())
			if err != nil {
				readErr <- err
				return
			}
			if typ != websocket.MessageText {
				continue
			}
			select {
			case frames <- b:
			case <-done:
				return
			}
		}
	}()

	l.mu.Lock()
	l.gen++
	gen := l.gen
	l.mu.Unlock()
	defer func() {
		close(done)
		l.mu.Lock()
		if l.gen == gen {
			l.ws = nil
		}
		l.mu.Unlock()
		l.owner.ended(gen)
		go c.CloseNow()
	}()

	// The open packet gives the heartbeat timing.
	var open shared.EngineOpen
	t := time.NewTimer(dialTimeout)
	defer t.Stop()
	select {
	case b := <-frames:
		if open, err = shared.ParseEngineOpen(b); err != nil {
			return false, err
		}
	case err := <-readErr:
		return false, err
	case <-t.C:
		return false, errors.New("no open packet")
	case <-ctx.Done():
		return false, ctx.Err()
	}
	dead := time.Duration(open.PingInterval+open.PingTimeout) * time.Millisecond
	t.Reset(dead)

	l.mu.Lock()
	l.ws = c
	l.mu.Unlock()
	l.write(gen, connect)

	for {
		select {
		case b := <-frames:
			if len(b) == 0 {
				continue
			}
			switch b[0] {
			case shared.EIOPing:
				t.Reset(dead)
				l.write(gen, []byte{shared.EIOPong})
			case shared.EIOClose:
				return established, errServerGone
			case shared.EIOMessage:
				ok, err := l.packet(gen, b[1:])
				established = established || ok
				if err != nil {
					return established, err
				}
			}
		case err := <-readErr:
			return established, err
		case <-t.C:
			return established, errDead
		case <-l.abort:
			return established, errRetryNow
		case <-ctx.Done():
			return established, ctx.Err()
		}
	}
}

// packet decodes one Socket.IO packet and hands it to the owner.
// connected reports an accepted CONNECT; an error ends the connection.
func (l *link) packet(gen int64, data []byte) (connected bool, err error) {
	p, err := shared.DecodePacket(data)
	if err != nil || p.Nsp != "/" {
		return false, nil // not ours to judge; the server is the authority
	}
	switch p.Type {
	case shared.PacketConnect:
		l.owner.linkState(stateConnected, nil, false)
		l.owner.connected(gen)
		return true, nil
	case shared.PacketConnectError:
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(p.Data, &e) != nil {
			json.Unmarshal(p.Data, &e.Message) // a plain string
		}
		if l.owner.refused(gen, e.Message) {
			return false, errRetryNow
		}
		return false, refusedError{e.Message}
	case shared.PacketDisconnect:
		return false, errServerGone
	case shared.PacketEvent:
		name, args, err := shared.EventArgs(p.Data)
		if err != nil || len(args) == 0 {
			return false, nil
		}
		l.owner.event(gen, name, args[0])
	case shared.PacketAck:
		var args []shared.Response
		if json.Unmarshal(p.Data, &args) != nil || len(args) == 0 {
			return false, nil
		}
		l.owner.ack(gen, p.ID, args[0])
	}
	return false, nil
}

// write sends frames on connection gen, if it is still the current one.
func (l *link) write(gen int64, frames ...[]byte) {
	if len(frames) == 0 {
		return
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	c := l.ws
	if l.gen != gen {
		c = nil
	}
	l.mu.Unlock()
	if c == nil {
		return
	}
	for _, f := range frames {
		if len(f) == 0 {
			continue // a request that was not needed
		}
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		err := c.Write(ctx, websocket.MessageText, f)
		cancel()
		if err != nil {
			return // the read side notices the end
		}
	}
}
