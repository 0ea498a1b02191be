package shared

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Engine.IO v4 packet types: the first byte of a text frame
// (SOCKETIO.md §2.1). Over a WebSocket a binary frame has no type byte and
// is always a message.
const (
	EIOOpen    byte = '0' // server → client, data is the EngineOpen JSON
	EIOClose   byte = '1'
	EIOPing    byte = '2' // server → client in v4 ("2probe" aside)
	EIOPong    byte = '3' // client → server in v4
	EIOMessage byte = '4' // a Socket.IO packet follows
	EIOUpgrade byte = '5'
	EIONoop    byte = '6'
)

// EngineOpen is the data of the Engine.IO open packet. The suites and the
// clients check the key set, so it has exactly these five keys. Intervals
// are in milliseconds, MaxPayload in bytes.
type EngineOpen struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"` // never null on the wire; [] for a WebSocket session
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// AppendEngineOpen appends the complete open packet, `0{"sid":…}`, to dst.
// A nil Upgrades is written as [] (engine.io-client reads its length).
func AppendEngineOpen(dst []byte, o EngineOpen) []byte {
	if o.Upgrades == nil {
		o.Upgrades = []string{}
	}
	dst = append(dst, EIOOpen)
	b, err := json.Marshal(o)
	if err != nil { // unreachable: strings and ints only
		panic("shared: marshal EngineOpen: " + err.Error())
	}
	return append(dst, b...)
}

// ParseEngineOpen parses an open packet frame, `0{…}`, as a client receives
// it.
func ParseEngineOpen(frame []byte) (EngineOpen, error) {
	var o EngineOpen
	if len(frame) == 0 || frame[0] != EIOOpen {
		return o, errNotOpen
	}
	if err := json.Unmarshal(frame[1:], &o); err != nil {
		return o, errNotOpen
	}
	if o.SID == "" || o.PingInterval <= 0 || o.PingTimeout <= 0 {
		return o, errNotOpen
	}
	return o, nil
}

// PacketType is a Socket.IO v5 packet type.
type PacketType byte

// Socket.IO packet types (SOCKETIO.md §3.1).
const (
	PacketConnect PacketType = iota
	PacketDisconnect
	PacketEvent
	PacketAck
	PacketConnectError
	PacketBinaryEvent
	PacketBinaryAck
)

var packetTypeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the protocol name of t, e.g. "EVENT".
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether packets of type t carry binary attachments.
func (t PacketType) IsBinary() bool { return t == PacketBinaryEvent || t == PacketBinaryAck }

// MaxAttachments is the most binary attachments one packet may announce
// (socket.io-parser 4.2 maxAttachments).
const MaxAttachments = 10

// Packet is one decoded Socket.IO packet.
type Packet struct {
	Type        PacketType
	Nsp         string          // "/" when absent
	ID          int64           // ack id; -1 when absent
	Attachments int             // binary packet types only
	Data        json.RawMessage // nil when absent; the bytes as received
}

// ErrInvalidPacket is wrapped by every DecodePacket and EventArgs error.
var ErrInvalidPacket = errors.New("invalid socket.io packet")

type packetError string

func (e packetError) Error() string { return "shared: invalid socket.io packet: " + string(e) }
func (e packetError) Unwrap() error { return ErrInvalidPacket }

// The errors are values so that rejecting input allocates nothing.
var (
	errEmpty        error = packetError("empty")
	errType         error = packetError("unknown packet type")
	errAttachments  error = packetError("illegal attachments")
	errAckID        error = packetError("illegal ack id")
	errUTF8         error = packetError("invalid UTF-8")
	errJSON         error = packetError("invalid JSON payload")
	errPayload      error = packetError("invalid payload for packet type")
	errMissing      error = packetError("missing payload")
	errReservedName error = packetError("reserved event name")
	errEventName    error = packetError("event name must be a string or a number")
	errNotArray     error = packetError("event payload is not an array")
	errNotOpen            = errors.New("shared: not an engine.io open packet")
)

// DecodePacket decodes b, the data of an Engine.IO message (what follows
// the '4'), as a Socket.IO packet: `<type>[<n>-][<nsp>,][<id>][<json>]`.
//
// It enforces the rules of socket.io-parser 4.2.7: the type is 0–6; binary
// types announce 1–10 attachments; the payload is valid JSON of the shape
// the type allows (CONNECT: optional object; DISCONNECT: none; EVENT: an
// array whose first element is a non-reserved name or a number; ACK: an
// array; CONNECT_ERROR: object or string). It also rejects invalid UTF-8,
// which a browser would refuse in a text frame. Packet.Data aliases b.
// DecodePacket never panics; every error wraps ErrInvalidPacket.
func DecodePacket(b []byte) (Packet, error) {
	p := Packet{Nsp: "/", ID: -1}
	if len(b) == 0 {
		return p, errEmpty
	}
	if b[0] < '0' || b[0] > '6' {
		return p, errType
	}
	p.Type = PacketType(b[0] - '0')
	i := 1

	if p.Type.IsBinary() {
		j := i
		for j < len(b) && j-i <= 3 && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i || j-i > 3 || j >= len(b) || b[j] != '-' {
			return p, errAttachments
		}
		n := 0
		for _, c := range b[i:j] { // at most 3 digits
			n = n*10 + int(c-'0')
		}
		if n < 1 || n > MaxAttachments {
			return p, errAttachments
		}
		p.Attachments = n
		i = j + 1
	}

	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		if j < 0 {
			j = len(b) - i
		}
		if !utf8.Valid(b[i : i+j]) {
			return p, errUTF8
		}
		p.Nsp = string(b[i : i+j])
		i += j
		if i < len(b) { // skip the comma
			i++
		}
	}

	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i > 18 { // beyond any counter a client keeps; 18 digits cannot overflow
			return p, errAckID
		}
		var id int64
		for _, c := range b[i:j] {
			id = id*10 + int64(c-'0')
		}
		p.ID = id
		i = j
	}

	if i < len(b) {
		p.Data = json.RawMessage(b[i:len(b):len(b)])
	}
	if err := checkPayload(p.Type, p.Data); err != nil {
		return Packet{Nsp: "/", ID: -1}, err
	}
	return p, nil
}

