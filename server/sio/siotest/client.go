package siotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// recordSeparator joins packets in a polling body (SOCKETIO.md §2.2).
const recordSeparator = 0x1e

// Disconnect is the name under which a Socket.IO DISCONNECT from the
// server is recorded as an event (no real event can have it).
const Disconnect = "#disconnect"

// ErrClosed is returned by waits and requests once the connection has
// ended.
var ErrClosed = errors.New("siotest: connection closed")

// Event is one event the server sent: its name, its first argument (raw
// JSON; nil if none), when it arrived and, for a message event, the
// message decoded (only its seq with Options.SeqOnly).
type Event struct {
	Name string
	Arg  json.RawMessage
	At   time.Time
	Msg  *shared.Message
}

// State is what a client knows about its connection. Read it with the
// client's mutex held (Client.Mutex, or inside a WaitUntil condition or
// an Options hook) through Client.StateLocked.
type State struct {
	SID     string // from the CONNECT reply
	ConnErr string // the CONNECT_ERROR message, if the server refused
	Kicked  bool   // the server sent DISCONNECT
	Ended   bool   // the connection is over
	Err     error  // why it ended
	// Status is the WebSocket close code the server sent, or -1 (none:
	// polling, or the connection was cut).
	Status websocket.StatusCode
}

// Options tune Dial. The zero value connects over a WebSocket without
// auth.
type Options struct {
	// Auth is the CONNECT auth payload (PROTOCOL.md section 2); nil sends
	// none.
	Auth any
	// Polling starts the session on HTTP long-polling, as stock clients
	// do; Upgrade moves it to a WebSocket.
	Polling bool
	// Header is added to every HTTP request (the WebSocket handshake and
	// each poll), e.g. an Origin.
	Header http.Header
	// HTTPClient makes the requests (e.g. with a dialer that shrinks the
	// socket's receive buffer). Nil: a client of its own.
	HTTPClient *http.Client
	// Timeout bounds the handshake and the wait for the CONNECT reply.
	// Zero means 10 s.
	Timeout time.Duration
	// ReadLimit is the largest WebSocket message accepted. Zero means
	// 64 MiB.
	ReadLimit int64
	// SeqOnly records only the seq of each message (found by scanning
	// the frame, which the server writes seq first) instead of decoding
	// it: big messages stay cheap under -race.
	SeqOnly bool
	// Skip names events that are dropped unread (e.g. presence during a
	// storm of logins).
	Skip []string
	// OnEvent, if set, receives every event instead of the client's own
	// queue (Take, Count and Events then see none). It runs with the
	// client's mutex held and must not block.
	OnEvent func(Event)
	// OnChange, if set, runs with the client's mutex held after each
	// change (an event, the CONNECT reply, the end of the connection)
	// with the state after it.
	OnChange func(State)
	// NoConnect makes Dial stop after the Engine.IO handshake: the caller
	// sends CONNECT itself (Send).
	NoConnect bool
}

// Client is one Socket.IO connection to the main namespace. Its methods
// are safe for concurrent use.
type Client struct {
	Name string

	o      Options
	hc     *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the connection has ended

	// sendMu serializes sends: one POST at a time on polling, and held
	// across the upgrade so that nothing is sent in between.
	sendMu   sync.Mutex
	ws       *websocket.Conn // the WebSocket, once there is one; under sendMu
	pollURL  string          // polling URL with the sid
	stopPoll chan struct{}   // closed: the poll loop ends after its GET
	pollDone chan struct{}   // closed by the poll loop when it has ended

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	st      State
	events  []Event // every event kept, in order
	queue   []Event // the kept events Take has not taken
	acks    map[int64]chan shared.Response
	nextID  int64
	paused  chan struct{} // non-nil: the read loop waits until it is closed
}

