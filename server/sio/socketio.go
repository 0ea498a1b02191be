package sio

import (
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"chatapp/shared"
)

// Handler is the application on top of Socket.IO. For one session, the
// methods are called one at a time, in the order the packets arrived,
// whatever the transport. "The read goroutine" below is the goroutine
// handling the session's input at that moment: the WebSocket's read loop,
// or the POST that carried the packet over polling.
type Handler interface {
	// Connect runs on the socket's read goroutine for a CONNECT to nsp with
	// the auth object (nil if none). A non-nil error refuses it:
	// CONNECT_ERROR {"message": err.Error()} is sent and the connection
	// stays open. Do not send to nsp from Connect: the CONNECT reply is not
	// queued yet.
	Connect(s *Socket, nsp string, auth json.RawMessage) error
	// Connected runs on the read goroutine right after the CONNECT reply
	// 40{"sid":<socket id>} has been queued.
	Connected(s *Socket, nsp string)
	// Event runs on the read goroutine for each EVENT, in order.
	Event(s *Socket, nsp string, ev Event)
	// Disconnect runs once when a joined namespace socket ends: the client
	// sent 41 (reason "client namespace disconnect"), or the session ended
	// (the reason it ended, e.g. "transport close", "ping timeout",
	// "slow consumer", "server namespace disconnect", "server shutting
	// down"). It runs after the writer has stopped, on the read goroutine
	// of a WebSocket session, or on the writer's goroutine of a polling
	// one (still one at a time with the other calls).
	Disconnect(s *Socket, nsp string, reason string)
}

// Event is one EVENT (or BINARY_EVENT) from a client. Args and Attachments
// belong to the handler; nothing reuses them.
type Event struct {
	Name        string
	Args        []json.RawMessage // the JSON of each argument, as received
	AckID       int64             // -1 without an ack id
	Attachments [][]byte          // binary attachments; args hold their placeholders
}

// ErrClosed is returned by the emit methods once the session is ending.
var ErrClosed = errors.New("sio: socket closed")

var errTooManyAttachments = errors.New("sio: more than 10 binary attachments")

// sioLayer is the Socket.IO v5 protocol on an Engine.IO session.
type sioLayer struct {
	srv *Server
	h   Handler
}

func (l *sioLayer) opened(s *Socket) {
	s.connectTimer = time.AfterFunc(l.srv.cfg.ConnectTimeout, func() {
		s.mu.Lock()
		joined := s.joined
		s.mu.Unlock()
		if !joined && s.end(statusPolicyViolation, "connect timeout", false) {
			l.srv.connectTimeouts.Add(1)
			s.logAt(slog.LevelDebug, "sio: connect timeout")
		}
	})
}

func (l *sioLayer) message(s *Socket, frame []byte) error {
	if s.pending.Attachments > 0 {
		return errTextDuringBinary
	}
	p, err := shared.DecodePacket(frame[1:])
	if err != nil {
		return err
	}
	switch p.Type {
	case shared.PacketConnect:
		return l.connect(s, p)
	case shared.PacketConnectError:
		return errClientConnectError
	}
	if !s.joinedNsp(p.Nsp) {
		return errNotConnected
	}
	switch p.Type {
	case shared.PacketDisconnect:
		if s.leave(p.Nsp) {
			l.h.Disconnect(s, p.Nsp, "client namespace disconnect")
		}
	case shared.PacketEvent:
		return l.event(s, p, nil)
	case shared.PacketAck:
		// The server asks for no acks yet.
	case shared.PacketBinaryEvent, shared.PacketBinaryAck:
		if !l.srv.cfg.AllowBinary {
			return errBinaryNotAllowed
		}
		s.pending = p
		s.pendingAtt = make([][]byte, 0, p.Attachments)
	}
	return nil
}

func (l *sioLayer) binary(s *Socket, data []byte) error {
	if s.pending.Attachments == 0 {
		return errStrayBinary
	}
	s.pendingAtt = append(s.pendingAtt, data)
	if len(s.pendingAtt) < s.pending.Attachments {
		return nil
	}
	p, att := s.pending, s.pendingAtt
	s.pending, s.pendingAtt = shared.Packet{}, nil
	if p.Type == shared.PacketBinaryEvent {
		return l.event(s, p, att)
	}
	return nil // a BINARY_ACK: the server asks for no acks yet
}

