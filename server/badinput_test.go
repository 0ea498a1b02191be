package server

// The bad-input matrix of issue 5: every hostile or broken frame gets a
// clear error code or a closed socket, stores nothing, leaves other users
// working, and leaks no goroutine and no memory.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// rawClient is a WebSocket to the server that sends frames verbatim and
// reports what comes back, including how the connection ends.
type rawClient struct {
	t      *testing.T
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changed chan struct{}
	frames  []string
	status  websocket.StatusCode // -1 until closed; -1 after too if no close frame
	ended   bool
}

// dialBad connects. connect is the CONNECT packet to send ("" sends none);
// login, if not "", logs in as that (existing) user.
func (ts *testServer) dialBad(connect, login string) *rawClient {
	t := ts.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ws, _, err := websocket.Dial(ctx, ts.url, nil)
	if err != nil {
		cancel()
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(32 << 20)
	c := &rawClient{t: t, ws: ws, ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}), status: -1}
	go c.read()
	t.Cleanup(c.close)
	if !c.wait(func() bool { return len(c.frames) > 0 && c.frames[0][0] == '0' }) {
		t.Fatalf("no open packet: %q", c.frames)
	}
	if connect != "" {
		c.send(websocket.MessageText, connect)
		if !c.wait(func() bool { return c.find("40{") >= 0 || c.find("44") >= 0 }) {
			t.Fatalf("no CONNECT reply: %q", c.frames)
		}
	}
	if login != "" {
		c.send(websocket.MessageText, `4299["login",{"id":"`+login+`","password":"secret-`+login+`"}]`)
		if r, ok := c.ack(99); !ok || r.Code != shared.CodeOK {
			t.Fatalf("login %s: %+v %v", login, r, ok)
		}
	}
	return c
}

func (c *rawClient) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(c.ctx)
		c.mu.Lock()
		if err != nil {
			c.ended = true
			c.status = websocket.CloseStatus(err)
		} else if string(b) != "2" {
			c.frames = append(c.frames, string(b))
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
		if string(b) == "2" {
			c.send(websocket.MessageText, "3")
		}
	}
}

func (c *rawClient) send(typ websocket.MessageType, s string) {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	c.ws.Write(ctx, typ, []byte(s)) // errors show as a closed connection
}