// reserved are the event names a client may not send.
var reserved = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

func checkPayload(t PacketType, data []byte) error {
	if data == nil {
		switch t {
		case PacketConnect, PacketDisconnect:
			return nil
		default:
			return errMissing
		}
	}
	if t == PacketDisconnect {
		return errPayload
	}
	if !utf8.Valid(data) {
		return errUTF8
	}
	if !json.Valid(data) {
		return errJSON
	}
	k := skipSpace(data, 0)
	first := data[k] // json.Valid guarantees a non-space byte
	switch t {
	case PacketConnect:
		if first != '{' {
			return errPayload
		}
	case PacketConnectError:
		if first != '{' && first != '"' {
			return errPayload
		}
	case PacketAck, PacketBinaryAck:
		if first != '[' {
			return errPayload
		}
	case PacketEvent, PacketBinaryEvent:
		if first != '[' {
			return errPayload
		}
		k = skipSpace(data, k+1)
		switch c := data[k]; {
		case c == '"':
			q := data[k:skipValue(data, k)]
			if bytes.IndexByte(q, '\\') >= 0 { // escaped: decode to compare
				name, ok := unquote(q)
				if !ok {
					return errPayload
				}
				q = []byte(`"` + name + `"`)
			}
			for _, r := range reserved {
				if string(q[1:len(q)-1]) == r { // no allocation
					return errReservedName
				}
			}
		case c == '-' || c >= '0' && c <= '9':
		default: // ']' (empty), object, array, literal
			return errEventName
		}
	}
	return nil
}

// AppendPacket appends the Socket.IO encoding of p to dst (without the
// Engine.IO '4'). The namespace is omitted for "/" and "" and is followed
// by a comma otherwise; the ack id is written when it is not negative;
// Data is written verbatim.
func AppendPacket(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.IsBinary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Nsp != "" && p.Nsp != "/" {
		dst = append(dst, p.Nsp...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// EventArgs splits the payload of an EVENT packet, `["name",arg…]`, into
// the event name and the arguments, each kept as the raw bytes received (a
// sub-slice of data). A numeric name is returned as its JSON text.
func EventArgs(data json.RawMessage) (name string, args []json.RawMessage, err error) {
	if !json.Valid(data) {
		return "", nil, errJSON
	}
	i := skipSpace(data, 0)
	if data[i] != '[' {
		return "", nil, errNotArray
	}
	i = skipSpace(data, i+1)
	if data[i] == ']' {
		return "", nil, errEventName
	}
	first := true
	for {
		end := skipValue(data, i)
		v := data[i:end:end]
		if first {
			first = false
			switch c := v[0]; {
			case c == '"':
				s, ok := unquote(v)
				if !ok {
					return "", nil, errEventName
				}
				name = s
			case c == '-' || c >= '0' && c <= '9':
				name = string(v)
			default:
				return "", nil, errEventName
			}
		} else {
			args = append(args, json.RawMessage(v))
		}
		i = skipSpace(data, end)
		if data[i] == ']' {
			return name, args, nil
		}
		i = skipSpace(data, i+1) // the comma
	}
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value that starts at b[i]. b must
// be valid JSON (checked by the callers with json.Valid).
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != '}' &&
			b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}

// unquote decodes a JSON string literal.
func unquote(q []byte) (string, bool) {
	if len(q) < 2 {
		return "", false
	}
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), true
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", false
	}
	return s, true
}

// EventFrame returns the complete Engine.IO text frame of an event on the
// main namespace, `42["name",<arg>]`, with arg encoded as JSON without HTML
// escaping. The frame can be queued on many sockets. arg must not contain
// []byte: encoding/json would send it as a base64 string, not as binary.
func EventFrame(name string, arg any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64)
	buf.WriteString(`42[`)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(name); err != nil {
		return nil, err
	}
	trimNewline(&buf)
	buf.WriteByte(',')
	if err := enc.Encode(arg); err != nil {
		return nil, err
	}
	trimNewline(&buf)
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// AckFrame returns the complete Engine.IO text frame of an ack on the main
// namespace, `43<id>[<arg>]`, with arg encoded as EventFrame does.
func AckFrame(id int64, arg any) ([]byte, error) {
	if id < 0 {
		return nil, errAckID
	}
	var buf bytes.Buffer
	buf.Grow(48)
	buf.WriteString(`43`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), id, 10))
	buf.WriteByte('[')
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(arg); err != nil {
		return nil, err
	}
	trimNewline(&buf)
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// trimNewline removes the newline json.Encoder writes after each value.
func trimNewline(buf *bytes.Buffer) {
	if n := buf.Len(); n > 0 && buf.Bytes()[n-1] == '\n' {
		buf.Truncate(n - 1)
	}
}
