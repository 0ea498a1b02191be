package shared

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A version 1 event encodes byte for byte as version 1 did: the version 2
// fields are omitted when absent, and type and data are never empty on a
// version 1 message.
func TestVersion1EventsByteCompatible(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"message", Message{Seq: 7, Time: "2026-01-02T03:04:05.000Z", Sender: "alice", Recipient: "bob", Command: CommandChat, Type: TypeText, Data: "hi"},
			`{"seq":"7","time":"2026-01-02T03:04:05.000Z","sender":"alice","recepient":"bob","command":"chat","type":"text","data":"hi"}`},
		{"message with cid", Message{Seq: 8, Time: "t", Sender: "a", Recipient: "ALL", Command: CommandChat, Type: TypeText, Data: "<b>", CID: "c1"},
			`{"seq":"8","time":"t","sender":"a","recepient":"ALL","command":"chat","type":"text","data":"<b>","cid":"c1"}`},
		{"room list", RoomEvent{Command: RoomList, Rooms: []RoomInfo{{ID: "r", Name: "R", Owner: "a", Members: 2}}},
			`{"command":"list","rooms":[{"id":"r","name":"R","owner":"a","members":2}]}`},
		{"room deleted", RoomEvent{Command: RoomDeleted, RoomID: "r"}, `{"command":"deleted","roomId":"r"}`},
		{"login answer", Response{Command: EventLogin, Code: CodeOK, Message: "logged in", Token: "t", User: &Profile{ID: "a"}, Offset: "0"},
			`{"command":"login","code":"200","message":"logged in","token":"t","user":{"id":"a","alias":"","today":""},"offset":"0"}`},
		{"history answer", Response{Command: EventHistory, Code: CodeOK, Message: "history", Messages: []Message{}},
			`{"command":"history","code":"200","message":"history","messages":[]}`},
		{"request", SendMessage{Recipient: "bob", Command: CommandChat, Type: TypeText, Data: "x"},
			`{"recepient":"bob","command":"chat","type":"text","data":"x"}`},
		{"room request", RoomRequest{Command: RoomCreate, RoomID: "r", RoomName: "R"},
			`{"command":"create","roomId":"r","roomName":"R"}`},
	} {
		b, err := wire(tt.v)
		if err != nil || b != tt.want {
			t.Errorf("%s: %s %v\nwant %s", tt.name, b, err, tt.want)
		}
	}
}

// The version 2 shapes of PROTOCOL.md 4.5 and 4.6.
func TestVersion2MessageShapes(t *testing.T) {
	on, off := true, false
	for _, tt := range []struct {
		name string
		m    Message
		want string
	}{
		{"reply with mentions", Message{Seq: 9, Time: "t", Sender: "a", Recipient: "r", Command: CommandGroupchat, Type: TypeText, Data: "hi @b", ReplyTo: 3, Mentions: []string{"b"}},
			`{"seq":"9","time":"t","sender":"a","recepient":"r","command":"groupchat","type":"text","data":"hi @b","replyTo":"3","mentions":["b"]}`},
		{"edited with reactions", Message{Seq: 9, Time: "t", Sender: "a", Recipient: "b", Command: CommandChat, Type: TypeText, Data: "new", Edited: "t2", Reactions: map[string][]string{"👍": {"a", "b"}, "🎉": {"b"}}},
			`{"seq":"9","time":"t","sender":"a","recepient":"b","command":"chat","type":"text","data":"new","edited":"t2","reactions":{"🎉":["b"],"👍":["a","b"]}}`},
		{"deleted", Message{Seq: 9, Time: "t", Sender: "a", Recipient: "b", Command: CommandChat, Deleted: true},
			`{"seq":"9","time":"t","sender":"a","recepient":"b","command":"chat","deleted":true}`},
		{"edit event", Message{Seq: 10, Time: "t", Sender: "a", Recipient: "r", Command: CommandEdit, Ref: 9, Of: CommandGroupchat, Data: "new"},
			`{"seq":"10","time":"t","sender":"a","recepient":"r","command":"edit","data":"new","ref":"9","of":"groupchat"}`},
		{"delete event", Message{Seq: 11, Time: "t", Sender: "a", Recipient: "b", Command: CommandDelete, Ref: 9, Of: CommandChat},
			`{"seq":"11","time":"t","sender":"a","recepient":"b","command":"delete","ref":"9","of":"chat"}`},
		{"react added", Message{Seq: 12, Time: "t", Sender: "b", Recipient: "b", Command: CommandReact, Ref: 9, Of: CommandChat, Data: "👍", On: &on},
			`{"seq":"12","time":"t","sender":"b","recepient":"b","command":"react","data":"👍","ref":"9","of":"chat","on":true}`},
		{"react removed", Message{Seq: 13, Time: "t", Sender: "b", Recipient: "b", Command: CommandReact, Ref: 9, Of: CommandChat, Data: "👍", On: &off},
			`{"seq":"13","time":"t","sender":"b","recepient":"b","command":"react","data":"👍","ref":"9","of":"chat","on":false}`},
	} {
		b, err := wire(tt.m)
		if err != nil || b != tt.want {
			t.Errorf("%s: %s %v\nwant %s", tt.name, b, err, tt.want)
		}
		var back Message
		if err := json.Unmarshal([]byte(b), &back); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		again, _ := wire(back)
		if again != b {
			t.Errorf("%s: round trip %s → %s", tt.name, b, again)
		}
	}
	for _, v := range []struct {
		v    any
		want string
	}{
		{Session{User: &Profile{ID: "a"}, Offset: "0", Joined: []JoinedRoom{}, Conversations: []Conversation{{Target: All, Command: CommandChat}}},
			`{"user":{"id":"a","alias":"","today":""},"offset":"0","joined":[],"conversations":[{"target":"ALL","command":"chat","last":"0","read":"0","unread":0,"mentions":0}]}`},
		{RoomEvent{Command: RoomJoined, Room: &JoinedRoom{ID: "r", Name: "R", Owner: "a", Members: 1}},
			`{"command":"joined","room":{"id":"r","name":"R","owner":"a","members":1,"private":false}}`},
		{Typing{Sender: "a", Recipient: "b", Command: CommandChat}, `{"sender":"a","recepient":"b","command":"chat"}`},
		{Read{Target: "b", Command: CommandChat, Seq: 4}, `{"target":"b","command":"chat","seq":"4"}`},
	} {
		if b, err := wire(v.v); err != nil || b != v.want {
			t.Errorf("%T: %s %v\nwant %s", v.v, b, err, v.want)
		}
	}
}

