package sio

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
)

// The server side of RFC 6455, just what an Engine.IO session needs: no
// extensions (no compression), no subprotocols. It is written here rather
// than taken from coder/websocket (which the clients in this repo use) for
// two measured reasons (docs/PERFORMANCE.md):
//
//   - write coalescing: the session's writer queues every frame of a batch
//     into one buffer and writes it with one syscall; coder/websocket
//     flushes after each message, and a loopback write(2) costs more than
//     everything else a delivery does;
//   - per-connection memory: a small read buffer, and a write buffer only
//     while there is something to write, instead of the 8 KiB of bufio
//     that net/http hands over on Hijack.

// statusCode is a WebSocket close code (RFC 6455 §7.4.1).
type statusCode uint16

const (
	statusNormalClosure   statusCode = 1000
	statusGoingAway       statusCode = 1001
	statusProtocolError   statusCode = 1002
	statusNoStatusRcvd    statusCode = 1005
	statusInvalidPayload  statusCode = 1007
	statusPolicyViolation statusCode = 1008
	statusMessageTooBig   statusCode = 1009
	statusInternalError   statusCode = 1011
)

// validCloseCode reports whether a peer may send code in a close frame:
// the codes RFC 6455 §7.4.1 defines for use on the wire, 1012-1014, which
// the IANA registry it set up (§11.7) has added since (service restart,
// try again later, bad gateway), and 3000-4999 for libraries and
// applications. 1004 is reserved; 1005, 1006 and 1015 must never be sent.
func validCloseCode(code statusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// closeError is the peer's close frame, returned by read.
type closeError struct {
	code   statusCode
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("websocket: peer closed with %d %q", e.code, e.reason)
}

// wsError is the peer breaking the protocol: read has sent a close frame
// with code and returns this.
type wsError struct {
	code statusCode
	msg  string
}

func (e *wsError) Error() string { return "websocket: " + e.msg }

// closeStatus returns the code of the close frame err carries, or 0.
func closeStatus(err error) statusCode {
	var ce *closeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return 0
}

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	finBit  = 0x80
	maskBit = 0x80

	maxControlPayload = 125

	// wsReadBuffer is the read buffer of a connection: client frames are
	// small; larger payloads are read straight into the message.
	wsReadBuffer = 512
	// wsFlushAt is when queue writes out what it has buffered; frames at
	// least this large are written from where they are, not copied.
	wsFlushAt = 32 << 10
	// wsCloseTimeout bounds the wait for the peer's close frame.
	wsCloseTimeout = 5 * time.Second
)

// wsConn is one server-side WebSocket connection. One goroutine reads
// (read); one goroutine at a time queues and flushes frames (the session's
// writer, or during an upgrade probe the probe's goroutine); control
// replies from the reader share the connection under wmu.
type wsConn struct {
	nc     net.Conn
	br     *bufio.Reader
	maxMsg int // largest message read accepts, in bytes

	// wbuf holds queued frames until flush; taken from wbufPool on the
	// first queue and returned by flush, so an idle connection holds none.
	// Owned by the writing goroutine.
	wbuf *[]byte

	wmu       sync.Mutex // held while writing to nc
	closeSent bool       // under wmu: nothing is written after the close frame

	readDone  chan struct{} // closed when read has returned its final error
	readOnce  sync.Once
	closeOnce sync.Once

	// Reader goroutine only.
	ctrl [maxControlPayload]byte
}

var wbufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

var errNotWebSocket = errors.New("websocket: not a valid upgrade request")

// wsGUID is the RFC 6455 key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptWS answers a WebSocket upgrade request and takes over its
// connection. If the request is not a valid upgrade, it answers with an
// HTTP error (426 for another protocol version) and returns an error. The
// 101 response is queued: it goes out with the first flush, together with
// what the server says first.
func acceptWS(w http.ResponseWriter, r *http.Request, maxMsg int) (*wsConn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 ||
		r.Method != http.MethodGet || !r.ProtoAtLeast(1, 1) || !isUpgrade(r) {
		http.Error(w, "invalid WebSocket upgrade request", http.StatusBadRequest)
		return nil, errNotWebSocket
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported WebSocket version", http.StatusUpgradeRequired)
		return nil, fmt.Errorf("websocket: unsupported version %q", v)
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot take over the connection", http.StatusInternalServerError)
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{}) // net/http may have left its header timeout on it
	var src io.Reader = nc
	if n := brw.Reader.Buffered(); n > 0 { // the client did not wait for the 101
		early, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc)
	}
	c := &wsConn{
		nc:       nc,
		br:       bufio.NewReaderSize(src, wsReadBuffer),
		maxMsg:   maxMsg,
		readDone: make(chan struct{}),
	}
	h := sha1.Sum([]byte(key + wsGUID))
	c.wbuf = wbufPool.Get().(*[]byte)
	b := append((*c.wbuf)[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = base64.StdEncoding.AppendEncode(b, h[:])
	*c.wbuf = append(b, "\r\n\r\n"...)
	return c, nil
}

// appendHeader appends the header of an unmasked final frame.
func appendHeader(b []byte, op byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, finBit|op, byte(n))
	case n <= 0xFFFF:
		return append(b, finBit|op, 126, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, finBit|op, 127), uint64(n))
}

