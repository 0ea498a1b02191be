package shared

// Fuzz targets for every event payload, decoded and validated the way the
// server does (server/handlers.go, server/client.go): Decode, then the
// validators. None may panic; an error is a 400 (413 for long text) that
// names a field; what passes has the properties the store and the other
// clients rely on. `make fuzz` runs each for a while, `make fuzz-ci` for a
// few seconds.

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// payloadSeeds are shapes every payload target starts from.
var payloadSeeds = []string{
	``, `null`, `{}`, `[]`, `"x"`, `42`, `true`, `{"a":1}`, `{`, `{"id":`, `{"id":"a"}}`,
	`{"id":"\ud800"}`, "{\"id\":\"\xff\"}", `{"id":"a\u0000b"}`, `{"id":[[[[[]]]]]}`,
	`{"id":1e400}`, `{"id":"` + strings.Repeat("é", 40) + `"}`,
}

func addSeeds(f *testing.F, extra ...string) {
	for _, s := range append(payloadSeeds, extra...) {
		f.Add([]byte(s))
	}
}

// checkRefusal checks a Decode or validator error: 400 (or 413 when allowed)
// with a message that names what is wrong.
func checkRefusal(t *testing.T, in []byte, err *Error, field string, allow413 bool) {
	t.Helper()
	if err.Code != CodeBadRequest && !(allow413 && err.Code == CodeTooLarge) {
		t.Fatalf("%q: code %s (%s)", in, err.Code, err.Message)
	}
	if err.Message == "" || field != "" && !strings.Contains(err.Message, field) {
		t.Fatalf("%q: %q does not name %q", in, err.Message, field)
	}
}

// checkText checks what ValidText accepted: valid UTF-8, at most max
// code points, no control or unassigned characters, and no format
// characters but joiners between two visible characters.
func checkText(t *testing.T, field, s string, max int) {
	t.Helper()
	if err := ValidText(field, s, max); err != nil {
		checkRefusal(t, []byte(s), err, field, false)
		return
	}
	if !utf8.ValidString(s) || RuneLen(s) > max || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		t.Fatalf("ValidText accepted %s %q", field, s)
	}
	rs := []rune(s)
	for i, r := range rs {
		if !assigned(r) {
			t.Fatalf("ValidText accepted %s %q with unassigned %U", field, s, r)
		}
		if unicode.Is(unicode.Cf, r) && (r != '\u200c' && r != '\u200d' || i == 0 || i == len(rs)-1 ||
			!unicode.IsGraphic(rs[i-1]) || !unicode.IsGraphic(rs[i+1]) || unicode.IsSpace(rs[i-1]) || unicode.IsSpace(rs[i+1])) {
			t.Fatalf("ValidText accepted %s %q with format character %U", field, s, r)
		}
	}
}

// checkName checks what ValidName accepted: what ValidText accepts, and
// nothing whose NFKC form, trimmed, folds to ALL.
func checkName(t *testing.T, field, s string, max int) {
	t.Helper()
	if err := ValidName(field, s, max); err != nil {
		checkRefusal(t, []byte(s), err, field, false)
		return
	}
	checkText(t, field, s, max)
	if Fold(strings.TrimFunc(norm.NFKC.String(s), unicode.IsSpace)) == Fold(All) {
		t.Fatalf("ValidName accepted %s %q, which reads as ALL", field, s)
	}
}

// checkOffset parses an offset field as the server does and checks that an
// accepted one is a non-negative seq that survives a round trip.
func checkOffset(t *testing.T, field string, raw json.RawMessage) {
	t.Helper()
	seq, ok, err := ParseOffset(raw)
	if err != nil || !ok {
		if err == nil && strings.TrimSpace(string(raw)) != "" && strings.TrimSpace(string(raw)) != "null" {
			t.Fatalf("%s %q: neither a seq nor absent", field, raw)
		}
		return
	}
	if seq < 0 {
		t.Fatalf("%s %q parsed as %d", field, raw, seq)
	}
	b, _ := json.Marshal(seq)
	if again, ok2, err := ParseOffset(b); err != nil || !ok2 || again != seq {
		t.Fatalf("%s %q: %d does not round-trip through %s", field, raw, seq, b)
	}
	if p, err := ParseSeq(seq.String()); err != nil || p != seq {
		t.Fatalf("%s %q: ParseSeq(%q) = %d, %v", field, raw, seq.String(), p, err)
	}
}

// decodeOK decodes payload into v and reports whether it was accepted; a
// refusal must be a 400 naming the payload or a field of v's JSON.
func decodeOK(t *testing.T, payload []byte, v any) bool {
	t.Helper()
	if err := Decode(payload, v); err != nil {
		checkRefusal(t, payload, err, "", false)
		if !strings.HasPrefix(err.Message, "invalid ") {
			t.Fatalf("%q: Decode error %q does not say what is invalid", payload, err.Message)
		}
		return false
	}
	return true
}

