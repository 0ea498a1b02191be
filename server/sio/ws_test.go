package sio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Tests of the RFC 6455 layer (ws.go) with a raw client, frame by frame.

// rawFrame is one frame as the test client sends or receives it.
type rawFrame struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	data   []byte
}

// appendRawFrame encodes f; a masked frame uses a fixed, non-zero key.
func appendRawFrame(b []byte, f rawFrame) []byte {
	h := f.op | f.rsv<<4
	if f.fin {
		h |= finBit
	}
	m := byte(0)
	if f.masked {
		m = maskBit
	}
	n := len(f.data)
	switch {
	case n <= 125:
		b = append(b, h, m|byte(n))
	case n <= 0xFFFF:
		b = append(b, h, m|126, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, h, m|127), uint64(n))
	}
	if !f.masked {
		return append(b, f.data...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, f.data...)
	maskBytes(key, b[start:])
	return b
}

func wsText(fin bool, s string) rawFrame {
	return rawFrame{fin: fin, op: opText, masked: true, data: []byte(s)}
}

// readRawFrame reads one unmasked server frame.
func readRawFrame(t *testing.T, r *bufio.Reader) rawFrame {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	if h[1]&maskBit != 0 {
		t.Fatalf("server frame is masked")
	}
	n := int(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		io.ReadFull(r, e[:])
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		io.ReadFull(r, e[:])
		n = int(binary.BigEndian.Uint64(e[:]))
	}
	f := rawFrame{fin: h[0]&finBit != 0, rsv: h[0] & 0x70 >> 4, op: h[0] & 0x0F, data: make([]byte, n)}
	if _, err := io.ReadFull(r, f.data); err != nil {
		t.Fatalf("read frame payload: %v", err)
	}
	return f
}

// closeCodeOf returns the code of a close frame.
func closeCodeOf(t *testing.T, f rawFrame) statusCode {
	t.Helper()
	if f.op != opClose || len(f.data) < 2 {
		t.Fatalf("want a close frame with a code, got op %d %q", f.op, f.data)
	}
	return statusCode(binary.BigEndian.Uint16(f.data))
}

// wsEcho serves acceptWS and echoes each message until read fails; the
// error read returned goes to errc.
func wsEcho(t *testing.T, maxMsg int) (url string, errc chan error) {
	errc = make(chan error, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := acceptWS(w, r, maxMsg)
		if err != nil {
			return
		}
		defer c.closeNow()
		if err := c.flush(); err != nil {
			errc <- err
			return
		}
		for {
			bin, msg, err := c.read()
			if err != nil {
				errc <- err
				return
			}
			if c.queue(bin, msg) != nil || c.flush() != nil {
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL, errc
}

const rfcKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 §1.3: accept is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=

// rawDial opens a WebSocket by hand; early is written together with the
// request, before the 101 arrives.
func rawDial(t *testing.T, url string, early []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rfcKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), early...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return nc, br
}

func send(t *testing.T, nc net.Conn, frames ...rawFrame) {
	t.Helper()
	var b []byte
	for _, f := range frames {
		b = appendRawFrame(b, f)
	}
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestWSHandshakeRejects(t *testing.T) {
	url, _ := wsEcho(t, 1<<20)
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no key", map[string]string{"Sec-WebSocket-Key": ""}, http.StatusBadRequest},
		{"short key", map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}, http.StatusBadRequest},
		{"no upgrade", map[string]string{"Upgrade": ""}, http.StatusBadRequest},
		{"version 8", map[string]string{"Sec-WebSocket-Version": "8"}, http.StatusUpgradeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Key", rfcKey)
			req.Header.Set("Sec-WebSocket-Version", "13")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusUpgradeRequired && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("426 without Sec-WebSocket-Version: 13")
			}
		})
	}
}

