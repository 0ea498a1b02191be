package main

// A small Socket.IO v5 client over Engine.IO v4 websocket for the
// black-box tests of reliability_test.go: it answers pings, sends
// requests with ack ids, and records every message (with its arrival
// time) and every other event. Unlike server/helpers_test.go it never
// fails the test by itself: faults are expected, so every wait returns an
// error and the test decides.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// sioClient is one Socket.IO connection to the main namespace.
type sioClient struct {
	name   string
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the read loop ends

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	sid      string        // CONNECT reply
	connErr  string        // CONNECT_ERROR message
	msgs     []shared.Message
	arrived  []time.Time // arrival time of msgs[i]
	events   []sioEvent  // every other event, in order
	acks     map[int64]chan shared.Response
	nextID   int64
	kicked   bool                 // got DISCONNECT (41)
	closeErr error                // why the read loop ended
	status   websocket.StatusCode // close status the server sent, -1 if none
	seqOnly  bool
	paused   chan struct{} // non-nil: the read loop waits until it is closed
}

type sioEvent struct {
	name string
	arg  json.RawMessage
}

// sioDialOptions tune dialSIO.
type sioDialOptions struct {
	// rcvBuf, if > 0, is the socket's SO_RCVBUF: a small one makes a
	// client that stops reading fill up quickly.
	rcvBuf int
	// timeout bounds the dial and the CONNECT reply. Zero means 10 s.
	timeout time.Duration
	// seqOnly records only the seq of each message (a fast scan instead
	// of JSON decoding: big messages stay cheap under -race).
	seqOnly bool
}

// dialSIO connects to addr (host:port), sends CONNECT with auth (nil: none)
// and waits for the reply. A CONNECT_ERROR is not an error: it is in
// connErr, and the connection stays open.
func dialSIO(addr, name string, auth any, o *sioDialOptions) (*sioClient, error) {
	if o == nil {
		o = &sioDialOptions{}
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	dctx, dcancel := context.WithTimeout(context.Background(), timeout)
	defer dcancel()
	var opts *websocket.DialOptions
	if o.rcvBuf > 0 {
		d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.rcvBuf)
			})
			return errors.Join(err, serr)
		}}
		opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
	}
	ws, _, err := websocket.Dial(dctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", opts)
	if err != nil {
		return nil, fmt.Errorf("%s: dial: %w", name, err)
	}
	ws.SetReadLimit(64 << 20)
	_, open, err := ws.Read(dctx)
	if err != nil || len(open) == 0 || open[0] != '0' {
		ws.CloseNow()
		return nil, fmt.Errorf("%s: open packet %q: %v", name, open, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &sioClient{name: name, ws: ws, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		changed: make(chan struct{}), acks: map[int64]chan shared.Response{}, status: -1, seqOnly: o.seqOnly}
	go c.readLoop()
	pkt := "40"
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			c.close()
			return nil, err
		}
		pkt += string(b)
	}
	if err := c.write(pkt); err != nil {
		c.close()
		return nil, fmt.Errorf("%s: CONNECT: %w", name, err)
	}
	if err := c.waitUntil(timeout, func() bool { return c.sid != "" || c.connErr != "" }); err != nil {
		c.close()
		return nil, fmt.Errorf("%s: CONNECT reply: %w", name, err)
	}
	return c, nil
}

// loginSIO dials anonymously and logs in as id (password "password-"+id), which
// creates the account on first use. It returns the login answer.
func loginSIO(addr, id string) (*sioClient, shared.Response, error) {
	c, err := dialSIO(addr, id, nil, nil)
	if err != nil {
		return nil, shared.Response{}, err
	}
	r, err := c.req(shared.EventLogin, shared.Login{ID: id, Password: "password-" + id})
	if err == nil && r.Code != shared.CodeOK {
		err = fmt.Errorf("%s: login: %+v", id, r)
	}
	if err != nil {
		c.close()
		return nil, r, err
	}
	return c, r, nil
}

// resumeSIO reconnects with {token, offset}.
func resumeSIO(addr, name, token string, offset shared.Seq) (*sioClient, error) {
	c, err := dialSIO(addr, name, map[string]string{"token": token, "offset": offset.String()}, nil)
	if err == nil && c.connErr != "" {
		c.close()
		return nil, fmt.Errorf("%s: resume: CONNECT_ERROR %s", name, c.connErr)
	}
	return c, err
}

