package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// conn is one Socket.IO client over a WebSocket. Its read loop answers
// Engine.IO pings, wakes setup calls waiting for their ack, and hands
// message events and message acks to its handler without allocating.
//
// Writes may come from the read loop (pongs) and from one sender
// goroutine at a time; coder/websocket serializes them. Hot-path reads
// and writes use context.Background, so no timer is armed per frame;
// close() ends a blocked read or write.
type conn struct {
	ws    *websocket.Conn
	idx   int    // index among the run's connections
	user  string // the account it logs in as
	userQ []byte // user + `"`, to spot the user in a JSON string value

	h   handler  // the scenario's callbacks
	snd *sender  // set when this connection sends messages
	tr  *tracker // storm: the seqs received after a reconnect

	nextID atomic.Int64 // the next ack id

	mu      sync.Mutex
	calls   map[int64]chan []byte // setup requests waiting for their ack
	connect chan error            // CONNECT answer: nil or the CONNECT_ERROR message

	done chan struct{} // closed when the read loop ends
	err  error         // why it ended; read after done

	// Counters of the read loop, read by the run's progress and summary.
	delivered atomic.Int64 // message events with a bench send time
	foreign   atomic.Int64 // message events without one
	echoes    atomic.Int64 // chat messages to another user, delivered back to this sending socket
	disorder  atomic.Int64 // message events whose seq was not above the previous one
	partial   atomic.Int64 // `response` events with code 206 (replay capped)
	lastSeq   int64        // read loop only
}

// handler receives what a conn's read loop decodes. Both methods run on
// that loop and must not block.
type handler interface {
	// message is called for every `message` event but echoes (see
	// isEcho): seq is its seq (0 if unreadable) and sent the send time in
	// its data (0 if none).
	message(c *conn, seq, sent int64)
	// ack is called for an ack that no setup call waits for: a message
	// ack. code is the response's code (e.g. "200") and seq its seq.
	ack(c *conn, id int64, code []byte, seq int64)
}

// readChunk is how much of a frame is read when only its beginning
// matters; acks and message events are always read whole.
const readChunk = 16 << 10

var (
	pong       = []byte("3")
	errClosed  = errors.New("connection closed")
	msgPrefix  = []byte(`42["message",`)
	respPrefix = []byte(`42["response",`)
)

// dial opens a WebSocket to endpoint, reads the Engine.IO open packet and
// sends CONNECT with auth (nil: none) for the account user. It returns
// once the server accepted the CONNECT; a refusal is returned as an error
// holding its message. tr, when not nil, follows the storm's replay.
func dial(ctx context.Context, endpoint string, idx int, user string, auth any, h handler, tr *tracker) (*conn, error) {
	ws, _, err := websocket.Dial(ctx, endpoint, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20) // presence lists of many accounts are large
	c := &conn{ws: ws, idx: idx, user: user, userQ: []byte(user + `"`), h: h, tr: tr, calls: map[int64]chan []byte{}, connect: make(chan error, 1), done: make(chan struct{})}
	_, open, err := ws.Read(ctx) // a deadline here closes the socket, as wanted
	if err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("open packet: %w", err)
	}
	if _, err := shared.ParseEngineOpen(open); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("open packet %.40q: %w", open, err)
	}
	go c.readLoop()
	pkt := []byte("40")
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			c.close()
			return nil, err
		}
		pkt = append(pkt, b...)
	}
	if err := c.write(pkt); err != nil {
		c.close()
		return nil, err
	}
	select {
	case err := <-c.connect:
		if err != nil {
			c.close()
			return nil, err
		}
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("closed before CONNECT answer: %w", c.err)
	case <-ctx.Done():
		c.close()
		return nil, ctx.Err()
	}
}

func (c *conn) write(b []byte) error {
	return c.ws.Write(context.Background(), websocket.MessageText, b)
}

// close drops the connection at once and waits for the read loop.
func (c *conn) close() {
	c.ws.CloseNow()
	<-c.done
}

// call sends event name with payload and an ack id, and waits for the
// ack's first argument.
func (c *conn) call(ctx context.Context, name string, payload any) (shared.Response, error) {
	var r shared.Response
	body, err := json.Marshal([]any{name, payload})
	if err != nil {
		return r, err
	}
	id := c.nextID.Add(1) - 1
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.calls[id] = ch
	c.mu.Unlock()
	pkt := strconv.AppendInt([]byte("42"), id, 10)
	if err := c.write(append(pkt, body...)); err != nil {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
		return r, err
	}
	select {
	case b := <-ch:
		var args []shared.Response
		if err := json.Unmarshal(b, &args); err != nil || len(args) == 0 {
			return r, fmt.Errorf("%s: bad ack %.80q", name, b)
		}
		return args[0], nil
	case <-c.done:
		return r, fmt.Errorf("%s: %w", name, errClosed)
	case <-ctx.Done():
		return r, fmt.Errorf("%s: %w", name, ctx.Err())
	}
}