func TestWSMessages(t *testing.T) {
	url, _ := wsEcho(t, 1<<20)
	// The first message rides in the same packet as the request.
	nc, br := rawDial(t, url, appendRawFrame(nil, wsText(true, "early")))
	if f := readRawFrame(t, br); f.op != opText || !f.fin || string(f.data) != "early" {
		t.Fatalf("early message: %+v", f)
	}

	// Fragments with a ping between them make one message; the pong
	// carries the ping's payload.
	send(t, nc, wsText(false, "héllo "),
		rawFrame{fin: true, op: opPing, masked: true, data: []byte("p1")},
		rawFrame{fin: false, op: opContinuation, masked: true, data: []byte("wor")},
		rawFrame{fin: true, op: opContinuation, masked: true, data: []byte("ld")})
	if f := readRawFrame(t, br); f.op != opPong || string(f.data) != "p1" {
		t.Fatalf("want pong p1, got %+v", f)
	}
	if f := readRawFrame(t, br); f.op != opText || string(f.data) != "héllo world" {
		t.Fatalf("reassembled: %+v", f)
	}

	// Binary, every length encoding, and an empty message.
	for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000, 200_000} {
		data := bytes.Repeat([]byte{byte(n)}, n)
		send(t, nc, rawFrame{fin: true, op: opBinary, masked: true, data: data})
		f := readRawFrame(t, br)
		if f.op != opBinary || !bytes.Equal(f.data, data) {
			t.Fatalf("binary of %d bytes: op %d, %d bytes back", n, f.op, len(f.data))
		}
	}
}

func TestWSClose(t *testing.T) {
	url, errc := wsEcho(t, 1<<20)
	nc, br := rawDial(t, url, nil)
	send(t, nc, rawFrame{fin: true, op: opClose, masked: true, data: append([]byte{0x03, 0xE8}, "bye"...)})
	if code := closeCodeOf(t, readRawFrame(t, br)); code != statusNormalClosure {
		t.Fatalf("echo code %d", code)
	}
	var ce *closeError
	if err := <-errc; !errors.As(err, &ce) || ce.code != statusNormalClosure || ce.reason != "bye" {
		t.Fatalf("read returned %v", err)
	}
	if closeStatus(&closeError{code: 4000}) != 4000 || closeStatus(io.EOF) != 0 {
		t.Fatal("closeStatus")
	}
}

func TestWSProtocolErrors(t *testing.T) {
	big := strings.Repeat("x", 101)
	tests := []struct {
		name   string
		frames []rawFrame
		code   statusCode
	}{
		{"unmasked", []rawFrame{{fin: true, op: opText, data: []byte("x")}}, statusProtocolError},
		{"reserved bits", []rawFrame{{fin: true, rsv: 4, op: opText, masked: true, data: []byte("x")}}, statusProtocolError},
		{"unknown opcode", []rawFrame{{fin: true, op: 3, masked: true}}, statusProtocolError},
		{"unknown control opcode", []rawFrame{{fin: true, op: 0xB, masked: true}}, statusProtocolError},
		{"fragmented ping", []rawFrame{{fin: false, op: opPing, masked: true}}, statusProtocolError},
		{"long ping", []rawFrame{{fin: true, op: opPing, masked: true, data: make([]byte, 126)}}, statusProtocolError},
		{"stray continuation", []rawFrame{{fin: true, op: opContinuation, masked: true, data: []byte("x")}}, statusProtocolError},
		{"text inside fragments", []rawFrame{wsText(false, "a"), wsText(true, "b")}, statusProtocolError},
		{"too big", []rawFrame{wsText(true, big)}, statusMessageTooBig},
		{"too big in fragments", []rawFrame{wsText(false, big[:60]), {fin: true, op: opContinuation, masked: true, data: []byte(big[:60])}}, statusMessageTooBig},
		{"invalid utf-8", []rawFrame{wsText(true, "ok \xff")}, statusInvalidPayload},
		{"utf-8 split across fragments is fine, broken is not", []rawFrame{wsText(false, "\xc3"), {fin: true, op: opContinuation, masked: true, data: []byte("(")}}, statusInvalidPayload},
		{"close of 1 byte", []rawFrame{{fin: true, op: opClose, masked: true, data: []byte{3}}}, statusProtocolError},
		{"close code 1005", []rawFrame{{fin: true, op: opClose, masked: true, data: []byte{0x03, 0xED}}}, statusProtocolError},
		{"close reason not utf-8", []rawFrame{{fin: true, op: opClose, masked: true, data: []byte{0x03, 0xE8, 0xff}}}, statusInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, errc := wsEcho(t, 100)
			nc, br := rawDial(t, url, nil)
			send(t, nc, tt.frames...)
			if code := closeCodeOf(t, readRawFrame(t, br)); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			var we *wsError
			if err := <-errc; !errors.As(err, &we) || we.code != tt.code {
				t.Fatalf("read returned %v", err)
			}
		})
	}
}