func (c *sioClient) readLoop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		paused := c.paused
		c.mu.Unlock()
		if paused != nil {
			select {
			case <-paused:
			case <-c.ctx.Done():
			}
		}
		_, b, err := c.ws.Read(c.ctx)
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.status = websocket.CloseStatus(err)
			for id, ch := range c.acks {
				close(ch)
				delete(c.acks, id)
			}
			c.notifyLocked()
			c.mu.Unlock()
			return
		}
		switch {
		case len(b) == 1 && b[0] == '2':
			c.write("3")
			continue
		case len(b) == 0 || b[0] != '4':
			continue
		case bytes.HasPrefix(b, presencePrefix):
			continue // not needed by any test; skipping it keeps storms cheap
		case c.seqOnly && bytes.HasPrefix(b, messagePrefix):
			// The server writes seq first: 42["message",{"seq":"123",…
			rest := b[len(messagePrefix):]
			seq, err := shared.ParseSeq(string(rest[:max(bytes.IndexByte(rest, '"'), 0)]))
			if err != nil {
				c.ws.CloseNow()
				continue
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, shared.Message{Seq: seq})
			c.arrived = append(c.arrived, time.Now())
			c.notifyLocked()
			c.mu.Unlock()
			continue
		}
		p, err := shared.DecodePacket(b[1:])
		if err != nil {
			continue
		}
		now := time.Now()
		c.mu.Lock()
		switch p.Type {
		case shared.PacketConnect:
			var r struct{ SID string }
			json.Unmarshal(p.Data, &r)
			c.sid = r.SID
		case shared.PacketConnectError:
			var r struct{ Message string }
			json.Unmarshal(p.Data, &r)
			c.connErr = r.Message
		case shared.PacketDisconnect:
			c.kicked = true
		case shared.PacketAck:
			var args []shared.Response
			json.Unmarshal(p.Data, &args)
			if ch := c.acks[p.ID]; ch != nil {
				delete(c.acks, p.ID)
				if len(args) > 0 {
					ch <- args[0]
				}
				close(ch)
			}
		case shared.PacketEvent:
			name, args, err := shared.EventArgs(p.Data)
			if err != nil || len(args) == 0 {
				break
			}
			if name == shared.EventMessage {
				var m shared.Message
				if json.Unmarshal(args[0], &m) == nil {
					c.msgs = append(c.msgs, m)
					c.arrived = append(c.arrived, now)
				}
				break
			}
			c.events = append(c.events, sioEvent{name, args[0]})
		}
		c.notifyLocked()
		c.mu.Unlock()
	}
}

// c.mu must be held.
func (c *sioClient) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *sioClient) write(s string) error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, []byte(s))
}

var errClosed = errors.New("connection closed")

var (
	presencePrefix = []byte(`42["presence",`)
	messagePrefix  = []byte(`42["message",{"seq":"`)
)

// waitUntil waits until cond (called with c.mu held) holds. It fails
// when d passes or the connection ends first.
func (c *sioClient) waitUntil(d time.Duration, cond func() bool) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ok, closed, ch := cond(), c.closeErr != nil, c.changed
		c.mu.Unlock()
		switch {
		case ok:
			return nil
		case closed:
			return errClosed
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%s: timed out after %v", c.name, d)
		}
	}
}

// emit sends an event with an ack id and returns the channel the answer
// will come on (closed without a value if the connection ends first).
func (c *sioClient) emit(name string, payload any) (<-chan shared.Response, error) {
	b, err := json.Marshal([]any{name, payload})
	if err != nil {
		return nil, err
	}
	ch := make(chan shared.Response, 1)
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return nil, errClosed
	}
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.write("42" + strconv.FormatInt(id, 10) + string(b)); err != nil {
		return nil, err
	}
	return ch, nil
}

// req sends a request and waits up to 10 s for its answer.
func (c *sioClient) req(name string, payload any) (shared.Response, error) {
	ch, err := c.emit(name, payload)
	if err != nil {
		return shared.Response{}, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return r, errClosed
		}
		return r, nil
	case <-time.After(10 * time.Second):
		return shared.Response{}, fmt.Errorf("%s: no answer to %s", c.name, name)
	}
}

// chat sends a chat (or groupchat) text message with a cid.
func (c *sioClient) chat(command, to, data, cid string) (shared.Response, error) {
	return c.req(shared.EventMessage, shared.SendMessage{Recipient: to, Command: command, Type: shared.TypeText, Data: data, CID: cid})
}

// received returns a copy of the messages received so far.
func (c *sioClient) received() []shared.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]shared.Message(nil), c.msgs...)
}

// lastSeq is the seq of the newest message received (0 if none).
func (c *sioClient) lastSeq() shared.Seq {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) == 0 {
		return 0
	}
	return c.msgs[len(c.msgs)-1].Seq
}

// waitSeq waits until a message with seq >= s has arrived.
func (c *sioClient) waitSeq(s shared.Seq, d time.Duration) error {
	return c.waitUntil(d, func() bool { return len(c.msgs) > 0 && c.msgs[len(c.msgs)-1].Seq >= s })
}

// closed reports whether the connection has ended, and its close status.
func (c *sioClient) closed() (bool, websocket.StatusCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr != nil, c.status
}

// waitClosed waits until the connection ends and returns its close status.
func (c *sioClient) waitClosed(d time.Duration) (websocket.StatusCode, error) {
	select {
	case <-c.done:
		_, st := c.closed()
		return st, nil
	case <-time.After(d):
		return -1, fmt.Errorf("%s: still open after %v", c.name, d)
	}
}

// stopReading makes the client stop reading from its socket (a slow
// consumer) after the frame it is reading; resumeReading undoes it.
func (c *sioClient) stopReading() {
	c.mu.Lock()
	if c.paused == nil {
		c.paused = make(chan struct{})
	}
	c.mu.Unlock()
}

func (c *sioClient) resumeReading() {
	c.mu.Lock()
	if c.paused != nil {
		close(c.paused)
		c.paused = nil
	}
	c.mu.Unlock()
}

// close ends the connection at once (no close handshake) and waits for
// the read loop.
func (c *sioClient) close() {
	c.cancel()
	c.ws.CloseNow()
	<-c.done
}

func (c *sioClient) String() string { return "client " + c.name }

// checkOrder checks msgs are in strictly increasing seq order (no
// duplicates) and returns a description of the first violation.
func checkOrder(msgs []shared.Message) error {
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq <= msgs[i-1].Seq {
			return fmt.Errorf("seq %d (%q) after %d", msgs[i].Seq, msgs[i].Data, msgs[i-1].Seq)
		}
	}
	return nil
}
