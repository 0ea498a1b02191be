package shared

import (
	"encoding/json"
	"testing"
)

// FuzzDecodePacket checks that DecodePacket never panics, that what it
// accepts re-encodes to a packet that decodes to the same value, and that
// EventArgs accepts every EVENT payload DecodePacket accepts.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{
		`0`, `0{"token":"123"}`, `0/admin,`, `0/random`, `0/admin,{"token":"x"}`,
		`1`, `1/custom`, `1/custom,`,
		`2["message",1,"2",{"3":[true]}]`, `2456["message-with-ack",1,"2",{"3":[false]}]`,
		`2/admin,13["news",1]`, `2 [ "x" , 1 ]`, `2[42]`, `2["\u0063onnect"]`,
		`3[]`, `35[{"code":200}]`, `3/a,7["x",{"y":null}]`,
		`4{"message":"Invalid namespace"}`, `4/random,{"message":"Invalid namespace"}`, `4"x"`,
		`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`510-/a,3["up"]`,
		`abc`, `2{}`, `2abc[`, `0[]`, `1{}`, `50-[]`, `5-`, `2[`, "2[\"\xff\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePacket(b)
		if err != nil {
			return
		}
		if p.Type > PacketBinaryAck || p.Nsp == "" || p.ID < -1 {
			t.Fatalf("DecodePacket(%q) = %+v: out of range", b, p)
		}
		if p.Type.IsBinary() != (p.Attachments > 0) || p.Attachments > MaxAttachments {
			t.Fatalf("DecodePacket(%q) = %+v: bad attachments", b, p)
		}
		enc := AppendPacket(nil, p)
		q, err := DecodePacket(enc)
		if err != nil {
			t.Fatalf("DecodePacket(AppendPacket(%+v)) = %q: %v", p, enc, err)
		}
		if !packetEqual(p, q) {
			t.Fatalf("round trip of %q: %+v != %+v", b, q, p)
		}
		if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
			if _, _, err := EventArgs(p.Data); err != nil {
				t.Fatalf("EventArgs(%s) of an accepted event: %v", p.Data, err)
			}
		}
		if p.Type == PacketEvent || p.Type == PacketAck || p.Type.IsBinary() {
			if !json.Valid(p.Data) {
				t.Fatalf("accepted invalid JSON %q", p.Data)
			}
		}
	})
}