// countingConn counts the writes that reach the connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// TestWSQueueCoalesces checks the point of the layer: every frame queued
// before a flush goes out in one write, in order, and a large frame is
// written behind the small ones queued before it.
func TestWSQueueCoalesces(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cc := &countingConn{Conn: a}
	c := &wsConn{nc: cc, readDone: make(chan struct{})}
	big := bytes.Repeat([]byte("L"), wsFlushAt+1)
	errc := make(chan error, 1)
	go func() {
		for i := range 100 {
			if err := c.queue(false, []byte{byte('0' + i%10)}); err != nil {
				errc <- err
				return
			}
		}
		if err := c.flush(); err != nil {
			errc <- err
			return
		}
		if err := c.queue(false, []byte("before")); err != nil {
			errc <- err
			return
		}
		errc <- c.queue(true, big)
	}()
	br := bufio.NewReader(b)
	for i := range 100 {
		if f := readRawFrame(t, br); f.op != opText || string(f.data) != string(rune('0'+i%10)) {
			t.Fatalf("frame %d: %+v", i, f)
		}
	}
	if f := readRawFrame(t, br); string(f.data) != "before" {
		t.Fatalf("small frame after flush: %q", f.data)
	}
	if f := readRawFrame(t, br); f.op != opBinary || !bytes.Equal(f.data, big) {
		t.Fatalf("large frame: op %d, %d bytes", f.op, len(f.data))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	// One write for the 100 frames; the large frame and the small one in
	// front of it go out by writev, which net.Pipe sees as writes of its
	// parts.
	if cc.writes > 4 {
		t.Fatalf("%d writes, want the 100 queued frames in one", cc.writes)
	}
}

// FuzzWSRead feeds arbitrary client bytes to read: it never panics,
// never returns more than maxMsg, returns only valid UTF-8 as text, and
// any other error is the end of input (or of the pipe, for a reply) or
// a close frame it sent.
func FuzzWSRead(f *testing.F) {
	f.Add(appendRawFrame(nil, wsText(true, "hello")))
	f.Add(appendRawFrame(appendRawFrame(nil, wsText(false, "he")), rawFrame{fin: true, op: opContinuation, masked: true, data: []byte("llo")}))
	f.Add(appendRawFrame(nil, rawFrame{fin: true, op: opPing, masked: true, data: []byte("p")}))
	f.Add(appendRawFrame(nil, rawFrame{fin: true, op: opClose, masked: true, data: []byte{3, 0xE8}}))
	f.Add(appendRawFrame(nil, rawFrame{fin: true, op: opBinary, masked: true, data: make([]byte, 300)}))
	f.Add([]byte{0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4})
	const maxMsg = 256
	f.Fuzz(func(t *testing.T, in []byte) {
		srv, cli := net.Pipe()
		defer cli.Close()
		go io.Copy(io.Discard, cli) // pongs and close frames
		go func() { cli.Write(in); cli.Close() }()
		c := &wsConn{nc: srv, br: bufio.NewReaderSize(srv, wsReadBuffer), maxMsg: maxMsg, readDone: make(chan struct{})}
		defer c.closeNow()
		for {
			bin, msg, err := c.read()
			if err != nil {
				var we *wsError
				var ce *closeError
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.ErrClosedPipe) && !errors.As(err, &we) && !errors.As(err, &ce) {
					t.Fatalf("unexpected error %v", err)
				}
				select {
				case <-c.readDone:
				default:
					t.Fatal("readDone not closed after the final error")
				}
				return
			}
			if len(msg) > maxMsg {
				t.Fatalf("message of %d bytes > %d", len(msg), maxMsg)
			}
			if !bin && !utf8.Valid(msg) {
				t.Fatalf("invalid UTF-8 returned as text")
			}
		}
	})
}