func (c *conn) readLoop() {
	defer close(c.done)
	buf := make([]byte, 0, 1024)
	for {
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.err = err
			return
		}
		buf, err = readFrame(r, buf[:0])
		if err != nil {
			c.err = err
			return
		}
		if typ == websocket.MessageText {
			c.handle(buf)
		}
		if cap(buf) > 64<<10 { // do not keep a large list's buffer per connection
			buf = make([]byte, 0, 1024)
		}
	}
}

// readFrame reads a frame into buf. Only acks and message events are
// kept whole beyond readChunk bytes: of anything longer (room and presence
// lists), the beginning is enough to tell what it is.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= readChunk && !keepWhole(buf) {
				_, err := io.Copy(io.Discard, r)
				return buf, err
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func keepWhole(b []byte) bool {
	return bytes.HasPrefix(b, []byte("43")) || bytes.HasPrefix(b, msgPrefix)
}

func (c *conn) handle(b []byte) {
	if len(b) == 0 {
		return
	}
	switch b[0] {
	case shared.EIOPing:
		c.write(pong)
		return
	case shared.EIOMessage:
	default:
		return
	}
	if len(b) < 2 {
		return
	}
	switch b[1] {
	case '0': // CONNECT
		c.signalConnect(nil)
	case '4': // CONNECT_ERROR
		var e struct{ Message string }
		json.Unmarshal(b[2:], &e)
		c.signalConnect(fmt.Errorf("connect error: %s", e.Message))
	case '2': // EVENT
		if bytes.HasPrefix(b, msgPrefix) {
			payload := b[len(msgPrefix):]
			seq, sent := parseMessage(payload)
			if seq <= c.lastSeq {
				c.disorder.Add(1)
			}
			c.lastSeq = max(c.lastSeq, seq)
			switch {
			case sent == 0:
				c.foreign.Add(1)
			case c.isEcho(payload):
				c.echoes.Add(1)
				return // not a delivery: no latency sample
			default:
				c.delivered.Add(1)
			}
			c.h.message(c, seq, sent)
		} else if bytes.HasPrefix(b, respPrefix) && bytes.Contains(b, []byte(`"code":"206"`)) {
			c.partial.Add(1)
		}
	case '3': // ACK
		id, n := parseInt(b[2:])
		if n == 0 {
			return
		}
		payload := b[2+n:]
		c.mu.Lock()
		ch := c.calls[id]
		delete(c.calls, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- bytes.Clone(payload)
			return
		}
		code, seq := parseAck(payload)
		c.h.ack(c, id, code, seq)
	}
}

func (c *conn) signalConnect(err error) {
	select {
	case c.connect <- err:
	default:
	}
}

// isEcho reports whether a message event's payload is a chat message
// from this connection's user to someone else: the copy a server sends
// back to the sender's socket. fanout and broadcast count it as a
// delivery (the sender is in the room, or in ALL); dm does not.
func (c *conn) isEcho(payload []byte) bool {
	if !bytes.HasPrefix(field(payload, `"sender":`), c.userQ) ||
		!bytes.HasPrefix(field(payload, `"command":`), chatQ) {
		return false
	}
	to := field(payload, `"recepient":`)
	return !bytes.HasPrefix(to, allQ) && !bytes.HasPrefix(to, c.userQ)
}

var (
	chatQ = []byte(shared.CommandChat + `"`)
	allQ  = []byte(shared.All + `"`)
)

// parseInt reads leading decimal digits; n is how many.
func parseInt(b []byte) (v int64, n int) {
	for n < len(b) && n < 18 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	return v, n
}

// field returns what follows `"name":` in b, with an opening quote
// skipped, or nil.
func field(b []byte, name string) []byte {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return nil
	}
	b = b[i+len(name):]
	if len(b) > 0 && b[0] == '"' {
		b = b[1:]
	}
	return b
}

// parseMessage reads seq and the send time in data from the payload of a
// message event, `{"seq":"…",…,"data":"<16 hex>…",…}]`. A missing value
// is 0.
func parseMessage(b []byte) (seq, sent int64) {
	seq, _ = parseInt(field(b, `"seq":`))
	sent = parseStamp(field(b, `"data":`))
	return seq, sent
}

// parseAck reads the code and seq of an ack payload `[{…"code":"200",…}]`.
func parseAck(b []byte) (code []byte, seq int64) {
	if v := field(b, `"code":`); len(v) >= 3 {
		code = v[:3]
	}
	seq, _ = parseInt(field(b, `"seq":`))
	return code, seq
}

// appendStamp appends t as 16 lowercase hex digits.
func appendStamp(b []byte, t int64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[uint64(t)>>shift&15])
	}
	return b
}

// parseStamp reads 16 hex digits; 0 if they are not there.
func parseStamp(b []byte) int64 {
	if len(b) < 16 {
		return 0
	}
	var v uint64
	for _, ch := range b[:16] {
		switch {
		case ch >= '0' && ch <= '9':
			v = v<<4 | uint64(ch-'0')
		case ch >= 'a' && ch <= 'f':
			v = v<<4 | uint64(ch-'a'+10)
		default:
			return 0
		}
	}
	return int64(v)
}
