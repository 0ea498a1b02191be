package shared

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidUserID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"alice", true}, {"A.b-c_9", true}, {strings.Repeat("x", 32), true},
		{"", false}, {strings.Repeat("x", 33), false}, {"a b", false}, {"ä", false},
		{"ALL", false}, {"all", false}, {"a/b", false}, {"a\x00", false},
	} {
		if err := ValidUserID("id", tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidUserID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		} else if err != nil && (err.Code != CodeBadRequest || !strings.Contains(err.Message, "id")) {
			t.Errorf("ValidUserID(%q) = %+v: want a 400 naming id", tt.id, err)
		}
	}
}

func TestValidRoomID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"lobby", true}, {"Ärger im Büro", true}, {"방", true}, {strings.Repeat("é", 64), true},
		{"", false}, {strings.Repeat("é", 65), false}, {"a\nb", false}, {"a\x7fb", false},
		{"All", false}, {"\xff", false},
		// Format, unassigned and look-alikes of ALL (issue 18).
		{"evil\u202egnp", false}, {"zero\u200bwidth", false}, {"\ufeffbom", false}, {"a\u200db", false},
		{"x\u0378", false}, {"x\U000e0001", false}, {"\ufffe", false},
		{"ＡＬＬ", false}, {"𝐀𝐋𝐋", false}, {"ᴬᴸᴸ", false}, {"Ⓐⓛⓛ", false}, {" ALL ", false}, {"AL\ufe0fL", false},
		{"ALL hands", true}, {"АLL", true}, {"\ue000private", true}, {"x\u0301", true},
	} {
		err := ValidRoomID("roomId", tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidRoomID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		} else if err != nil && (err.Code != CodeBadRequest || !strings.Contains(err.Message, "roomId")) {
			t.Errorf("ValidRoomID(%q) = %+v: want a 400 naming roomId", tt.id, err)
		}
	}
}

func TestValidTextAndName(t *testing.T) {
	for _, tt := range []struct {
		s          string
		text, name bool // accepted by ValidText, by ValidName
	}{
		{"Alice", true, true}, {"Ärger im Büro", true, true}, {"방", true, true}, {"👍🏽", true, true},
		{"a\tb", false, false}, {"\x1b[31m", false, false}, {"\u0085", false, false},
		{"rtl\u202eoverride", false, false}, {"zero\u200bwidth", false, false}, {"\ufeff", false, false},
		{"\u2066isolate\u2069", false, false}, {"x\u0378", false, false}, {"x\U0010fffe", false, false},
		// Joiners only between two visible characters.
		{"👩\u200d💻", true, true}, {"می\u200cخواهم", true, true}, {"क्\u200dष", true, true},
		{"\u200dx", false, false}, {"x\u200d", false, false}, {"x \u200dy", false, false}, {"x\u200d\u200dy", false, false},
		{"ALL", true, false}, {"all", true, false}, {"ＡＬＬ", true, false}, {"𝓐𝓛𝓛", true, false},
		{"\u3000ALL\u00a0", true, false}, {"AL\u3164L", true, false}, {"All of us", true, true}, {"BALL", true, true},
	} {
		if err := ValidText("alias", tt.s, 64); (err == nil) != tt.text {
			t.Errorf("ValidText(%q) = %v, want ok=%v", tt.s, err, tt.text)
		} else if err != nil && (err.Code != CodeBadRequest || !strings.Contains(err.Message, "alias")) {
			t.Errorf("ValidText(%q) = %+v: want a 400 naming alias", tt.s, err)
		}
		if err := ValidName("roomName", tt.s, 64); (err == nil) != tt.name {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.s, err, tt.name)
		} else if err != nil && !strings.Contains(err.Message, "roomName") {
			t.Errorf("ValidName(%q) = %+v: want a 400 naming roomName", tt.s, err)
		}
	}
}

