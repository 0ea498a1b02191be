package main

// The root package's face of the shared test client (server/sio/siotest)
// for the black-box tests of reliability_test.go and the others: it
// records every message (with its arrival time) and every other event.
// Unlike the server tests' helpers it never fails the test by itself:
// faults are expected, so every wait returns an error and the test
// decides.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"chatapp/server/sio/siotest"
	"chatapp/shared"
)

// sioClient is one Socket.IO connection to the main namespace. Its
// fields mirror the client's state; read them with c.mu held (as the
// conditions given to waitUntil are).
type sioClient struct {
	*siotest.Client
	name string

	mu       *sync.Mutex // the client's own
	sid      string      // CONNECT reply
	connErr  string      // CONNECT_ERROR message
	msgs     []shared.Message
	arrived  []time.Time // arrival time of msgs[i]
	events   []sioEvent  // every other event, in order
	kicked   bool        // got DISCONNECT (41)
	closeErr error       // why the connection ended
	status   websocket.StatusCode
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

// errClosed is what waits and requests fail with (errors.Is) once the
// connection has ended.
var errClosed = siotest.ErrClosed

// dialSIO connects to addr (host:port), sends CONNECT with auth (nil: none)
// and waits for the reply. A CONNECT_ERROR is not an error: it is in
// connErr, and the connection stays open.
func dialSIO(addr, name string, auth any, o *sioDialOptions) (*sioClient, error) {
	if o == nil {
		o = &sioDialOptions{}
	}
	c := &sioClient{name: name, status: -1}
	so := siotest.Options{
		Auth:    auth,
		Timeout: o.timeout,
		SeqOnly: o.seqOnly,
		Skip:    []string{shared.EventPresence}, // no test needs it; skipping keeps storms cheap
		OnEvent: func(e siotest.Event) {
			switch {
			case e.Name == shared.EventMessage && e.Msg != nil:
				c.msgs = append(c.msgs, *e.Msg)
				c.arrived = append(c.arrived, e.At)
			case e.Name != siotest.Disconnect:
				c.events = append(c.events, sioEvent{e.Name, e.Arg})
			}
		},
		// Each field is written only when it changes: tests read them
		// without the lock once they know they are set (dialSIO has
		// returned, or Done is closed).
		OnChange: func(st siotest.State) {
			mirrorField(&c.sid, st.SID)
			mirrorField(&c.connErr, st.ConnErr)
			mirrorField(&c.kicked, st.Kicked)
			mirrorField(&c.status, st.Status)
			if c.closeErr == nil && st.Err != nil {
				c.closeErr = st.Err
			}
		},
	}
	if o.rcvBuf > 0 {
		d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.rcvBuf)
			})
			return errors.Join(err, serr)
		}}
		so.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	cl, err := siotest.Dial(addr, name, so)
	if err != nil {
		return nil, err
	}
	c.Client, c.mu = cl, cl.Mutex()
	return c, nil
}

// mirrorField writes v to dst unless it is there already.
func mirrorField[T comparable](dst *T, v T) {
	if *dst != v {
		*dst = v
	}
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

// write sends one raw Engine.IO packet.
func (c *sioClient) write(s string) error { return c.Send(s) }

// waitUntil waits until cond (called with c.mu held) holds. It fails
// when d passes or the connection ends first.
func (c *sioClient) waitUntil(d time.Duration, cond func() bool) error {
	return c.WaitUntil(d, cond)
}

// emit sends an event with an ack id and returns the channel the answer
// will come on (closed without a value if the connection ends first).
func (c *sioClient) emit(name string, payload any) (<-chan shared.Response, error) {
	_, ch, err := c.Request(name, payload)
	return ch, err
}

// req sends a request and waits up to 10 s for its answer.
func (c *sioClient) req(name string, payload any) (shared.Response, error) {
	return c.Req(name, payload, 10*time.Second)
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
	st := c.State()
	return st.Ended, st.Status
}

// waitClosed waits until the connection ends and returns its close status.
func (c *sioClient) waitClosed(d time.Duration) (websocket.StatusCode, error) {
	select {
	case <-c.Done():
		_, st := c.closed()
		return st, nil
	case <-time.After(d):
		return -1, fmt.Errorf("%s: still open after %v", c.name, d)
	}
}

// stopReading makes the client stop reading from its socket (a slow
// consumer) after the frame it is reading; resumeReading undoes it.
func (c *sioClient) stopReading()   { c.StopReading() }
func (c *sioClient) resumeReading() { c.ResumeReading() }

// close ends the connection at once (no close handshake) and waits for
// the read loop.
func (c *sioClient) close() { c.CloseNow() }

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