// Dial connects to the chatapp server at base ("http://host:port", or
// just "host:port"), sends CONNECT with o.Auth and waits for the reply
// (unless o.NoConnect). A CONNECT_ERROR is not an error: it is in the
// state's ConnErr, and the connection stays open.
func Dial(base, name string, o Options) (*Client, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	base = strings.TrimSuffix(base, "/")
	c := &Client{Name: name, o: o, hc: o.HTTPClient, done: make(chan struct{}),
		changed: make(chan struct{}), acks: map[int64]chan shared.Response{}}
	c.st.Status = -1
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.o.Timeout == 0 {
		c.o.Timeout = 10 * time.Second
	}
	if c.o.ReadLimit == 0 {
		c.o.ReadLimit = 64 << 20
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var err error
	if o.Polling {
		err = c.openPolling(base + "/socket.io/?EIO=4&transport=polling")
	} else {
		err = c.openWS(wsURL(base + "/socket.io/?EIO=4&transport=websocket"))
	}
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if o.NoConnect {
		return c, nil
	}
	if err := c.Send(connectPacket(o.Auth)); err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("%s: CONNECT: %w", name, err)
	}
	err = c.WaitUntil(c.o.Timeout, func() bool { return c.st.SID != "" || c.st.ConnErr != "" })
	if err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("%s: CONNECT reply: %w", name, err)
	}
	return c, nil
}

// connectPacket is the CONNECT to "/" with auth (nil: none).
func connectPacket(auth any) string {
	if auth == nil {
		return "40"
	}
	b, _ := json.Marshal(auth)
	return "40" + string(b)
}

func wsURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "http"); ok {
		return "ws" + rest
	}
	return u
}

func (c *Client) openWS(u string) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.o.Timeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: c.o.Header})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	ws.SetReadLimit(c.o.ReadLimit)
	_, open, err := ws.Read(ctx)
	if err != nil || len(open) == 0 || open[0] != shared.EIOOpen {
		ws.CloseNow()
		return fmt.Errorf("open packet %q: %v", open, err)
	}
	c.ws = ws
	go c.readWS(ws)
	return nil
}

func (c *Client) openPolling(u string) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.o.Timeout)
	defer cancel()
	body, err := c.poll(ctx, http.MethodGet, u, "")
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	open, err := shared.ParseEngineOpen(body)
	if err != nil {
		return fmt.Errorf("handshake %q: %w", body, err)
	}
	if len(open.Upgrades) != 1 || open.Upgrades[0] != "websocket" {
		return fmt.Errorf("handshake offers upgrades %v, want [websocket]", open.Upgrades)
	}
	c.pollURL = u + "&sid=" + url.QueryEscape(open.SID)
	c.stopPoll, c.pollDone = make(chan struct{}), make(chan struct{})
	go c.pollLoop()
	return nil
}

// StatusError is an HTTP answer other than 200 to a poll.
type StatusError struct {
	Method string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %q", e.Method, e.Status, e.Body)
}

// poll makes one polling request and returns the body of its 200 answer.
func (c *Client) poll(ctx context.Context, method, u, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range c.o.Header {
		req.Header[k] = vs
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = &StatusError{method, resp.StatusCode, string(b)}
	}
	return b, err
}

// pollLoop GETs until stopPoll is closed (the upgrade) or the session
// ends, answering pings and handing the other packets on in order.
func (c *Client) pollLoop() {
	defer close(c.pollDone)
	for {
		select {
		case <-c.stopPoll:
			return
		default:
		}
		body, err := c.poll(c.ctx, http.MethodGet, c.pollURL, "")
		if err != nil {
			c.end(err, -1)
			return
		}
		for _, p := range bytes.Split(body, []byte{recordSeparator}) {
			switch {
			case len(p) == 1 && p[0] == shared.EIOPing:
				go c.Send(string(shared.EIOPong))
			case len(p) == 1 && p[0] == shared.EIOClose:
				c.end(ErrClosed, -1)
				return
			case len(p) > 0 && p[0] == shared.EIOMessage:
				c.receive(p[1:])
			}
		}
	}
}

// readWS reads the WebSocket until it ends.
func (c *Client) readWS(ws *websocket.Conn) {
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
		_, b, err := ws.Read(c.ctx)
		if err != nil {
			c.end(err, websocket.CloseStatus(err))
			return
		}
		switch {
		case len(b) == 1 && b[0] == shared.EIOPing:
			c.Send(string(shared.EIOPong))
		case len(b) > 0 && b[0] == shared.EIOMessage:
			c.receive(b[1:])
		}
	}
}

// end records the end of the connection (once) and wakes every waiter.
func (c *Client) end(err error, status websocket.StatusCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Ended {
		return
	}
	c.st.Ended, c.st.Err, c.st.Status = true, err, status
	for id, ch := range c.acks {
		close(ch)
		delete(c.acks, id)
	}
	c.changedLocked()
	close(c.done)
}