// wire encodes v as EventFrame does (no HTML escaping).
func wire(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n"), err
}

// A seq field of a request that is not a seq is a 400 naming the field.
func TestDecodeNamesSeqFields(t *testing.T) {
	for _, tt := range []struct {
		payload string
		v       any
		field   string
	}{
		{`{"command":"edit","ref":"x"}`, &SendMessage{}, "ref"},
		{`{"command":"edit","ref":true}`, &SendMessage{}, "ref"},
		{`{"command":"edit","ref":-3}`, &SendMessage{}, "ref"},
		{`{"command":"chat","replyTo":"１"}`, &SendMessage{}, "replyTo"},
		{`{"command":"chat","replyTo":[1]}`, &SendMessage{}, "replyTo"},
		{`{"target":"b","seq":{}}`, &ReadRequest{}, "seq"},
		{`{"target":"b","seq":1.5}`, &ReadRequest{}, "seq"},
	} {
		err := Decode(json.RawMessage(tt.payload), tt.v)
		if err == nil || err.Code != CodeBadRequest || !strings.Contains(err.Message, "invalid "+tt.field+":") {
			t.Errorf("Decode(%s) = %v, want a 400 naming %s", tt.payload, err, tt.field)
		}
	}
	var m SendMessage
	if err := Decode(json.RawMessage(`{"ref":"12","replyTo":3}`), &m); err != nil || m.Ref == nil || *m.Ref != 12 || m.ReplyTo == nil || *m.ReplyTo != 3 {
		t.Fatalf("Decode: %+v %v", m, err)
	}
	var r ReadRequest
	if err := Decode(json.RawMessage(`{"target":"b","command":"chat","seq":"0"}`), &r); err != nil || r.Seq == nil || *r.Seq != 0 {
		t.Fatalf("seq 0 must decode as present: %+v %v", r, err)
	}
	var r2 ReadRequest
	if err := Decode(json.RawMessage(`{"target":"b"}`), &r2); err != nil || r2.Seq != nil {
		t.Fatalf("absent seq: %+v %v", r2, err)
	}
}

func TestParseLimit(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want int // 0: refused
	}{
		{``, 50}, {`null`, 50}, {`""`, 50}, {`1`, 1}, {`"100"`, 100}, {`100`, 100},
		{`0`, 0}, {`101`, 0}, {`-1`, 0}, {`1.5`, 0}, {`"x"`, 0}, {`[]`, 0}, {`true`, 0},
	} {
		n, err := ParseLimit("limit", json.RawMessage(tt.raw), 50, 100)
		if tt.want == 0 {
			if err == nil || err.Code != CodeBadRequest || !strings.Contains(err.Message, "limit") {
				t.Errorf("ParseLimit(%s) = %d, %v; want a 400 naming limit", tt.raw, n, err)
			}
		} else if err != nil || n != tt.want {
			t.Errorf("ParseLimit(%s) = %d, %v; want %d", tt.raw, n, err, tt.want)
		}
	}
}