// checkStrings fails if any string field decoded from JSON is not valid
// UTF-8: Decode must never hand invalid UTF-8 to the store.
func checkStrings(t *testing.T, in []byte, ss ...string) {
	t.Helper()
	for _, s := range ss {
		if !utf8.ValidString(s) {
			t.Fatalf("%q decoded to invalid UTF-8 %q", in, s)
		}
	}
}

// FuzzLoginPayload: login {id, password, alias, today, offset}.
func FuzzLoginPayload(f *testing.F) {
	addSeeds(f,
		`{"id":"alice","password":"secret1"}`,
		`{"id":"Alice.B-c_9","password":"secret1","alias":"Al","today":"busy","offset":"12"}`,
		`{"id":"ALL","password":"secret1"}`, `{"id":"all","password":"x","offset":7}`,
		`{"id":"a","password":"p","alias":null,"today":"\u001b[31m"}`,
		`{"id":"a","password":"p","offset":"-1"}`, `{"id":"a","password":"p","offset":{"x":1}}`,
		`{"id":"a","password":"p","offset":"1234567890123456789"}`, `{"id":"ａ","password":"p"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req Login
		if !decodeOK(t, payload, &req) {
			return
		}
		checkStrings(t, payload, req.ID, req.Password)
		if err := ValidUserID("id", req.ID); err != nil {
			checkRefusal(t, payload, err, "id", false)
		} else {
			if req.ID == "" || len(req.ID) > MaxUserID || strings.EqualFold(req.ID, All) {
				t.Fatalf("accepted id %q", req.ID)
			}
			for i := 0; i < len(req.ID); i++ {
				if c := req.ID[i]; c >= utf8.RuneSelf || !(unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.IndexByte("_.-", c) >= 0) {
					t.Fatalf("accepted id %q with %q", req.ID, c)
				}
			}
			if Fold(req.ID) != strings.ToLower(req.ID) {
				t.Fatalf("Fold(%q) = %q", req.ID, Fold(req.ID))
			}
		}
		if req.Alias != nil {
			checkStrings(t, payload, *req.Alias)
			checkName(t, "alias", *req.Alias, MaxAlias)
		}
		if req.Today != nil {
			checkStrings(t, payload, *req.Today)
			checkText(t, "today", *req.Today, MaxToday)
		}
		checkOffset(t, "offset", req.Offset)
		// What decoded re-encodes and decodes to the same request.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		var again Login
		if err := Decode(b, &again); err != nil || again.ID != req.ID || again.Password != req.Password ||
			(again.Alias == nil) != (req.Alias == nil) || (again.Today == nil) != (req.Today == nil) {
			t.Fatalf("round trip of %q: %+v → %s → %+v (%v)", payload, req, b, again, err)
		}
	})
}

// FuzzMessagePayload: message {sender, recepient, command, type, data, cid}.
func FuzzMessagePayload(f *testing.F) {
	addSeeds(f,
		`{"recepient":"bob","command":"chat","type":"text","data":"hi"}`,
		`{"sender":"alice","recepient":"ALL","command":"chat","type":"text","data":"a\nb\tc","cid":"c-1"}`,
		`{"recepient":"room","command":"groupchat","data":"x"}`,
		`{"recepient":"bob","command":"chat","type":"text","data":""}`,
		`{"recepient":"bob","command":"chat","type":"text","data":"a\u0000b"}`,
		`{"recepient":"bob","command":"chat","type":"text","data":"`+strings.Repeat("x", 4001)+`"}`,
		`{"recepient":"bob","command":"chat","type":"text","data":5}`, `{"cid":{"a":true}}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req SendMessage
		if !decodeOK(t, payload, &req) {
			return
		}
		checkStrings(t, payload, req.Sender, req.Recipient, req.Command, req.Type, req.Data, req.CID)
		if err := ValidMessageText(req.Data, DefaultMaxText); err != nil {
			checkRefusal(t, payload, err, "data", true)
			if err.Code == CodeTooLarge && RuneLen(req.Data) <= DefaultMaxText {
				t.Fatalf("413 for %d characters", RuneLen(req.Data))
			}
		} else {
			if req.Data == "" || RuneLen(req.Data) > DefaultMaxText || !utf8.ValidString(req.Data) {
				t.Fatalf("accepted data %q", req.Data)
			}
			for _, r := range req.Data {
				if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
					t.Fatalf("accepted data with %U", r)
				}
			}
		}
		checkText(t, "cid", req.CID, MaxCID)
		// The stored message, as delivered, is valid JSON that decodes to
		// the same text.
		m := Message{Seq: 1, Sender: req.Sender, Recipient: req.Recipient, Command: req.Command, Type: req.Type, Data: req.Data, CID: req.CID}
		frame, err := EventFrame(EventMessage, m)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodePacket(frame[1:])
		if err != nil {
			t.Fatalf("frame %q of %q: %v", frame, payload, err)
		}
		_, args, err := EventArgs(p.Data)
		var back Message
		if err != nil || len(args) != 1 || json.Unmarshal(args[0], &back) != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("frame %q does not decode back to %+v: %+v %v", frame, m, back, err)
		}
	})
}