func (l *sioLayer) connect(s *Socket, p shared.Packet) error {
	nsp := p.Nsp
	if s.joinedNsp(nsp) {
		return errAlreadyConnected
	}
	if !l.srv.nsps[nsp] {
		s.push(connectErrorFrame(nsp, "Invalid namespace"), 0, false, nil)
		return nil
	}
	if err := l.h.Connect(s, nsp, p.Data); err != nil {
		s.push(connectErrorFrame(nsp, err.Error()), 0, false, nil)
		return nil
	}
	id := s.id
	if nsp != "/" {
		id = newID()
	}
	s.mu.Lock()
	s.nsps = append(s.nsps, nspConn{name: nsp, id: id})
	s.joined = true
	s.mu.Unlock()
	s.connectTimer.Stop()
	s.push(connectFrame(nsp, id), 0, false, nil)
	l.h.Connected(s, nsp)
	return nil
}

func (l *sioLayer) event(s *Socket, p shared.Packet, att [][]byte) error {
	name, args, err := shared.EventArgs(p.Data)
	if err != nil {
		return err
	}
	l.h.Event(s, p.Nsp, Event{Name: name, Args: args, AckID: p.ID, Attachments: att})
	return nil
}

func (l *sioLayer) closed(s *Socket, reason string) {
	s.mu.Lock()
	nsps := s.nsps
	s.nsps = nil
	s.mu.Unlock()
	for _, n := range nsps {
		l.disconnect(s, n.name, reason)
	}
}

// disconnect calls Handler.Disconnect; a panic there is logged, not fatal.
func (l *sioLayer) disconnect(s *Socket, nsp, reason string) {
	defer func() {
		if p := recover(); p != nil {
			s.logAt(slog.LevelError, "sio: panic in Disconnect", "err", p, "stack", string(debug.Stack()))
		}
	}()
	l.h.Disconnect(s, nsp, reason)
}

func (s *Socket) joinedNsp(nsp string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nsps {
		if n.name == nsp {
			return true
		}
	}
	return false
}

// leave removes nsp from the joined namespaces and reports whether it was
// there.
func (s *Socket) leave(nsp string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range s.nsps {
		if n.name == nsp {
			s.nsps = append(s.nsps[:i], s.nsps[i+1:]...)
			return true
		}
	}
	return false
}

// Disconnect kicks the client: it queues DISCONNECT (41, or 41/nsp,) and
// closes the session once that is written. The client reports "io server
// disconnect" and does not reconnect by itself. Handler.Disconnect gets
// "server namespace disconnect" for every namespace of the session.
func (s *Socket) Disconnect(nsp string) {
	if nsp == "" {
		nsp = "/"
	}
	s.endWith(func(n string) bool { return n == nsp }, statusNormalClosure, "server namespace disconnect", true)
}

// Emit sends the event name with args on nsp. Args are encoded as JSON
// without HTML escaping; a top-level []byte arg is sent as a binary
// attachment (never as base64). Emit does not check that the client has
// joined nsp.
func (s *Socket) Emit(nsp, name string, args ...any) error {
	return s.emit(shared.PacketEvent, nsp, -1, &name, args)
}

// Ack answers the client's ack id on nsp with args, encoded as Emit does.
func (s *Socket) Ack(nsp string, id int64, args ...any) error {
	if id < 0 {
		return errors.New("sio: negative ack id")
	}
	return s.emit(shared.PacketAck, nsp, id, nil, args)
}

func (s *Socket) emit(t shared.PacketType, nsp string, id int64, name *string, args []any) error {
	nbin := 0
	for _, a := range args {
		if _, ok := a.([]byte); ok {
			nbin++
		}
	}
	if nbin > shared.MaxAttachments {
		return errTooManyAttachments
	}
	var att [][]byte
	if nbin > 0 {
		t += shared.PacketBinaryEvent - shared.PacketEvent // EVENT→BINARY_EVENT, ACK→BINARY_ACK
		att = make([][]byte, 0, nbin)
	}
	w := &sliceWriter{b: packetFrame(t, nsp, id, nbin, 64)}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	w.b = append(w.b, '[')
	if name != nil {
		if err := w.encode(enc, *name); err != nil {
			return err
		}
	}
	for i, a := range args {
		if i > 0 || name != nil {
			w.b = append(w.b, ',')
		}
		if b, ok := a.([]byte); ok {
			w.b = appendPlaceholder(w.b, len(att))
			att = append(att, b)
			continue
		}
		if err := w.encode(enc, a); err != nil {
			return err
		}
	}
	w.b = append(w.b, ']')
	if !s.push(w.b, 0, false, att) {
		return ErrClosed
	}
	return nil
}

