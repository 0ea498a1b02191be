package shared

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodePacketValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Packet
	}{
		{`0`, Packet{Type: PacketConnect, Nsp: "/", ID: -1}},
		{`0{"token":"123"}`, Packet{Type: PacketConnect, Nsp: "/", ID: -1, Data: json.RawMessage(`{"token":"123"}`)}},
		{`0/admin,`, Packet{Type: PacketConnect, Nsp: "/admin", ID: -1}},
		{`0/admin`, Packet{Type: PacketConnect, Nsp: "/admin", ID: -1}},
		{`0/random`, Packet{Type: PacketConnect, Nsp: "/random", ID: -1}},
		{`0/admin,{"token":"x"}`, Packet{Type: PacketConnect, Nsp: "/admin", ID: -1, Data: json.RawMessage(`{"token":"x"}`)}},
		{`0/,{}`, Packet{Type: PacketConnect, Nsp: "/", ID: -1, Data: json.RawMessage(`{}`)}},
		{`1`, Packet{Type: PacketDisconnect, Nsp: "/", ID: -1}},
		{`1/custom`, Packet{Type: PacketDisconnect, Nsp: "/custom", ID: -1}},
		{`1/custom,`, Packet{Type: PacketDisconnect, Nsp: "/custom", ID: -1}},
		{`2["chat","hi"]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`["chat","hi"]`)}},
		{`2[1,"2"]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`[1,"2"]`)}},
		{`2[-1.5e3]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`[-1.5e3]`)}},
		{`2 [ "x" ]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(` [ "x" ]`)}},
		{`2["Connect"]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`["Connect"]`)}},
		{`25["join",{"room":"a"}]`, Packet{Type: PacketEvent, Nsp: "/", ID: 5, Data: json.RawMessage(`["join",{"room":"a"}]`)}},
		{`2456["message-with-ack",1,"2",{"3":[false]}]`, Packet{Type: PacketEvent, Nsp: "/", ID: 456, Data: json.RawMessage(`["message-with-ack",1,"2",{"3":[false]}]`)}},
		{`2/admin,13["news",1]`, Packet{Type: PacketEvent, Nsp: "/admin", ID: 13, Data: json.RawMessage(`["news",1]`)}},
		{`2007["x"]`, Packet{Type: PacketEvent, Nsp: "/", ID: 7, Data: json.RawMessage(`["x"]`)}},
		{`3[]`, Packet{Type: PacketAck, Nsp: "/", ID: -1, Data: json.RawMessage(`[]`)}},
		{`35[{"code":200}]`, Packet{Type: PacketAck, Nsp: "/", ID: 5, Data: json.RawMessage(`[{"code":200}]`)}},
		{`4{"message":"no"}`, Packet{Type: PacketConnectError, Nsp: "/", ID: -1, Data: json.RawMessage(`{"message":"no"}`)}},
		{`4/x,"no"`, Packet{Type: PacketConnectError, Nsp: "/x", ID: -1, Data: json.RawMessage(`"no"`)}},
		{`51-["up",{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryEvent, Nsp: "/", ID: -1, Attachments: 1, Data: json.RawMessage(`["up",{"_placeholder":true,"num":0}]`)}},
		{`510-/a,3["up"]`, Packet{Type: PacketBinaryEvent, Nsp: "/a", ID: 3, Attachments: 10, Data: json.RawMessage(`["up"]`)}},
		{`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, Packet{Type: PacketBinaryAck, Nsp: "/", ID: 789, Attachments: 2, Data: json.RawMessage(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
		{`2["é",true]`, Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: json.RawMessage(`["é",true]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DecodePacket([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodePacket(%q): %v", tt.in, err)
			}
			if !packetEqual(got, tt.want) {
				t.Fatalf("DecodePacket(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// Decoding an encoding gives the same packet back.
			again, err := DecodePacket(AppendPacket(nil, got))
			if err != nil || !packetEqual(again, got) {
				t.Fatalf("round trip of %q: %+v, %v", tt.in, again, err)
			}
		})
	}
}

func TestDecodePacketInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
	}{
		{"empty", ``},
		{"type a (engine 4abc)", `abc`},
		{"type 7", `7["x"]`},
		{"type space", ` ["x"]`},
		{"event object", `2{}`},
		{"event not json", `2abc[`},
		{"event abc[…]", `2abc["x"]`},
		{"event truncated", `2["message",1`},
		{"event empty array", `2[]`},
		{"event no payload", `2`},
		{"event nsp no payload", `2/admin,`},
		{"event name object", `2[{"a":1}]`},
		{"event name null", `2[null]`},
		{"event name bool", `2[true,1]`},
		{"event name array", `2[["x"]]`},
		{"event string payload", `2"x"`},
		{"reserved connect", `2["connect"]`},
		{"reserved escaped", `2["\u0063onnect"]`},
		{"reserved disconnect", `21["disconnect",1]`},
		{"reserved connect_error", `2["connect_error"]`},
		{"reserved disconnecting", `2["disconnecting"]`},
		{"reserved newListener", `2["newListener"]`},
		{"reserved removeListener", `2/a,["removeListener"]`},
		{"connect array", `0[]`},
		{"connect string", `0"x"`},
		{"connect null", `0null`},
		{"connect number", `0/a,{}x`},
		{"disconnect object", `1{}`},
		{"disconnect array", `1/a,[]`},
		{"ack object", `31{}`},
		{"ack no payload", `31`},
		{"connect_error array", `4[]`},
		{"connect_error number", `4/a,"x"1`},
		{"binary no count", `5["x"]`},
		{"binary no dash", `51["x"]`},
		{"binary zero", `50-["x"]`},
		{"binary eleven", `511-["x"]`},
		{"binary huge", `599999999999-["x"]`},
		{"binary negative", `5-1-["x"]`},
		{"binary only count", `51-`},
		{"binary ack object", `61-1{}`},
		{"ack id overflow", `29999999999999999999["x"]`},
		{"bad utf8 data", "2[\"\xff\"]"},
		{"bad utf8 nsp", "0/\xfe,{}"},
		{"trailing garbage", `2["x"]]`},
		{"two values", `2["x"] ["y"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodePacket([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodePacket(%q) = %+v, want an error", tt.in, p)
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("DecodePacket(%q) error %v does not wrap ErrInvalidPacket", tt.in, err)
			}
		})
	}
}

func TestDecodePacketRejectsWithoutAllocating(t *testing.T) {
	for _, in := range []string{"abc", "2{}", `50-["x"]`, "1{}"} {
		b := []byte(in)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := DecodePacket(b); err == nil {
				t.Fatal("want error")
			}
		})
		if allocs != 0 {
			t.Errorf("DecodePacket(%q) allocates %v times on error", in, allocs)
		}
	}
}

func TestAppendPacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: PacketConnect, Nsp: "/", ID: -1, Data: json.RawMessage(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{Packet{Type: PacketConnect, Nsp: "/custom", ID: -1, Data: json.RawMessage(`{"sid":"x"}`)}, `0/custom,{"sid":"x"}`},
		{Packet{Type: PacketConnect, ID: -1}, `0`},
		{Packet{Type: PacketDisconnect, Nsp: "/", ID: -1}, `1`},
		{Packet{Type: PacketDisconnect, Nsp: "/a", ID: -1}, `1/a,`},
		{Packet{Type: PacketEvent, Nsp: "/", ID: 0, Data: json.RawMessage(`["x"]`)}, `20["x"]`},
		{Packet{Type: PacketAck, Nsp: "/a", ID: 13, Data: json.RawMessage(`[]`)}, `3/a,13[]`},
		{Packet{Type: PacketConnectError, Nsp: "/random", ID: -1, Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
		{Packet{Type: PacketBinaryEvent, Nsp: "/", ID: -1, Attachments: 2, Data: json.RawMessage(`["x"]`)}, `52-["x"]`},
		{Packet{Type: PacketBinaryAck, Nsp: "/", ID: 789, Attachments: 1, Data: json.RawMessage(`[]`)}, `61-789[]`},
	}
	for _, tt := range tests {
		if got := string(AppendPacket([]byte("pre"), tt.p)); got != "pre"+tt.want {
			t.Errorf("AppendPacket(%+v) = %q, want %q", tt.p, got, "pre"+tt.want)
		}
	}
}

func TestEventArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		name string
		args []string
	}{
		{`["message"]`, "message", nil},
		{`["message",1,"2",{"3":[true]}]`, "message", []string{`1`, `"2"`, `{"3":[true]}`}},
		{` [ "a" , [1,[2,"]"]] , "x\"]," ,null,false , -0.5e+2 ] `, "a", []string{`[1,[2,"]"]]`, `"x\"],"`, `null`, `false`, `-0.5e+2`}},
		{`["\u00e9\n",{"a":"}"}]`, "é\n", []string{`{"a":"}"}`}},
		{`[42,"x"]`, "42", []string{`"x"`}},
		{`["m",{"_placeholder":true,"num":0}]`, "m", []string{`{"_placeholder":true,"num":0}`}},
	}
	for _, tt := range tests {
		name, args, err := EventArgs(json.RawMessage(tt.in))
		if err != nil {
			t.Errorf("EventArgs(%s): %v", tt.in, err)
			continue
		}
		if name != tt.name || len(args) != len(tt.args) {
			t.Errorf("EventArgs(%s) = %q, %q; want %q, %q", tt.in, name, args, tt.name, tt.args)
			continue
		}
		for i := range args {
			if string(args[i]) != tt.args[i] {
				t.Errorf("EventArgs(%s) arg %d = %s, want %s", tt.in, i, args[i], tt.args[i])
			}
		}
	}
	for _, bad := range []string{``, `{}`, `[]`, `[null]`, `[{"a":1}]`, `["a"`, `"a"`, `[true]`} {
		if _, _, err := EventArgs(json.RawMessage(bad)); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("EventArgs(%s) error = %v, want ErrInvalidPacket", bad, err)
		}
	}
}

func TestEventFrame(t *testing.T) {
	t.Parallel()
	f, err := EventFrame("message", map[string]string{"data": "<b>&</b>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `42["message",{"data":"<b>&</b>"}]`; string(f) != want {
		t.Fatalf("EventFrame = %s, want %s", f, want)
	}
	f, err = EventFrame(`a"b`, json.RawMessage(` { "x" : 1 } `))
	if err != nil {
		t.Fatal(err)
	}
	if want := `42["a\"b",{"x":1}]`; string(f) != want {
		t.Fatalf("EventFrame = %s, want %s", f, want)
	}
	// The frame decodes as an EVENT.
	p, err := DecodePacket(f[1:])
	if err != nil || p.Type != PacketEvent {
		t.Fatalf("DecodePacket(EventFrame) = %+v, %v", p, err)
	}
	if _, err := EventFrame("x", func() {}); err == nil {
		t.Fatal("EventFrame with a func: want an error")
	}
}

func TestAckFrame(t *testing.T) {
	t.Parallel()
	f, err := AckFrame(13, Response{Command: "login", Code: CodeOK, Message: "a<b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `4313[{"command":"login","code":"200","message":"a<b"}]`; string(f) != want {
		t.Fatalf("AckFrame = %s, want %s", f, want)
	}
	f, err = AckFrame(0, nil)
	if err != nil || string(f) != `430[null]` {
		t.Fatalf("AckFrame(0, nil) = %s, %v", f, err)
	}
	if _, err := AckFrame(-1, nil); err == nil {
		t.Fatal("AckFrame(-1): want an error")
	}
}

func TestEngineOpen(t *testing.T) {
	t.Parallel()
	f := AppendEngineOpen(nil, EngineOpen{SID: "abc", PingInterval: 25000, PingTimeout: 20000, MaxPayload: 65536})
	want := `0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}`
	if string(f) != want {
		t.Fatalf("AppendEngineOpen = %s, want %s", f, want)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(f[1:], &keys); err != nil || len(keys) != 5 {
		t.Fatalf("open packet keys: %v, %v", keys, err)
	}
	o, err := ParseEngineOpen(f)
	if err != nil || o.SID != "abc" || o.PingInterval != 25000 || o.Upgrades == nil {
		t.Fatalf("ParseEngineOpen = %+v, %v", o, err)
	}
	for _, bad := range []string{``, `4{}`, `0{`, `0{"sid":""}`, `0{"sid":"x","pingInterval":0,"pingTimeout":1}`} {
		if _, err := ParseEngineOpen([]byte(bad)); err == nil {
			t.Errorf("ParseEngineOpen(%q): want an error", bad)
		}
	}
}

func TestPacketTypeString(t *testing.T) {
	if PacketBinaryAck.String() != "BINARY_ACK" || PacketType(9).String() != "PacketType(9)" {
		t.Fatal(PacketBinaryAck.String(), PacketType(9).String())
	}
}

func packetEqual(a, b Packet) bool {
	return a.Type == b.Type && a.Nsp == b.Nsp && a.ID == b.ID && a.Attachments == b.Attachments &&
		bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

func BenchmarkDecodePacket(b *testing.B) {
	in := []byte(`2/chat,12["message",{"recepient":"ALL","command":"chat","type":"text","data":"` + strings.Repeat("x", 200) + `"}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodePacket(in); err != nil {
			b.Fatal(err)
		}
	}
}