// FuzzRoomPayload: room {command, roomId, roomName}.
func FuzzRoomPayload(f *testing.F) {
	addSeeds(f,
		`{"command":"create","roomId":"Lobby","roomName":"The lobby"}`,
		`{"command":"join","roomId":"lobby"}`, `{"command":"list"}`,
		`{"command":"create","roomId":"all","roomName":"x"}`, `{"command":"create","roomId":"ＡＬＬ","roomName":"ᴬᴸᴸ"}`,
		`{"command":"create","roomId":"a\u202eb","roomName":"x\u200by"}`, `{"command":"create","roomId":"r","roomName":"👩\u200d💻"}`, `{"command":"create","roomId":"ΣΊΣΥΦΟΣ","roomName":"x"}`,
		`{"command":"create","roomId":"r\n","roomName":"x"}`, `{"command":"update","roomId":"\u212a","roomName":""}`,
		`{"command":"create","roomId":"`+strings.Repeat("r", 65)+`","roomName":"x"}`, `{"roomOwner":"bob"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req RoomRequest
		if !decodeOK(t, payload, &req) {
			return
		}
		checkStrings(t, payload, req.Command, req.RoomID, req.RoomName)
		if err := ValidRoomID("roomId", req.RoomID); err != nil {
			checkRefusal(t, payload, err, "roomId", false)
		} else {
			checkName(t, "roomId", req.RoomID, MaxRoomID)
			if strings.ContainsAny(req.RoomID, "\u200c\u200d") {
				t.Fatalf("accepted room id %q with a joiner", req.RoomID)
			}
			k := Fold(req.RoomID)
			if req.RoomID == "" || k == Fold(All) || Fold(k) != k || !strings.EqualFold(k, req.RoomID) {
				t.Fatalf("accepted room id %q (folded %q)", req.RoomID, k)
			}
		}
		checkName(t, "roomName", req.RoomName, MaxRoomName)
	})
}

// FuzzHistoryPayload: history {target, command, before, limit}.
func FuzzHistoryPayload(f *testing.F) {
	addSeeds(f,
		`{"target":"bob"}`, `{"target":"lobby","command":"groupchat","before":"12","limit":10}`,
		`{"target":"ALL","before":12,"limit":"100"}`, `{"target":"x","before":"x"}`, `{"target":"x","limit":1.5}`,
		`{"target":"x","before":-1}`, `{"target":"x","limit":[]}`, `{"target":"x","before":"000000000000000001"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req HistoryRequest
		if !decodeOK(t, payload, &req) {
			return
		}
		checkStrings(t, payload, req.Target, req.Command)
		checkOffset(t, "before", req.Before)
	})
}

// FuzzAuthPayload: the CONNECT auth object {token, offset}, decoded as
// server.Connect does (json.Unmarshal, then ParseOffset).
func FuzzAuthPayload(f *testing.F) {
	addSeeds(f,
		`{"token":"abc"}`, `{"token":"abc","offset":"12"}`, `{"offset":12}`, `{"offset":"x"}`,
		`{"token":123}`, `{"offset":{"a":1}}`, `{"offset":"-1"}`, `{"offset":1.5}`, `{"offset":"１２"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var a Auth
		if json.Unmarshal(payload, &a) != nil {
			return // CONNECT_ERROR "invalid offset"
		}
		checkStrings(t, payload, a.Token)
		checkOffset(t, "offset", a.Offset)
	})
}

// FuzzSeq: a seq from JSON (string or number) is never negative and
// round-trips.
func FuzzSeq(f *testing.F) {
	for _, s := range []string{`"1"`, `1`, `"0"`, `null`, `"-1"`, `"1.5"`, `1e3`, `"999999999999999999"`, `"1000000000000000000"`, `""`, `"`, `"\u0031"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Seq
		if err := s.UnmarshalJSON(b); err != nil || string(b) == "null" {
			return
		}
		if s < 0 {
			t.Fatalf("%q → %d", b, s)
		}
		out, _ := s.MarshalJSON()
		var again Seq
		if err := json.Unmarshal(out, &again); err != nil || again != s {
			t.Fatalf("%q → %d → %s → %d (%v)", b, s, out, again, err)
		}
	})
}

// FuzzFoldOrbit: ids that differ only by case (any member of each rune's
// simple folding orbit) fold to the same key, so "Alice" and "alice"
// cannot both exist.
func FuzzFoldOrbit(f *testing.F) {
	for _, s := range []string{"alice", "ΣΊΣΥΦΟΣ", "ς", "\u212a", "ſ", "ǅ", "İı", "ß", "Ꭰ", "ﬀ"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, s string, steps uint8) {
		if !utf8.ValidString(s) {
			return
		}
		other := strings.Map(func(r rune) rune {
			for range int(steps) % 4 {
				r = unicode.SimpleFold(r)
			}
			return r
		}, s)
		if !strings.EqualFold(s, other) {
			t.Fatalf("EqualFold(%q, %q) is false", s, other)
		}
		if Fold(s) != Fold(other) {
			t.Fatalf("%q and %q differ only by case but fold to %q and %q", s, other, Fold(s), Fold(other))
		}
	})
}