func TestValidEmoji(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"👍", true}, {"❤️", true}, {"❤", true}, {"🇰🇷", true}, {"1️⃣", true}, {"#⃣", true},
		{"👩‍👩‍👧‍👦", true}, {"👍🏽", true}, {"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true}, {"©", true}, {"☺", true},
		{"", false}, {"a", false}, {"ok", false}, {"🇰", false}, {"🏽", false}, {"가", false},
		{"👍 ", false}, {" 👍", false}, {"👍\n", false}, {"\x00👍", false}, {"\xff", false},
		{strings.Repeat("👍", 16), true}, {strings.Repeat("👍", 17), false},
		{"🇰a🇷", false}, // two indicators, but not a pair
	} {
		err := ValidEmoji("data", tt.s)
		if (err == nil) != tt.ok {
			t.Errorf("ValidEmoji(%q) = %v, want ok=%v", tt.s, err, tt.ok)
		}
		if err != nil && (err.Code != CodeBadRequest || !strings.Contains(err.Message, "data")) {
			t.Errorf("ValidEmoji(%q) = %+v: want a 400 naming data", tt.s, err)
		}
	}
}

func TestMentionCandidates(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"hi @bob.", []string{"bob"}},
		{"@bob hi", []string{"bob"}},
		{"@bob, @Carol and @BOB", []string{"bob", "Carol"}},
		{"mail a@bob.example", nil}, // after an id character
		{"x.@bob", nil},
		{"(@bob)", []string{"bob"}},
		{"é@bob", []string{"bob"}},
		{"@@bob", []string{"bob"}},
		{"@bob...", []string{"bob"}},
		{"@b.o.b!", []string{"b.o.b"}},
		{"@ALL @all", nil}, // reserved
		{"@" + strings.Repeat("x", 33), nil},
		{"@" + strings.Repeat("x", 32), []string{strings.Repeat("x", 32)}},
		{"@", nil}, {"@.", nil}, {"", nil},
		{"@a@b", []string{"a"}},
		{"@안녕 @bob", []string{"bob"}},
		{"@x-y_z9 @x-y_z9", []string{"x-y_z9"}},
	} {
		if got := MentionCandidates(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("MentionCandidates(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestValidConversation(t *testing.T) {
	for _, tt := range []struct {
		target, command string
		optional        bool
		field           string // "": valid
	}{
		{"bob", "chat", false, ""}, {"ALL", "chat", false, ""}, {"lobby", "groupchat", false, ""},
		{"bob", "", true, ""},
		{"", "chat", false, "target"}, {"bob", "", false, "command"}, {"bob", "edit", false, "command"},
		{"ALL", "groupchat", false, "target"}, {"b\x00b", "chat", false, "target"},
		{strings.Repeat("r", 65), "groupchat", false, "target"},
	} {
		err := ValidConversation("target", tt.target, tt.command, tt.optional)
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("ValidConversation(%q, %q) = %v", tt.target, tt.command, err)
		case tt.field != "" && (err == nil || err.Code != CodeBadRequest || !strings.Contains(err.Message, tt.field)):
			t.Errorf("ValidConversation(%q, %q) = %v, want a 400 naming %s", tt.target, tt.command, err, tt.field)
		}
	}
}

func TestValidQueriesAndFiles(t *testing.T) {
	for _, tt := range []struct {
		name  string
		err   *Error
		field string // "": valid
	}{
		{"search word", ValidSearchQuery("안녕 hello"), ""},
		{"search 200", ValidSearchQuery(strings.Repeat("가", 200)), ""},
		{"search empty", ValidSearchQuery(""), "query"},
		{"search blank", ValidSearchQuery("   "), "query"},
		{"search 201", ValidSearchQuery(strings.Repeat("가", 201)), "query"},
		{"search control", ValidSearchQuery("a\x1bb"), "query"},
		{"users empty", ValidUsersQuery(""), ""},
		{"users long", ValidUsersQuery(strings.Repeat("a", 65)), "query"},
		{"watch 500", ValidWatch(make([]string, 500)), ""},
		{"watch 501", ValidWatch(make([]string, 501)), "ids"},
		{"file name", ValidFileName("name", "사진 1.png"), ""},
		{"file name empty", ValidFileName("name", ""), "name"},
		{"file name path", ValidFileName("name", "../etc/passwd"), "name"},
		{"file name backslash", ValidFileName("name", `a\b`), "name"},
		{"file name dots", ValidFileName("name", ".."), "name"},
		{"file name bidi", ValidFileName("name", "gpj.\u202eexe"), "name"},
		{"file name 256", ValidFileName("name", strings.Repeat("a", 256)), "name"},
		{"file id", ValidFileID("file", "Zx_9-abc"), ""},
		{"file id empty", ValidFileID("file", ""), "file"},
		{"file id dot", ValidFileID("file", "a.b"), "file"},
		{"file id 65", ValidFileID("file", strings.Repeat("a", 65)), "file"},
		{"ref absent", ValidRef(nil), "ref"},
		{"ref zero is a seq", ValidRef(new(Seq)), ""},
		{"replyTo absent", ValidReplyTo(nil), ""},
		{"replyTo zero", ValidReplyTo(new(Seq)), "replyTo"},
	} {
		switch {
		case tt.field == "" && tt.err != nil:
			t.Errorf("%s: %v", tt.name, tt.err)
		case tt.field != "" && (tt.err == nil || tt.err.Code != CodeBadRequest || !strings.Contains(tt.err.Message, tt.field)):
			t.Errorf("%s: %v, want a 400 naming %s", tt.name, tt.err, tt.field)
		}
	}
}
