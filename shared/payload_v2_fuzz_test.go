package shared

// Fuzz targets for the version 2 payloads and validators, in the style of
// payload_fuzz_test.go: none may panic, a refusal is a 400 naming a field,
// and what passes has the properties the server relies on.

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkSeqField checks a decoded optional seq: absent, or not negative.
func checkSeqField(t *testing.T, in []byte, field string, s *Seq) {
	t.Helper()
	if s != nil && *s < 0 {
		t.Fatalf("%q: %s decoded as %d", in, field, *s)
	}
}

// FuzzChangePayload: message {command, ref, data, cid, replyTo} as edit,
// delete, react and reply decode and validate it.
func FuzzChangePayload(f *testing.F) {
	addSeeds(f,
		`{"command":"edit","ref":"12","data":"fixed"}`, `{"command":"delete","ref":12}`,
		`{"command":"react","ref":"3","data":"👍"}`, `{"command":"react","ref":"3","data":"🇰🇷"}`,
		`{"command":"react","ref":"3","data":"1️⃣"}`, `{"command":"react","ref":"3","data":"a"}`,
		`{"command":"react","ref":"3","data":"👍 "}`, `{"command":"edit","ref":"x"}`, `{"command":"edit","ref":-1}`,
		`{"command":"edit","ref":null}`, `{"recepient":"r","command":"groupchat","data":"re","replyTo":"0"}`,
		`{"recepient":"r","command":"groupchat","data":"re","replyTo":{"a":1}}`, `{"command":"react","ref":"1","data":"🇰a🇷"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req SendMessage
		if !decodeOK(t, payload, &req) {
			return
		}
		checkStrings(t, payload, req.Command, req.Data, req.CID, req.File)
		checkSeqField(t, payload, "ref", req.Ref)
		checkSeqField(t, payload, "replyTo", req.ReplyTo)
		if err := ValidRef(req.Ref); err != nil {
			checkRefusal(t, payload, err, "ref", false)
		} else if req.Ref == nil {
			t.Fatalf("%q: no ref accepted", payload)
		}
		if err := ValidReplyTo(req.ReplyTo); err != nil {
			checkRefusal(t, payload, err, "replyTo", false)
		} else if req.ReplyTo != nil && *req.ReplyTo <= 0 {
			t.Fatalf("%q: replyTo %d accepted", payload, *req.ReplyTo)
		}
		checkEmoji(t, req.Data)
		if err := ValidFileID("file", req.File); err == nil {
			if req.File == "" || len(req.File) > MaxFileID || strings.ContainsAny(req.File, "./\\") {
				t.Fatalf("file id %q accepted", req.File)
			}
		} else {
			checkRefusal(t, payload, err, "file", false)
		}
	})
}

// checkEmoji checks what ValidEmoji says of s against the rule of 4.6.
func checkEmoji(t *testing.T, s string) {
	t.Helper()
	err := ValidEmoji("data", s)
	if err != nil {
		checkRefusal(t, []byte(s), err, "data", false)
		return
	}
	if s == "" || !utf8.ValidString(s) || RuneLen(s) > MaxEmoji {
		t.Fatalf("emoji %q accepted", s)
	}
	pict := false
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			t.Fatalf("emoji %q with %U accepted", s, r)
		}
		flag := i > 0 && isRegional(r) && isRegional(rs[i-1])
		if isPictograph(r) || r == 0x20E3 || flag {
			pict = true
		}
	}
	if !pict {
		t.Fatalf("emoji %q holds no pictograph, flag or keycap", s)
	}
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// FuzzEmoji: ValidEmoji on any string.
func FuzzEmoji(f *testing.F) {
	for _, s := range []string{"👍", "🇰🇷", "🇰", "1️⃣", "👩‍👩‍👧‍👦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "a", "", "\xff", "👍 ", "🏽", "©"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEmoji(t, s) })
}

// FuzzMentionCandidates: every candidate is a valid id, written in the
// text after an "@" that no id character precedes, and followed by a
// character that cannot continue the id (or dots and then one); none is
// repeated.
func FuzzMentionCandidates(f *testing.F) {
	for _, s := range []string{"hi @bob.", "@a @A @b", "a@b", "@@x", "@" + strings.Repeat("y", 40), "@x..y.", "é@bob", "@ALL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := MentionCandidates(text)
		seen := map[string]bool{}
		for _, id := range ids {
			if err := ValidUserID("id", id); err != nil {
				t.Fatalf("%q: candidate %q: %v", text, id, err)
			}
			if seen[Fold(id)] {
				t.Fatalf("%q: %q twice", text, id)
			}
			seen[Fold(id)] = true
			found := false
			for i := 0; !found; {
				j := strings.Index(text[i:], "@"+id)
				if j < 0 {
					break
				}
				at := i + j
				end := at + 1 + len(id)
				rest := strings.TrimLeft(text[end:], ".")
				before := at == 0 || !isIDByte(text[at-1])
				after := rest == "" || !isIDByte(rest[0])
				found = before && after
				i = at + 1
			}
			if !found {
				t.Fatalf("%q: candidate %q is not a mention in the text", text, id)
			}
		}
		if len(ids) > 0 && !strings.Contains(text, "@") {
			t.Fatalf("%q: mentions without @", text)
		}
	})
}

// FuzzTypingReadPayload: typing {recepient, command} and read {target,
// command, seq}.
func FuzzTypingReadPayload(f *testing.F) {
	addSeeds(f,
		`{"recepient":"bob","command":"chat"}`, `{"recepient":"ALL","command":"chat"}`,
		`{"recepient":"lobby","command":"groupchat"}`, `{"recepient":"ALL","command":"groupchat"}`,
		`{"target":"bob","command":"chat","seq":"12"}`, `{"target":"bob","command":"chat","seq":12}`,
		`{"target":"bob","command":"chat","seq":"x"}`, `{"target":"bob","seq":null}`, `{"command":"edit"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var ty Typing
		if decodeOK(t, payload, &ty) {
			checkStrings(t, payload, ty.Sender, ty.Recipient, ty.Command)
			checkConversation(t, payload, "recepient", ty.Recipient, ty.Command, false)
		}
		var rd ReadRequest
		if decodeOK(t, payload, &rd) {
			checkStrings(t, payload, rd.Target, rd.Command)
			checkSeqField(t, payload, "seq", rd.Seq)
			checkConversation(t, payload, "target", rd.Target, rd.Command, false)
		}
	})
}