// queue adds one message as a single frame to what the next flush writes.
// It writes on its own only when a lot is buffered, or for a large
// payload, which it writes from where it is rather than copy it.
func (c *wsConn) queue(binary bool, p []byte) error {
	op := byte(opText)
	if binary {
		op = opBinary
	}
	if c.wbuf == nil {
		c.wbuf = wbufPool.Get().(*[]byte)
	}
	if len(p) >= wsFlushAt {
		var hdr [10]byte
		bufs := net.Buffers{*c.wbuf, appendHeader(hdr[:0], op, len(p)), p}
		*c.wbuf = (*c.wbuf)[:0]
		return c.writeBuffers(&bufs)
	}
	*c.wbuf = append(appendHeader(*c.wbuf, op, len(p)), p...)
	if len(*c.wbuf) >= wsFlushAt {
		return c.flush()
	}
	return nil
}

// flush writes what queue buffered, in one write.
func (c *wsConn) flush() error {
	if c.wbuf == nil {
		return nil
	}
	var err error
	if len(*c.wbuf) > 0 {
		err = c.writeRaw(*c.wbuf)
	}
	c.releaseBuf()
	return err
}

// releaseBuf returns the write buffer to the pool; a buffer that grew for
// a burst is dropped rather than kept.
func (c *wsConn) releaseBuf() {
	if cap(*c.wbuf) <= 4*wsFlushAt {
		*c.wbuf = (*c.wbuf)[:0]
		wbufPool.Put(c.wbuf)
	}
	c.wbuf = nil
}

func (c *wsConn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	_, err := c.nc.Write(b)
	return err
}

func (c *wsConn) writeBuffers(bufs *net.Buffers) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// writeControl writes a control frame now, after anything the writer is
// writing. A close frame is the last frame written.
func (c *wsConn) writeControl(op byte, payload []byte) error {
	var b [2 + maxControlPayload]byte
	frame := append(appendHeader(b[:0], op, len(payload)), payload...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	if op == opClose {
		c.closeSent = true
	}
	_, err := c.nc.Write(frame)
	return err
}

// writeClose sends a close frame with code and reason (cut to fit).
func (c *wsConn) writeClose(code statusCode, reason string) error {
	var b [maxControlPayload]byte
	p := binary.BigEndian.AppendUint16(b[:0], uint16(code))
	if len(reason) > maxControlPayload-2 { // cut on a rune boundary
		n := maxControlPayload - 2
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	return c.writeControl(opClose, append(p, reason...))
}

// close flushes what is queued, sends a close frame, and waits (at most
// wsCloseTimeout) for the reader to see the peer's close frame, so that
// closing the connection cannot reset it before the peer has read ours.
// The caller closes the connection afterwards (closeNow).
func (c *wsConn) close(code statusCode, reason string) {
	if err := c.flush(); err != nil {
		c.closeNow()
		return
	}
	if c.writeClose(code, reason) != nil {
		c.closeNow()
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(wsCloseTimeout))
	t := time.NewTimer(wsCloseTimeout)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
		c.closeNow()
	}
}

// reject flushes the 101, closes with code at once and reads until the
// peer's close frame: for a connection no reader serves.
func (c *wsConn) reject(code statusCode, reason string) {
	go func() {
		for {
			if _, _, err := c.read(); err != nil {
				return
			}
		}
	}()
	c.close(code, reason)
	c.closeNow()
}

// closeNow closes the connection without a close handshake.
func (c *wsConn) closeNow() {
	c.closeOnce.Do(func() { _ = c.nc.Close() })
}

// fail sends a close frame for a protocol error and returns it.
func (c *wsConn) fail(code statusCode, msg string) error {
	_ = c.writeClose(code, msg)
	return &wsError{code, msg}
}

// read returns the next message: its type and a new slice with its
// payload. It answers pings, and the peer's close frame (returned as a
// *closeError). A protocol error sends a close frame and returns a
// *wsError. After an error, read must not be called again.
func (c *wsConn) read() (isBinary bool, msg []byte, err error) {
	defer func() {
		if err != nil {
			c.readOnce.Do(func() { close(c.readDone) })
		}
	}()
	var hdr [14]byte
	op := byte(0) // of the message being read; 0 before its first frame
	checked := 0  // text: the bytes of msg known to be whole, valid UTF-8
	for {
		if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
			return false, nil, err
		}
		fin, rsv, fop := hdr[0]&finBit != 0, hdr[0]&0x70, hdr[0]&0x0F
		if rsv != 0 {
			return false, nil, c.fail(statusProtocolError, "reserved bits set")
		}
		if hdr[1]&maskBit == 0 {
			return false, nil, c.fail(statusProtocolError, "unmasked client frame")
		}
		n := uint64(hdr[1] & 0x7F)
		ext := 0
		switch n {
		case 126:
			ext = 2
		case 127:
			ext = 8
		}
		if _, err := io.ReadFull(c.br, hdr[2:2+ext+4]); err != nil {
			return false, nil, err
		}
		switch ext {
		case 2:
			n = uint64(binary.BigEndian.Uint16(hdr[2:]))
		case 8:
			n = binary.BigEndian.Uint64(hdr[2:])
		}
		var key [4]byte
		copy(key[:], hdr[2+ext:])

		if fop >= opClose { // a control frame, possibly between fragments
			if !fin || n > maxControlPayload {
				return false, nil, c.fail(statusProtocolError, "invalid control frame")
			}
			p := c.ctrl[:n]
			if _, err := io.ReadFull(c.br, p); err != nil {
				return false, nil, err
			}
			maskBytes(key, p)
			if err := c.control(fop, p); err != nil {
				return false, nil, err
			}
			continue
		}

		switch {
		case fop == opContinuation && op == 0:
			return false, nil, c.fail(statusProtocolError, "continuation without a message")
		case fop != opContinuation && op != 0:
			return false, nil, c.fail(statusProtocolError, "new message inside a fragmented one")
		case fop == opText || fop == opBinary:
			op = fop
		case fop != opContinuation:
			return false, nil, c.fail(statusProtocolError, fmt.Sprintf("unknown opcode %d", fop))
		}
		if n > uint64(c.maxMsg-len(msg)) {
			return false, nil, c.fail(statusMessageTooBig, "message too big")
		}
		// The payload is read as it arrives, and text is checked as it
		// arrives: invalid UTF-8 fails the connection at once (RFC 6455
		// §8.1), not only once the rest of the message has come.
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		for off := start; off < len(msg); {
			k, err := c.br.Read(msg[off:])
			maskAt(key, off-start, msg[off:off+k])
			off += k
			if op == opText {
				ok, complete := validUTF8Prefix(msg[checked:off])
				if !ok {
					return false, nil, c.fail(statusInvalidPayload, "invalid UTF-8 in a text message")
				}
				checked += complete
			}
			if err != nil && off < len(msg) {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return false, nil, err
			}
		}
		if !fin {
			continue
		}
		if op == opText && checked != len(msg) {
			return false, nil, c.fail(statusInvalidPayload, "a text message ends inside a UTF-8 sequence")
		}
		if msg == nil {
			msg = []byte{}
		}
		return op == opBinary, msg, nil
	}
}