// ProtocolError is the server sending something that is not Socket.IO;
// the client ends the connection with it.
type ProtocolError struct{ Packet []byte }

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("siotest: bad packet from the server: %q", e.Packet)
}

// receive records one Socket.IO packet (an Engine.IO message without its
// type byte).
func (c *Client) receive(b []byte) {
	for _, name := range c.o.Skip {
		if bytes.HasPrefix(b, []byte(`2["`+name+`",`)) {
			return
		}
	}
	now := time.Now()
	if c.o.SeqOnly && bytes.HasPrefix(b, messagePrefix) {
		rest := b[len(messagePrefix):]
		if seq, err := shared.ParseSeq(string(rest[:max(bytes.IndexByte(rest, '"'), 0)])); err == nil {
			c.record(Event{Name: shared.EventMessage, At: now, Msg: &shared.Message{Seq: seq}})
			return
		}
	}
	p, err := shared.DecodePacket(b)
	var e Event // an event to record
	if err == nil && p.Type == shared.PacketEvent {
		var args []json.RawMessage
		e.Name, args, err = shared.EventArgs(p.Data)
		e.At = now
		if len(args) > 0 {
			e.Arg = args[0]
		}
		if e.Name == shared.EventMessage && e.Arg != nil {
			var m shared.Message
			if json.Unmarshal(e.Arg, &m) == nil {
				e.Msg = &m
			}
		}
	}
	if err != nil {
		c.end(&ProtocolError{bytes.Clone(b)}, -1)
		c.cancel()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch p.Type {
	case shared.PacketConnect:
		var r struct{ SID string }
		json.Unmarshal(p.Data, &r)
		c.st.SID = r.SID
	case shared.PacketConnectError:
		var r struct{ Message string }
		json.Unmarshal(p.Data, &r)
		c.st.ConnErr = r.Message
	case shared.PacketDisconnect:
		c.st.Kicked = true
		e = Event{Name: Disconnect, At: now}
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
	}
	if e.Name != "" {
		c.recordLocked(e)
		return
	}
	c.changedLocked()
}

var messagePrefix = []byte(`2["message",{"seq":"`)

func (c *Client) record(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recordLocked(e)
}

// c.mu must be held.
func (c *Client) recordLocked(e Event) {
	if c.o.OnEvent != nil {
		c.o.OnEvent(e)
	} else {
		c.events = append(c.events, e)
		c.queue = append(c.queue, e)
	}
	c.changedLocked()
}

// c.mu must be held.
func (c *Client) changedLocked() {
	if c.o.OnChange != nil {
		c.o.OnChange(c.st)
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Mutex returns the mutex that guards the client's state, for callers
// that read it with StateLocked or keep their own in Options hooks.
func (c *Client) Mutex() *sync.Mutex { return &c.mu }

// StateLocked returns the state; the client's mutex must be held.
func (c *Client) StateLocked() State { return c.st }

// State returns the state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Send writes one Engine.IO packet: a WebSocket text frame, or a POST
// while on polling.
func (c *Client) Send(pkt string) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.sendLocked(pkt)
}

// c.sendMu must be held.
func (c *Client) sendLocked(pkt string) error {
	if c.ws == nil {
		_, err := c.poll(c.ctx, http.MethodPost, c.pollURL, pkt)
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, []byte(pkt))
}

// Emit sends an event without an ack id: the server answers a request
// with a response event.
func (c *Client) Emit(name string, payload any) error {
	b, err := json.Marshal([]any{name, payload})
	if err != nil {
		return err
	}
	return c.Send("42" + string(b))
}

// Request sends an event with a new ack id and returns the id and the
// channel its answer comes on (closed without a value if the connection
// ends first).
func (c *Client) Request(name string, payload any) (int64, <-chan shared.Response, error) {
	b, err := json.Marshal([]any{name, payload})
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan shared.Response, 1)
	c.mu.Lock()
	if c.st.Ended {
		c.mu.Unlock()
		return 0, nil, ErrClosed
	}
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.Send("42" + strconv.FormatInt(id, 10) + string(b)); err != nil {
		return id, nil, err
	}
	return id, ch, nil
}

// Req sends a request and waits up to d for its answer.
func (c *Client) Req(name string, payload any, d time.Duration) (shared.Response, error) {
	_, ch, err := c.Request(name, payload)
	if err != nil {
		return shared.Response{}, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return r, ErrClosed
		}
		return r, nil
	case <-t.C:
		return shared.Response{}, fmt.Errorf("%s: no answer to %s in %v", c.Name, name, d)
	}
}