// EmitBinary sends the event name on nsp with args written verbatim (each
// must be valid JSON) followed by the binary attachments: args refer to
// attachments[i] with {"_placeholder":true,"num":i}. Without attachments
// it is a plain EVENT. It passes a received Event through byte for byte.
func (s *Socket) EmitBinary(nsp, name string, args []json.RawMessage, attachments [][]byte) error {
	return s.emitRaw(shared.PacketEvent, nsp, -1, &name, args, attachments)
}

// AckBinary answers ack id on nsp as EmitBinary sends an event: a
// BINARY_ACK when there are attachments, a plain ACK otherwise.
func (s *Socket) AckBinary(nsp string, id int64, args []json.RawMessage, attachments [][]byte) error {
	if id < 0 {
		return errors.New("sio: negative ack id")
	}
	return s.emitRaw(shared.PacketAck, nsp, id, nil, args, attachments)
}

func (s *Socket) emitRaw(t shared.PacketType, nsp string, id int64, name *string, args []json.RawMessage, att [][]byte) error {
	if len(att) > shared.MaxAttachments {
		return errTooManyAttachments
	}
	if len(att) > 0 {
		t += shared.PacketBinaryEvent - shared.PacketEvent
	}
	n := 2
	for _, a := range args {
		if len(a) == 0 {
			return errors.New("sio: empty JSON argument")
		}
		n += len(a) + 1
	}
	w := &sliceWriter{b: packetFrame(t, nsp, id, len(att), n+16)}
	w.b = append(w.b, '[')
	if name != nil {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := w.encode(enc, *name); err != nil {
			return err
		}
	}
	for i, a := range args {
		if i > 0 || name != nil {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, a...)
	}
	w.b = append(w.b, ']')
	if !s.push(w.b, 0, false, att) {
		return ErrClosed
	}
	return nil
}

// sliceWriter lets a json.Encoder append to a byte slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// encode appends v as JSON, without the newline json.Encoder adds.
func (w *sliceWriter) encode(enc *json.Encoder, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	if n := len(w.b); n > 0 && w.b[n-1] == '\n' {
		w.b = w.b[:n-1]
	}
	return nil
}

func appendPlaceholder(b []byte, num int) []byte {
	b = append(b, `{"_placeholder":true,"num":`...)
	b = strconv.AppendInt(b, int64(num), 10)
	return append(b, '}')
}

// packetFrame starts the text frame of a Socket.IO packet: '4', the type,
// the attachment count, the namespace and the ack id. extra is the room to
// reserve for the payload.
func packetFrame(t shared.PacketType, nsp string, id int64, attachments, extra int) []byte {
	b := make([]byte, 0, 8+len(nsp)+20+extra)
	b = append(b, shared.EIOMessage)
	return shared.AppendPacket(b, shared.Packet{Type: t, Nsp: nsp, ID: id, Attachments: attachments})
}

// connectFrame is the CONNECT reply, 40{"sid":"…"} or 40/nsp,{"sid":"…"}.
func connectFrame(nsp, id string) []byte {
	b := packetFrame(shared.PacketConnect, nsp, -1, 0, len(id)+10)
	b = append(b, `{"sid":"`...)
	b = append(b, id...) // URL-safe base64: nothing to escape
	return append(b, `"}`...)
}

// connectErrorFrame is CONNECT_ERROR {"message":msg} on nsp.
func connectErrorFrame(nsp, msg string) []byte {
	w := &sliceWriter{b: packetFrame(shared.PacketConnectError, nsp, -1, 0, len(msg)+16)}
	w.b = append(w.b, `{"message":`...)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = w.encode(enc, msg) // a string always encodes
	w.b = append(w.b, '}')
	return w.b
}

// disconnectFrame is DISCONNECT on nsp: 41 or 41/nsp,.
func disconnectFrame(nsp string) []byte {
	return packetFrame(shared.PacketDisconnect, nsp, -1, 0, 0)
}