// validUTF8Prefix reports whether b is valid UTF-8 except perhaps for an
// incomplete code point at its end, which the next bytes of the message
// may complete, and returns the length of the part before it.
func validUTF8Prefix(b []byte) (ok bool, complete int) {
	if utf8.Valid(b) {
		return true, len(b)
	}
	// The start of a code point cut off at the end is one of the last
	// three bytes. FullRune also reports an invalid start as full.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		if utf8.RuneStart(b[i]) {
			return !utf8.FullRune(b[i:]) && utf8.Valid(b[:i]), i
		}
	}
	return false, 0
}

// control handles a control frame from the peer.
func (c *wsConn) control(op byte, p []byte) error {
	switch op {
	case opPing:
		if err := c.writeControl(opPong, p); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	case opPong:
		return nil
	case opClose:
		code := statusNoStatusRcvd
		var reason string
		switch {
		case len(p) == 1:
			return c.fail(statusProtocolError, "invalid close frame")
		case len(p) >= 2:
			code = statusCode(binary.BigEndian.Uint16(p))
			reason = string(p[2:])
			if !validCloseCode(code) {
				return c.fail(statusProtocolError, fmt.Sprintf("invalid close code %d", code))
			}
			if !utf8.ValidString(reason) {
				return c.fail(statusInvalidPayload, "invalid UTF-8 in a close reason")
			}
		}
		// Echo the close (RFC 6455 §5.5.1), unless ours went first.
		echo := code
		if echo == statusNoStatusRcvd {
			echo = statusNormalClosure
		}
		_ = c.writeClose(echo, "")
		return &closeError{code, reason}
	}
	return c.fail(statusProtocolError, fmt.Sprintf("unknown opcode %d", op))
}

// maskAt applies the client's masking key to b, which starts at offset
// off of a frame's payload.
func maskAt(key [4]byte, off int, b []byte) {
	if r := off & 3; r != 0 {
		key = [4]byte{key[r], key[(r+1)&3], key[(r+2)&3], key[(r+3)&3]}
	}
	maskBytes(key, b)
}

// maskBytes applies the client's masking key to b, which starts at
// offset 0 of a frame's payload.
func maskBytes(key [4]byte, b []byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}