// checkConversation checks what ValidConversation says of a target and
// command.
func checkConversation(t *testing.T, in []byte, field, target, command string, optional bool) {
	t.Helper()
	err := ValidConversation(field, target, command, optional)
	if err != nil {
		if !strings.Contains(err.Message, field) && !strings.Contains(err.Message, "command") {
			t.Fatalf("%q: %v names neither %s nor command", in, err, field)
		}
		checkRefusal(t, in, err, "", false)
		return
	}
	checkText(t, field, target, MaxRoomID)
	if target == "" || !(command == CommandChat || command == CommandGroupchat || optional && command == "") ||
		command == CommandGroupchat && Fold(target) == Fold(All) {
		t.Fatalf("%q: conversation %q %q accepted", in, target, command)
	}
}

// FuzzDirectoryPayloads: room (version 2 fields), presence watch, users and
// search requests.
func FuzzDirectoryPayloads(f *testing.F) {
	addSeeds(f,
		`{"command":"create","roomId":"r","roomName":"R","private":true}`, `{"command":"invite","roomId":"r","userId":"bob"}`,
		`{"command":"members","roomId":"r","after":"bob","limit":"500"}`, `{"command":"members","roomId":"r","limit":501}`,
		`{"command":"watch","ids":["a","b"]}`, `{"command":"watch","ids":"a"}`, `{"query":"bo","after":"a","limit":10}`,
		`{"query":"안녕 hello","target":"lobby","command":"groupchat","before":"10","limit":"100"}`,
		`{"query":"","limit":0}`, `{"query":"x","before":"-1"}`, `{"private":"yes"}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var room RoomRequest
		if decodeOK(t, payload, &room) {
			checkStrings(t, payload, room.Command, room.RoomID, room.RoomName, room.UserID, room.After)
			checkLimit(t, payload, room.Limit, DefaultMembersLimit, MaxMembersLimit)
		}
		var w PresenceRequest
		if decodeOK(t, payload, &w) {
			checkStrings(t, payload, w.IDs...)
			if err := ValidWatch(w.IDs); err != nil {
				checkRefusal(t, payload, err, "ids", false)
			} else if len(w.IDs) > MaxWatch {
				t.Fatalf("%d ids accepted", len(w.IDs))
			}
		}
		var u UsersRequest
		if decodeOK(t, payload, &u) {
			checkStrings(t, payload, u.Query, u.After)
			checkText(t, "query", u.Query, MaxUsersQuery)
			checkLimit(t, payload, u.Limit, DefaultUsersLimit, MaxUsersLimit)
		}
		var sr SearchRequest
		if decodeOK(t, payload, &sr) {
			checkStrings(t, payload, sr.Query, sr.Target, sr.Command)
			if err := ValidSearchQuery(sr.Query); err != nil {
				checkRefusal(t, payload, err, "query", false)
			} else if strings.TrimSpace(sr.Query) == "" || RuneLen(sr.Query) > MaxSearchQuery {
				t.Fatalf("search query %q accepted", sr.Query)
			}
			checkOffset(t, "before", sr.Before)
			checkLimit(t, payload, sr.Limit, DefaultSearchLimit, MaxSearchLimit)
		}
	})
}

// checkLimit checks ParseLimit: the default when absent, else 1..max or a
// 400 naming limit.
func checkLimit(t *testing.T, in []byte, raw json.RawMessage, def, max int) {
	t.Helper()
	n, err := ParseLimit("limit", raw, def, max)
	if err != nil {
		checkRefusal(t, in, err, "limit", false)
		return
	}
	if n < 1 || n > max {
		t.Fatalf("%q: limit %d accepted", in, n)
	}
}

// FuzzMessageRoundTrip: a delivered message with any version 2 fields
// decodes to what was encoded, and its frame is valid Socket.IO.
func FuzzMessageRoundTrip(f *testing.F) {
	f.Add(int64(1), "a", "b", "chat", "hi", "", int64(0), "", false, int64(0), "", "👍")
	f.Add(int64(9), "a", "r", "react", "👍", "c", int64(0), "", false, int64(3), "groupchat", "")
	f.Add(int64(9), "a", "r", "groupchat", "", "", int64(2), "bob", true, int64(0), "", "x")
	f.Fuzz(func(t *testing.T, seq int64, sender, recipient, command, data, cid string, replyTo int64, mention string, deleted bool, ref int64, of, emoji string) {
		for _, s := range []string{sender, recipient, command, data, cid, mention, of, emoji} {
			if !utf8.ValidString(s) {
				return // Decode never hands the server invalid UTF-8
			}
		}
		if seq < 0 || replyTo < 0 || ref < 0 {
			return // never sent: seqs are positive
		}
		m := Message{Seq: Seq(seq), Time: "t", Sender: sender, Recipient: recipient, Command: command, Data: data,
			CID: cid, ReplyTo: Seq(replyTo), Deleted: deleted, Ref: Seq(ref), Of: of}
		if mention != "" {
			m.Mentions = []string{mention}
		}
		if emoji != "" {
			m.Reactions = map[string][]string{emoji: {sender}}
			on := deleted
			m.On = &on
		}
		frame, err := EventFrame(EventMessage, m)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodePacket(frame[1:])
		if err != nil {
			t.Fatalf("frame %q: %v", frame, err)
		}
		_, args, err := EventArgs(p.Data)
		var back Message
		if err != nil || len(args) != 1 || json.Unmarshal(args[0], &back) != nil {
			t.Fatalf("frame %q: %v", frame, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("frame %q decodes to %+v, want %+v", frame, back, m)
		}
	})
}