// WaitUntil waits until cond, called with the client's mutex held, holds.
// It fails when d passes, or with ErrClosed when the connection ends
// first.
func (c *Client) WaitUntil(d time.Duration, cond func() bool) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ok, ended, ch := cond(), c.st.Ended, c.changed
		err := c.st.Err
		c.mu.Unlock()
		switch {
		case ok:
			return nil
		case ended:
			return fmt.Errorf("%w (%v)", ErrClosed, err)
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%s: timed out after %v", c.Name, d)
		}
	}
}

// Take waits up to d for the first event called name that Take has not
// taken yet (events of other names stay queued), removes it and returns
// its argument.
func (c *Client) Take(name string, d time.Duration) (json.RawMessage, error) {
	var got json.RawMessage
	err := c.WaitUntil(d, func() bool {
		for i, e := range c.queue {
			if e.Name == name {
				got = e.Arg
				c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
				return true
			}
		}
		return false
	})
	return got, err
}

// Count returns how many queued events are called name.
func (c *Client) Count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.queue {
		if e.Name == name {
			n++
		}
	}
	return n
}

// Events returns every event kept so far, taken or not, in order.
func (c *Client) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// StopReading makes the client stop reading its WebSocket after the frame
// it is reading (a slow consumer); ResumeReading undoes it.
func (c *Client) StopReading() {
	c.mu.Lock()
	if c.paused == nil {
		c.paused = make(chan struct{})
	}
	c.mu.Unlock()
}

// ResumeReading lets a client stopped by StopReading read on.
func (c *Client) ResumeReading() {
	c.mu.Lock()
	if c.paused != nil {
		close(c.paused)
		c.paused = nil
	}
	c.mu.Unlock()
}

// Upgrade moves a polling session to a WebSocket as the stock client
// does: probe, pause polling once the GET in flight is answered, then
// `5`; packets sent meanwhile wait and go out over the WebSocket.
func (c *Client) Upgrade() error {
	if c.pollURL == "" {
		return errors.New("siotest: upgrade: not a polling session")
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.o.Timeout)
	defer cancel()
	u := wsURL(strings.Replace(c.pollURL, "transport=polling", "transport=websocket", 1))
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: c.o.Header})
	if err != nil {
		return fmt.Errorf("siotest: upgrade: %w", err)
	}
	ws.SetReadLimit(c.o.ReadLimit)
	if err := ws.Write(ctx, websocket.MessageText, []byte("2probe")); err != nil {
		ws.CloseNow()
		return fmt.Errorf("siotest: upgrade probe: %w", err)
	}
	if _, b, err := ws.Read(ctx); err != nil || string(b) != "3probe" {
		ws.CloseNow()
		return fmt.Errorf("siotest: upgrade: probe answered %q %v", b, err)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	close(c.stopPoll)
	<-c.pollDone
	if c.State().Ended {
		ws.CloseNow()
		return fmt.Errorf("siotest: the session ended during the upgrade: %w", ErrClosed)
	}
	c.ws = ws
	if err := c.sendLocked(string(shared.EIOUpgrade)); err != nil {
		return fmt.Errorf("siotest: upgrade: %w", err)
	}
	go c.readWS(ws)
	return nil
}

// Close ends the session from the client side: a WebSocket close
// handshake (normal closure), or an Engine.IO close on polling.
func (c *Client) Close() error {
	c.sendMu.Lock()
	ws := c.ws
	c.sendMu.Unlock()
	if ws == nil {
		return c.Send(string(shared.EIOClose))
	}
	return ws.Close(websocket.StatusNormalClosure, "")
}

// CloseNow ends the connection at once, without a close handshake, and
// waits until the client has stopped reading.
func (c *Client) CloseNow() {
	c.cancel()
	c.sendMu.Lock()
	ws := c.ws
	c.sendMu.Unlock()
	if ws != nil {
		ws.CloseNow()
	}
	<-c.done
}

func (c *Client) String() string { return "client " + c.Name }