// wait waits up to 5 s for cond (run with c.mu held).
func (c *rawClient) wait(cond func() bool) bool {
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		ok, ended, ch := cond(), c.ended, c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		if ended {
			return false
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

// find returns the index of the first frame starting with prefix, or -1.
// c.mu must be held.
func (c *rawClient) find(prefix string) int {
	return slices.IndexFunc(c.frames, func(f string) bool { return strings.HasPrefix(f, prefix) })
}

// ack waits for the answer to ack id.
func (c *rawClient) ack(id int) (shared.Response, bool) {
	prefix := "43" + strconv.Itoa(id) + "["
	var r shared.Response
	ok := c.wait(func() bool {
		i := c.find(prefix)
		if i < 0 {
			return false
		}
		var args []shared.Response
		if err := json.Unmarshal([]byte(c.frames[i][len(prefix)-1:]), &args); err != nil || len(args) != 1 {
			c.t.Errorf("ack frame %q: %v", c.frames[i], err)
			return true
		}
		r = args[0]
		return true
	})
	return r, ok
}

// closed waits for the server to end the connection and returns the close
// status it sent (-1: none, the TCP connection was cut).
func (c *rawClient) closed() (websocket.StatusCode, bool) {
	ok := c.wait(func() bool { return false }) // until the end or 5 s
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = ok
	return c.status, c.ended
}

func (c *rawClient) close() {
	c.cancel()
	c.ws.CloseNow()
	<-c.done
}

// storeState is what the store holds, for "nothing stored" checks.
type storeState struct {
	users, rooms string
	lastSeq      shared.Seq
}

func (ts *testServer) storeSnapshot() storeState {
	ts.t.Helper()
	ctx := context.Background()
	users, err := ts.st.Users(ctx)
	if err != nil {
		ts.t.Fatal(err)
	}
	rooms, err := ts.st.Rooms(ctx)
	if err != nil {
		ts.t.Fatal(err)
	}
	return storeState{users: fmt.Sprint(users), rooms: fmt.Sprint(rooms), lastSeq: ts.st.LastSeq()}
}

// settleGoroutines waits up to 5 s for the goroutine count to come back
// to at most base+slack, and fails with a dump of them if it does not.
func settleGoroutines(t *testing.T, base, slack int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > base+slack && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > base+slack {
		var b bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Fatalf("goroutines: %d before, %d after (leak):\n%s", base, n, b.String())
	}
	return n
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// outcome is what a bad input must lead to: an answer with one of codes
// (naming field, if set), a CONNECT_ERROR, or a closed socket.
type outcome struct {
	codes   []string
	field   string
	connErr string
	close   bool
	status  []websocket.StatusCode // accepted close statuses (nil: any)
	open    bool                   // nothing back; the socket keeps working
}

func wantCode(c string, field string) outcome { return outcome{codes: []string{c}, field: field} }

var (
	protocolClose = outcome{close: true, status: []websocket.StatusCode{websocket.StatusProtocolError}}
	tooBigClose   = outcome{close: true, status: []websocket.StatusCode{websocket.StatusMessageTooBig}}
	// invalid UTF-8 in a text frame: 1007, as RFC 6455 says.
	utf8Close = outcome{close: true, status: []websocket.StatusCode{websocket.StatusInvalidFramePayloadData}}
)

type badCase struct {
	name    string
	connect string // CONNECT packet; "" means "40"; "-" sends none
	login   bool   // connect logged in as mallory
	frames  []string
	binary  bool // send frames as binary messages
	want    outcome
}

// evFrame is the frame of event name with payload (raw JSON) and ack id 1.
func evFrame(name, payload string) string {
	n, _ := json.Marshal(name)
	return `421[` + string(n) + `,` + payload + `]`
}

func badCases() []badCase {
	const maxPayload = 65536
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	pad := func(frame string, size int) string { // spaces before the final ]
		return frame[:len(frame)-1] + strings.Repeat(" ", size-len(frame)) + "]"
	}
	cs := []badCase{
		// Engine.IO packets.
		{name: "empty frame", frames: []string{""}, want: protocolClose},
		{name: "unknown engine.io type", frames: []string{"9"}, want: protocolClose},
		{name: "garbage text", frames: []string{"hello, server"}, want: protocolClose},
		{name: "control bytes", frames: []string{"\x00\x01\x02"}, want: protocolClose},
		{name: "open from client", frames: []string{`0{"sid":"x"}`}, want: protocolClose},
		{name: "ping from client", frames: []string{"2"}, want: protocolClose},
		{name: "probe ping from client", frames: []string{"2probe"}, want: protocolClose},
		{name: "client close", frames: []string{"1"}, want: outcome{close: true, status: []websocket.StatusCode{websocket.StatusNormalClosure}}},
		{name: "stray pong", frames: []string{"3"}, want: outcome{open: true}},
		{name: "upgrade and noop", frames: []string{"5", "6"}, want: outcome{open: true}},
		{name: "packets before CONNECT", connect: "-", frames: []string{evFrame("login", `{}`)}, want: protocolClose},

		// Socket.IO packets, garbage and truncated.
		{name: "empty socket.io packet", frames: []string{"4"}, want: protocolClose},
		{name: "socket.io type 7", frames: []string{"47[]"}, want: protocolClose},
		{name: "socket.io type letter", frames: []string{"4abc"}, want: protocolClose},
		{name: "event without payload", frames: []string{"42"}, want: protocolClose},
		{name: "event with ack id only", frames: []string{"421"}, want: protocolClose},
		{name: "truncated array", frames: []string{"42["}, want: protocolClose},
		{name: "truncated event", frames: []string{`421["message",{"data":"x"`}, want: protocolClose},
		{name: "truncated string", frames: []string{`421["mess`}, want: protocolClose},
		{name: "event object", frames: []string{"42{}"}, want: protocolClose},
		{name: "event empty array", frames: []string{"42[]"}, want: protocolClose},
		{name: "event name object", frames: []string{`42[{},{}]`}, want: protocolClose},
		{name: "event name null", frames: []string{`42[null]`}, want: protocolClose},
		{name: "reserved event name", frames: []string{`42["connect",{}]`}, want: protocolClose},
		{name: "escaped reserved name", frames: []string{`42["\u0064isconnect"]`}, want: protocolClose},
		{name: "junk before json", frames: []string{`42abc["x"]`}, want: protocolClose},
		{name: "trailing junk", frames: []string{`421["login",{}]]`}, want: protocolClose},
		{name: "ack id too long", frames: []string{`421234567890123456789["login",{}]`}, want: protocolClose},
		{name: "disconnect with payload", frames: []string{`41{}`}, want: protocolClose},
		{name: "connect error from client", frames: []string{`44{"message":"x"}`}, want: protocolClose},
		{name: "second CONNECT", frames: []string{"40"}, want: protocolClose},
		{name: "CONNECT with array auth", connect: "-", frames: []string{"40[]"}, want: protocolClose},
		{name: "ACK from client", frames: []string{`43[]`, `4312["x"]`}, want: outcome{open: true}},

		// Namespaces.
		{name: "CONNECT to another namespace", frames: []string{"40/admin,"}, want: outcome{connErr: "Invalid namespace"}},
		{name: "event on a namespace not joined", frames: []string{`42/admin,1["login",{}]`}, want: protocolClose},
		{name: "event after leaving /", frames: []string{"41", evFrame("login", `{}`)}, want: protocolClose},
		{name: "only a wrong namespace", connect: "40/admin,", frames: []string{evFrame("login", `{}`)}, want: protocolClose},

		// Binary.
		{name: "stray binary message", binary: true, frames: []string{"\x01\x02\x03"}, want: protocolClose},
		{name: "binary text-looking message", binary: true, frames: []string{evFrame("login", `{}`)}, want: protocolClose},
		{name: "binary event", frames: []string{`451-["message",{"_placeholder":true,"num":0}]`}, want: protocolClose},
		{name: "binary ack", frames: []string{`461-1[{"_placeholder":true,"num":0}]`}, want: protocolClose},
		{name: "binary, 11 attachments", frames: []string{`4511-["x"]`}, want: protocolClose},
		{name: "binary, no count", frames: []string{`45-["x"]`}, want: protocolClose},

		// Sizes.
		{name: "frame over maxPayload", frames: []string{"4" + strings.Repeat("x", maxPayload)}, want: tooBigClose},
		{name: "event over maxPayload", frames: []string{pad(evFrame("frobnicate", `{}`), maxPayload+1)}, want: tooBigClose},
		{name: "event of exactly maxPayload", frames: []string{pad(evFrame("frobnicate", `{}`), maxPayload)}, want: wantCode("400", "frobnicate")},
		{name: "nested arrays, depth 5000", frames: []string{evFrame("login", nested(5000))}, want: wantCode("400", "payload")},
		{name: "nested arrays in a field", login: true, frames: []string{evFrame("message", `{"data":`+nested(5000)+`}`)}, want: wantCode("400", "data")},
		{name: "nested arrays, depth 20000", frames: []string{evFrame("login", nested(20000))}, want: protocolClose},
		{name: "nested objects, depth 3000", frames: []string{evFrame("login", strings.Repeat(`{"a":`, 3000)+"1"+strings.Repeat("}", 3000))}, want: wantCode("400", "")},
		{name: "60 KB of text", login: true, frames: []string{evFrame("message", `{"recepient":"bob","command":"chat","type":"text","data":"`+strings.Repeat("é", 30000)+`"}`)}, want: wantCode("413", "data")},
		{name: "5000 unknown fields", frames: []string{evFrame("login", `{"id":"mallory",`+strings.Repeat(`"k":1,`, 5000)+`"password":""}`)}, want: wantCode("400", "password")},
		{name: "5000 extra arguments", login: true, frames: []string{`421["history",{"target":"bob","limit":1}` + strings.Repeat(",1", 5000) + "]"}, want: wantCode("200", "")},
		{name: "huge number", frames: []string{evFrame("login", `{"id":1`+strings.Repeat("0", 1000)+`,"password":"x"}`)}, want: wantCode("400", "id")},
		{name: "huge token", connect: `40{"token":"` + strings.Repeat("t", 60000) + `"}`, want: outcome{connErr: "invalid session"}},

		// Unknown events.
		{name: "unknown event", frames: []string{evFrame("frobnicate", `{}`)}, want: wantCode("400", "frobnicate")},
		{name: "unknown event, logged in", login: true, frames: []string{evFrame("frobnicate", `{}`)}, want: wantCode("400", "frobnicate")},
		{name: "numeric event name", frames: []string{`421[42,{}]`}, want: wantCode("400", "42")},
		{name: "empty event name", frames: []string{evFrame("", `{}`)}, want: wantCode("400", "")},
		{name: "server-side event name", frames: []string{evFrame("response", `{}`)}, want: wantCode("400", "response")},
		{name: "__proto__", frames: []string{evFrame("__proto__", `{}`)}, want: wantCode("400", "__proto__")},
		{name: "long event name", frames: []string{evFrame(strings.Repeat("n", 30000), `{}`)}, want: wantCode("400", "")},
		{name: "control chars in event name", frames: []string{evFrame("lo\u0000gin\u001b", `{}`)}, want: wantCode("400", "")},
		{name: "event without payload arg", frames: []string{`421["login"]`}, want: wantCode("400", "id")},

		// Invalid UTF-8 in a text frame.
		{name: "invalid UTF-8 in text", login: true, frames: []string{"421[\"message\",{\"recepient\":\"bob\",\"command\":\"chat\",\"data\":\"\xff\xfe\"}]"}, want: utf8Close},
		{name: "invalid UTF-8 in an id", frames: []string{"421[\"login\",{\"id\":\"al\xc3\",\"password\":\"secret1\"}]"}, want: utf8Close},
		{name: "invalid UTF-8 in event name", frames: []string{"421[\"\xc0\xaf\",{}]"}, want: utf8Close},
		{name: "invalid UTF-8 in namespace", frames: []string{"40/\xff,"}, want: utf8Close},
		{name: "overlong UTF-8 slash", frames: []string{"42\xc0\xaf\"]"}, want: utf8Close},

		// CONNECT auth.
		{name: "auth token number", connect: `40{"token":123}`, want: outcome{connErr: "invalid offset"}},
		{name: "auth unknown token", connect: `40{"token":"nope","offset":"1"}`, want: outcome{connErr: "invalid session"}},
		{name: "auth offset object", connect: `40{"offset":{"a":1}}`, want: outcome{connErr: "invalid offset"}},
		{name: "auth offset negative", connect: `40{"offset":"-1"}`, want: outcome{connErr: "invalid offset"}},
		{name: "auth offset fraction", connect: `40{"offset":1.5}`, want: outcome{connErr: "invalid offset"}},
		{name: "auth offset 19 digits", connect: `40{"offset":"1000000000000000000"}`, want: outcome{connErr: "invalid offset"}},
		{name: "auth offset fullwidth digits", connect: `40{"offset":"１２"}`, want: outcome{connErr: "invalid offset"}},
		{name: "auth string", connect: "-", frames: []string{`40"token"`}, want: protocolClose},

		// Control characters and odd Unicode in ids and text.
		{name: "NUL in login id", frames: []string{evFrame("login", `{"id":"mal\u0000lory","password":"secret1"}`)}, want: wantCode("400", "id")},
		{name: "zero-width space in login id", frames: []string{evFrame("login", `{"id":"mal\u200blory","password":"secret1"}`)}, want: wantCode("400", "id")},
		{name: "fullwidth login id", frames: []string{evFrame("login", `{"id":"ｍａｌｌｏｒｙ","password":"secret1"}`)}, want: wantCode("400", "id")},
		{name: "escape in alias", frames: []string{evFrame("login", `{"id":"mallory","password":"secret-mallory","alias":"\u001b[31mred"}`)}, want: wantCode("400", "alias")},
		{name: "bell in today", frames: []string{evFrame("login", `{"id":"mallory","password":"secret-mallory","today":"ding\u0007"}`)}, want: wantCode("400", "today")},
		{name: "NUL in data", login: true, frames: []string{evFrame("message", `{"recepient":"bob","command":"chat","type":"text","data":"a\u0000b"}`)}, want: wantCode("400", "data")},
		{name: "escape in data", login: true, frames: []string{evFrame("message", `{"recepient":"bob","command":"chat","type":"text","data":"\u001b[2J"}`)}, want: wantCode("400", "data")},
		{name: "DEL in data", login: true, frames: []string{evFrame("message", `{"recepient":"bob","command":"chat","type":"text","data":"a\u007fb"}`)}, want: wantCode("400", "data")},
		{name: "C1 control in data", login: true, frames: []string{evFrame("message", `{"recepient":"bob","command":"chat","type":"text","data":"a\u0085b"}`)}, want: wantCode("400", "data")},
		{name: "control char in cid", login: true, frames: []string{evFrame("message", `{"recepient":"bob","command":"chat","type":"text","data":"x","cid":"c\u0001"}`)}, want: wantCode("400", "cid")},
		{name: "NUL in recipient", login: true, frames: []string{evFrame("message", `{"recepient":"bo\u0000b","command":"chat","type":"text","data":"x"}`)}, want: outcome{codes: []string{"400", "404"}}},
		{name: "NUL in room id", login: true, frames: []string{evFrame("room", `{"command":"create","roomId":"r\u0000","roomName":"R"}`)}, want: wantCode("400", "roomId")},
		{name: "newline in room id", login: true, frames: []string{evFrame("room", `{"command":"create","roomId":"r\n","roomName":"R"}`)}, want: wantCode("400", "roomId")},
		{name: "C1 control in room id", login: true, frames: []string{evFrame("room", `{"command":"create","roomId":"r\u009b","roomName":"R"}`)}, want: wantCode("400", "roomId")},
		{name: "tab in room name", login: true, frames: []string{evFrame("room", `{"command":"create","roomId":"r","roomName":"R\t"}`)}, want: wantCode("400", "roomName")},
		{name: "control char in history target", login: true, frames: []string{evFrame("history", `{"target":"b\u0002ob"}`)}, want: outcome{codes: []string{"400", "404"}}},
		{name: "fullwidth digits in offset", frames: []string{evFrame("login", `{"id":"mallory","password":"secret-mallory","offset":"１"}`)}, want: wantCode("400", "offset")},
		{name: "fullwidth digits in before", login: true, frames: []string{evFrame("history", `{"target":"bob","before":"１"}`)}, want: wantCode("400", "before")},
	}
	return append(cs, fieldCases()...)
}

// fieldCases are the wrong field types and missing fields of every request.
func fieldCases() []badCase {
	var cs []badCase
	type req struct {
		event string
		login bool
		base  map[string]any
		// lenient: values of the wrong JSON type a field accepts anyway
		// (offset, before and limit take a number or a numeric string).
		lenient  map[string][]string
		required []string
	}
	reqs := []req{
		{event: "login", base: map[string]any{"id": "mallory", "password": "secret-mallory", "alias": "M", "today": "t", "offset": "0"},
			lenient: map[string][]string{"offset": {"42"}}, required: []string{"id", "password"}},
		{event: "message", login: true, base: map[string]any{"sender": "mallory", "recepient": "bob", "command": "chat", "type": "text", "data": "hi", "cid": "c1"},
			required: []string{"recepient", "command", "data"}},
		{event: "room", login: true, base: map[string]any{"command": "create", "roomId": "r1", "roomName": "R"},
			required: []string{"command", "roomId", "roomName"}},
		{event: "history", login: true, base: map[string]any{"target": "bob", "command": "chat", "before": "5", "limit": 10},
			lenient: map[string][]string{"before": {"42"}, "limit": {"42", `"10"`}}, required: []string{"target"}},
	}
	wrong := []string{"42", "-1.5", "true", "[]", `["x"]`, "{}", `{"a":"b"}`, `"10"`}
	for _, r := range reqs {
		for _, field := range slices.Sorted(mapKeys(r.base)) {
			orig, _ := json.Marshal(r.base[field])
			for _, w := range wrong {
				if w == string(orig) || slices.Contains(r.lenient[field], w) || (w == `"10"` && orig[0] == '"') {
					continue // not a wrong type for this field
				}
				p := withField(r.base, field, json.RawMessage(w))
				cs = append(cs, badCase{name: fmt.Sprintf("%s %s=%s", r.event, field, w), login: r.login,
					frames: []string{evFrame(r.event, p)}, want: wantCode("400", field)})
			}
		}
		for _, field := range r.required {
			p := withField(r.base, field, nil)
			cs = append(cs, badCase{name: fmt.Sprintf("%s without %s", r.event, field), login: r.login,
				frames: []string{evFrame(r.event, p)}, want: wantCode("400", field)})
		}
		for _, payload := range []string{`"str"`, `42`, `[]`, `true`} {
			cs = append(cs, badCase{name: fmt.Sprintf("%s payload %s", r.event, payload), login: r.login,
				frames: []string{evFrame(r.event, payload)}, want: wantCode("400", "payload")})
		}
	}
	return cs
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// withField returns base as JSON with field set to v (nil: removed).
func withField(base map[string]any, field string, v json.RawMessage) string {
	m := map[string]any{}
	for k, x := range base {
		m[k] = x
	}
	if v == nil {
		delete(m, field)
	} else {
		m[field] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// run sends the case's frames on a fresh connection and checks the outcome.
// token is a session of mallory, for the cases that need a login.
func (bc badCase) run(t *testing.T, ts *testServer, token string) {
	t.Helper()
	connect := bc.connect
	switch connect {
	case "":
		connect = "40"
	case "-":
		connect = ""
	}
	if bc.login { // a session token logs in without a bcrypt check
		connect = `40{"token":"` + token + `"}`
	}
	c := ts.dialBad(connect, "")
	defer c.close()
	typ := websocket.MessageText
	if bc.binary {
		typ = websocket.MessageBinary
	}
	for _, f := range bc.frames {
		c.send(typ, f)
	}
	w := bc.want
	switch {
	case w.connErr != "":
		var msg string
		ok := c.wait(func() bool {
			i := c.find("44")
			if i < 0 {
				return false
			}
			var e struct{ Message string }
			f := c.frames[i]
			json.Unmarshal([]byte(f[strings.IndexByte(f, '{'):]), &e)
			msg = e.Message
			return true
		})
		if !ok || msg != w.connErr {
			t.Fatalf("want CONNECT_ERROR %q, got %q; frames %.200q", w.connErr, msg, c.frames)
		}
	case w.close:
		st, ended := c.closed()
		if !ended {
			t.Fatalf("socket still open after 5 s; frames %.200q", c.frames)
		}
		if w.status != nil && !slices.Contains(w.status, st) {
			t.Fatalf("closed with %v, want one of %v", st, w.status)
		}
		c.mu.Lock()
		if c.find("431[") >= 0 {
			t.Errorf("an answer came before the close: %.200q", c.frames)
		}
		c.mu.Unlock()
		return
	case w.open:
	default:
		r, ok := c.ack(1)
		if !ok {
			st, _ := c.closed()
			t.Fatalf("no answer (close %v); frames %.200q", st, c.frames)
		}
		if !slices.Contains(w.codes, r.Code) || !strings.Contains(r.Message, w.field) || r.Command == "" && !strings.Contains(bc.frames[0], `[""`) {
			t.Fatalf("answer %+v, want code %v naming %q", r, w.codes, w.field)
		}
	}
	// The socket still works after an answer, a CONNECT_ERROR or input
	// that is ignored: on "/" if it joined, else by connecting now.
	if joined := strings.HasPrefix(connect, "40") && w.connErr == "" || connect == "40"; joined {
		c.send(websocket.MessageText, `4277["room",{"command":"list"}]`)
		if r, ok := c.ack(77); !ok || r.Command != "room" {
			st, _ := c.closed()
			t.Fatalf("socket unusable afterwards: %+v (close %v)", r, st)
		}
	} else {
		c.send(websocket.MessageText, "40")
		if !c.wait(func() bool { return c.find("40{") >= 0 }) {
			t.Fatalf("no CONNECT afterwards: %.200q", c.frames)
		}
	}
}

// TestBadInputMatrix runs every bad input of badCases, twice: each gets its
// outcome, nothing is stored, a second user keeps working throughout, and
// goroutines and heap come back to where they were.
func TestBadInputMatrix(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	bob, _ := ts.login("bob")
	m, mr := ts.login("mallory")
	m.close()
	cases := badCases()
	before := ts.storeSnapshot()

	var heaps []uint64
	time.Sleep(100 * time.Millisecond) // the logins' goroutines end
	base := runtime.NumGoroutine()
	for range 2 {
		heaps = append(heaps, heapInUse())
		for _, bc := range cases {
			t.Run(bc.name, func(t *testing.T) {
				tts := *ts
				tts.t = t
				bc.run(t, &tts, mr.Token)
				// The other users are unaffected: alice's request is
				// answered at once, and nothing was stored.
				start := time.Now()
				if r := alice.req("room", map[string]any{"command": "list"}); r.Code != "200" {
					t.Fatalf("alice after %s: %+v", bc.name, r)
				}
				alice.take("room", nil)
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("alice waited %v", d)
				}
				if after := ts.storeSnapshot(); after != before {
					t.Fatalf("stored: %+v, was %+v", after, before)
				}
			})
		}
	}
	heaps = append(heaps, heapInUse())
	n := settleGoroutines(t, base, 2)
	// Nothing of the bad sockets is left in the server's tables.
	ts.srv.clientsMu.RLock()
	clients := len(ts.srv.clients)
	ts.srv.clientsMu.RUnlock()
	ts.srv.hub.mu.RLock()
	online := len(ts.srv.hub.online)
	ts.srv.hub.mu.RUnlock()
	if conns := ts.srv.sio.Stats().Connections; clients != 2 || online != 2 || conns != 2 {
		t.Errorf("after the matrix: %d clients, %d online, %d sessions; want alice's and bob's only", clients, online, conns)
	}

	// A real message still goes through both ways.
	r := alice.req("message", map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "still here"})
	if got := bob.message(); r.Code != "200" || got.Data != "still here" {
		t.Fatalf("alice → bob after the matrix: %+v %+v", r, got)
	}
	t.Logf("%d cases × 2: goroutines %d before, %d after; heap in use %d KiB before, %d KiB after round 1, %d KiB after round 2",
		len(cases), base, n, heaps[0]>>10, heaps[1]>>10, heaps[2]>>10)
	if growth := int64(heaps[2]) - int64(heaps[1]); growth > 8<<20 {
		t.Errorf("heap grew by %d KiB over the second round", growth>>10)
	}
}

// TestBadInputPositiveControls are inputs next to the bad ones that must be
// accepted, so that the matrix cannot pass by refusing everything.
func TestBadInputPositiveControls(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	ts.login("bob")
	m, _ := ts.login("mallory")
	for _, tt := range []struct {
		payload map[string]any
		data    string
	}{
		{map[string]any{"recepient": "bob", "command": "chat", "data": "no type: text"}, "no type: text"},
		{map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "tab\tnewline\ncr\r"}, "tab\tnewline\ncr\r"},
		{map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": strings.Repeat("é", 4000)}, strings.Repeat("é", 4000)},
		// A lone surrogate escape decodes to U+FFFD: stored as valid UTF-8.
		{map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": json.RawMessage(`"a\ud800b"`)}, "a\ufffdb"},
	} {
		r := m.req("message", tt.payload)
		if r.Code != "200" {
			t.Fatalf("%v: %+v", tt.payload, r)
		}
		h := m.req("history", map[string]any{"target": "bob", "limit": 1})
		if len(h.Messages) != 1 || h.Messages[0].Data != tt.data {
			t.Fatalf("stored %+v, want %q", h.Messages, tt.data)
		}
	}
	if r := m.req("history", map[string]any{"target": "bob", "before": 42, "limit": "2"}); r.Code != "200" {
		t.Fatalf("numeric before, string limit: %+v", r)
	}
	c := ts.dialBad(`40{"offset":7}`, "")
	c.mu.Lock()
	ok := c.find("40{") >= 0
	c.mu.Unlock()
	if !ok {
		t.Fatalf("numeric offset in auth refused: %q", c.frames)
	}
}

// flood sends n requests made by req(i) on c, with ack ids 1..n and at
// most 256 unanswered at a time (a client that pipelines without bound
// would also queue its pongs behind its requests), and counts the codes
// of the answers.
func (c *rawClient) flood(n int, req func(i int) string) (codes map[string]int, took time.Duration) {
	c.t.Helper()
	const window = 256
	start := time.Now()
	codes = map[string]int{}
	seen := make([]bool, n+1)
	answered, sent, next := 0, 0, 0
	deadline := time.Now().Add(120 * time.Second)
	for answered < n {
		for sent < n && sent-answered < window {
			sent++
			c.send(websocket.MessageText, "42"+strconv.Itoa(sent)+req(sent))
		}
		if !c.wait(func() bool { return len(c.frames) > next || time.Now().After(deadline) }) {
			c.t.Fatalf("%d answers of %d; none for 5 s or the connection closed (%v)", answered, n, c.status)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d answers of %d after 120 s", answered, n)
		}
		c.mu.Lock()
		frames := c.frames[next:]
		next = len(c.frames)
		c.mu.Unlock()
		for _, f := range frames {
			// 43<id>[{"command":…,"code":"429",…}]: a scan, not a
			// decode, keeps 10,000 answers cheap under -race.
			if !strings.HasPrefix(f, "43") {
				continue
			}
			j := strings.IndexByte(f, '[')
			id, err := strconv.Atoi(f[2:max(j, 2)])
			k := strings.Index(f, `"code":"`)
			if err != nil || id < 1 || id > n || seen[id] || k < 0 || len(f) < k+11 {
				c.t.Fatalf("bad or repeated ack %.200q", f)
			}
			seen[id] = true
			answered++
			codes[f[k+8:k+11]]++
		}
	}
	return codes, time.Since(start)
}

// waitLimit is the longest another user may wait for an answer during a
// flood that took took: well under the flood (she is not queued behind
// it), loose enough for a shared machine under -race.
func waitLimit(took time.Duration) time.Duration {
	return min(5*time.Second, max(time.Second, took/3))
}

// probeWait measures how long alice waits for an answer while a flood runs.
func probeWait(t *testing.T, alice *tc, stop <-chan struct{}) func() (max time.Duration, n int) {
	var worst time.Duration
	count := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			if r := alice.req("history", map[string]any{"target": "bob", "limit": 1}); r.Code != "200" {
				t.Errorf("alice during the flood: %+v", r)
				return
			}
			worst = max(worst, time.Since(start))
			count++
		}
	}()
	return func() (time.Duration, int) { <-done; return worst, count }
}

// soakMode reports whether the long variants run (CHATAPP_SOAK=1, make soak).
func soakMode() bool { return os.Getenv("CHATAPP_SOAK") == "1" }

// TestFloodRateLimited: 10,000 messages and 10,000 room creations sent
// back to back by one user with the default rate limit (20/s, burst 40):
// the excess is answered 429 (rooms past --max-rooms 403) and not stored;
// another user's requests are answered promptly meanwhile; nothing leaks.
func TestFloodRateLimited(t *testing.T) { runFlood(t, Config{}, 10_000, 10_000) }

// TestFloodUnlimited: the same with the rate limit off. Every message is
// stored and delivered in order; the first 100 rooms (--max-rooms) are
// created, the rest refused with 403. Short run: 1,000 messages (slow
// under -race); CHATAPP_SOAK=1: 10,000.
func TestFloodUnlimited(t *testing.T) {
	if soakMode() {
		runFlood(t, Config{MsgRate: -1}, 10_000, 10_000)
		return
	}
	runFlood(t, Config{MsgRate: -1}, 1000, 10_000)
}

func runFlood(t *testing.T, cfg Config, n, rooms int) {
	limited := cfg.MsgRate >= 0
	ts := newTestServer(t, cfg)
	alice, _ := ts.login("alice")
	bob, _ := ts.login("bob")
	m, mr := ts.login("mallory")
	m.close()
	base := runtime.NumGoroutine()
	before := ts.storeSnapshot()

	// Messages.
	c := ts.dialBad(`40{"token":"`+mr.Token+`"}`, "")
	stop := make(chan struct{})
	waitProbe := probeWait(t, alice, stop)
	codes, took := c.flood(n, func(i int) string {
		return `["message",{"recepient":"bob","command":"chat","type":"text","data":"flood ` + strconv.Itoa(i) + `"}]`
	})
	close(stop)
	worst, probes := waitProbe()
	ok := codes["200"]
	stored := int(ts.st.LastSeq() - before.lastSeq)
	if limited {
		allowed := 40 + int(20*took.Seconds()) + 1
		if ok < 30 || ok > allowed || codes["429"] != n-ok {
			t.Errorf("messages: %v in %v; want at most %d answered 200, the rest 429", codes, took, allowed)
		}
	} else if ok != n {
		t.Errorf("messages: %v, want all %d answered 200", codes, n)
	}
	if stored != ok {
		t.Errorf("%d messages answered 200, %d stored", ok, stored)
	}
	for i := range ok {
		if got := bob.message(); got.Sender != "mallory" || i > 0 && !strings.HasPrefix(got.Data, "flood ") {
			t.Fatalf("bob's message %d: %+v", i, got)
		}
	}
	bob.none("message", 50*time.Millisecond)
	t.Logf("%d messages in %v: %v; %d stored; alice's worst wait %v over %d requests", n, took.Round(time.Millisecond), codes, stored, worst.Round(time.Millisecond), probes)
	if limit := waitLimit(took); worst > limit {
		t.Errorf("alice waited %v during the message flood of %v (limit %v)", worst, took, limit)
	}
	c.close()

	// Rooms. Every creation sends the whole room list to every socket
	// (see roomchurn_bug_test.go); --max-rooms stops one user at 100.
	c = ts.dialBad(`40{"token":"`+mr.Token+`"}`, "")
	stop = make(chan struct{})
	waitProbe = probeWait(t, alice, stop)
	codes, took = c.flood(rooms, func(i int) string {
		return `["room",{"command":"create","roomId":"r` + strconv.Itoa(i) + `","roomName":"R"}]`
	})
	close(stop)
	worst, probes = waitProbe()
	list, err := ts.st.Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ok = codes["200"]
	capped := ts.srv.cfg.MaxRoomsPerUser // --max-rooms: 403 past it
	if limited {
		allowed := min(capped, 40+int(20*took.Seconds())+1)
		if ok < min(30, capped) || ok > allowed || codes["200"]+codes["403"]+codes["429"] != rooms || ok < capped && codes["403"] > 0 {
			t.Errorf("rooms: %v in %v; want at most %d answered 200, the rest 429 (403 past %d rooms)", codes, took, allowed, capped)
		}
	} else if want := min(rooms, capped); ok != want || codes["403"] != rooms-want {
		t.Errorf("rooms: %v, want %d answered 200 and the rest 403 (--max-rooms %d)", codes, want, capped)
	}
	if len(list) != ok {
		t.Errorf("%d rooms answered 200, %d stored", ok, len(list))
	}
	t.Logf("%d room creations in %v: %v; %d stored; alice's worst wait %v over %d requests", rooms, took.Round(time.Millisecond), codes, len(list), worst.Round(time.Millisecond), probes)
	if limit := waitLimit(took); worst > limit {
		t.Errorf("alice waited %v during the room flood of %v (limit %v)", worst, took, limit)
	}
	c.close()
	alice.close()
	bob.close()
	settleGoroutines(t, base, 2)
}