func TestValidMessageText(t *testing.T) {
	for _, tt := range []struct {
		data string
		code string // "" = valid
	}{
		{"hi", ""}, {"a\nb\tc\r\n", ""}, {strings.Repeat("가", 10), ""},
		{"", CodeBadRequest}, {"bell\a", CodeBadRequest}, {"\xc3", CodeBadRequest},
		{strings.Repeat("가", 11), CodeTooLarge},
	} {
		err := ValidMessageText(tt.data, 10)
		if got := ""; err != nil {
			got = err.Code
			if got != tt.code {
				t.Errorf("ValidMessageText(%q) = %v, want %q", tt.data, err, tt.code)
			}
		} else if tt.code != "" {
			t.Errorf("ValidMessageText(%q) = nil, want %s", tt.data, tt.code)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"Alice", "alice"}, {"ÄRGER", "ärger"}, {"ΣΊΣΥΦΟΣ", "σίσυφοσ"}, {"ς", "σ"},
		{"\u212a", "k"}, {"ſ", "s"}, {"ǅ", "ǆ"},
	} {
		if Fold(tt.a) != Fold(tt.b) {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q: want equal", tt.a, Fold(tt.a), tt.b, Fold(tt.b))
		}
	}
	// Simple folding does not merge İ (U+0130) with i, nor ß with ss.
	for _, tt := range []struct{ a, b string }{{"İ", "i"}, {"ß", "ss"}, {"ı", "i"}} {
		if Fold(tt.a) == Fold(tt.b) {
			t.Errorf("Fold(%q) == Fold(%q), want different", tt.a, tt.b)
		}
	}
	// Folded ASCII is lower case, so room lists sort like the protocol says.
	if Fold("_x") > Fold("Abc") {
		t.Errorf("fold must map to lower case: %q > %q", Fold("_x"), Fold("Abc"))
	}
}

func TestSeqJSON(t *testing.T) {
	b, _ := json.Marshal(Seq(1234))
	if string(b) != `"1234"` {
		t.Fatalf("Marshal = %s", b)
	}
	for in, want := range map[string]Seq{`"42"`: 42, `42`: 42, `"0"`: 0} {
		var s Seq
		if err := json.Unmarshal([]byte(in), &s); err != nil || s != want {
			t.Errorf("Unmarshal(%s) = %d, %v", in, s, err)
		}
	}
	for _, in := range []string{`"-1"`, `"1.5"`, `""`, `"x"`, `1e3`, `"1234567890123456789"`, `true`} {
		var s Seq
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s) = %d, want error", in, s)
		}
	}
}

func TestDecodeNamesTheField(t *testing.T) {
	var m SendMessage
	for in, field := range map[string]string{
		`{"data": 5}`:          "data",
		`{"recepient": [1]}`:   "recepient",
		`[1,2]`:                "payload",
		`{"data": "x"`:         "payload",
		`"just a string"`:      "payload",
		`{"cid": {"a": true}}`: "cid",
	} {
		err := Decode(json.RawMessage(in), &m)
		if err == nil || err.Code != CodeBadRequest || !strings.Contains(err.Message, field) {
			t.Errorf("Decode(%s) = %v, want a 400 naming %s", in, err, field)
		}
	}
	if err := Decode(nil, &m); err != nil {
		t.Errorf("absent payload: %v", err)
	}
}

func FuzzValidators(f *testing.F) {
	for _, s := range []string{"alice", "ÄRGER", "ALL", "", "\xff\xfe", "ς", "İ", "a\nb", "12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Never panic; folding is idempotent and keeps valid UTF-8 valid.
		k := Fold(s)
		if Fold(k) != k {
			t.Fatalf("Fold not idempotent on %q: %q then %q", s, k, Fold(k))
		}
		if utf8.ValidString(s) && !utf8.ValidString(k) {
			t.Fatalf("Fold(%q) is not valid UTF-8", s)
		}
		if ValidUserID("id", s) == nil && (len(s) == 0 || len(s) > MaxUserID) {
			t.Fatalf("accepted user id %q", s)
		}
		ValidRoomID("roomId", s)
		ValidText("alias", s, MaxAlias)
		ValidName("alias", s, MaxAlias)
		ValidMessageText(s, 4000)
		if seq, ok, err := ParseOffset(json.RawMessage(s)); err == nil && ok && seq < 0 {
			t.Fatalf("negative offset from %q", s)
		}
		var m SendMessage
		Decode(json.RawMessage(s), &m)
	})
}
