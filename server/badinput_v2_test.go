package server

// Bad input for the version 2 commands of issue 11 (message edit, delete,
// react and replyTo; typing; read), in the style of badinput_test.go:
// every field of every new command, given a wrong type or left out, gets
// a 400 naming it; wrong permissions 403; an unknown ref 404; and nothing
// stored changes on any refusal.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// v2State is what the version 2 commands could change: the stored
// events and every user's conversations (read marks, counts) and the
// current state of the messages.
type v2State struct {
	base  storeState
	convs string
	msgs  string
}

func (ts *testServer) v2Snapshot(users ...string) v2State {
	ts.t.Helper()
	ctx := context.Background()
	st := v2State{base: ts.storeSnapshot()}
	for _, u := range users {
		convs, _, err := ts.st.Conversations(ctx, u, shared.MaxConversations)
		if err != nil {
			ts.t.Fatal(err)
		}
		msgs, _, err := ts.st.Since(ctx, u, 0, ts.st.LastSeq(), 1000)
		if err != nil {
			ts.t.Fatal(err)
		}
		st.convs += fmt.Sprintf("%s %+v\n", u, convs)
		b, _ := json.Marshal(msgs)
		st.msgs += u + " " + string(b) + "\n"
	}
	return st
}

// TestBadInputV2 runs the wrong types and missing fields of every new
// command's fields, then the refusals that need the server's state.
func TestBadInputV2(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	m, mr := ts.login("mallory")
	bob, _ := ts.login("bob")
	carol, _ := ts.login("carol")
	if r := bob.req("room", map[string]any{"command": "create", "roomId": "bobs", "roomName": "Bob's"}); r.Code != "200" {
		t.Fatal(r)
	}
	mine := send(t, m, dm("bob", "mallory's message")).Seq
	theirs := send(t, bob, dm("mallory", "bob's message")).Seq
	private := send(t, bob, dm("carol", "not for mallory")).Seq
	inRoom := send(t, bob, toRoom("bobs", "members only")).Seq
	reaction := send(t, bob, changeReq("react", mine, "👍")).Seq
	edited := send(t, m, changeReq("edit", mine, "mallory's message, edited")).Seq
	m.close()
	_ = carol

	type req struct {
		event    string
		base     map[string]any
		lenient  map[string][]string // wrong JSON types a field accepts: a seq as a number or a string
		required []string
	}
	seqLenient := []string{"42", `"10"`}
	reqs := []req{
		{event: "message", base: map[string]any{"command": "edit", "ref": mine, "data": "new", "cid": "e1"},
			lenient: map[string][]string{"ref": seqLenient}, required: []string{"ref", "data"}},
		{event: "message", base: map[string]any{"command": "react", "ref": theirs, "data": "👍", "cid": "r1"},
			lenient: map[string][]string{"ref": seqLenient}, required: []string{"ref", "data"}},
		{event: "message", base: map[string]any{"command": "delete", "ref": mine, "cid": "d1"},
			lenient: map[string][]string{"ref": seqLenient}, required: []string{"ref"}},
		{event: "message", base: map[string]any{"recepient": "bob", "command": "chat", "type": "text", "data": "re", "replyTo": theirs},
			required: []string{"recepient", "command", "data"}},
		{event: "typing", base: map[string]any{"recepient": "bob", "command": "chat"},
			required: []string{"recepient", "command"}},
		{event: "read", base: map[string]any{"target": "bob", "command": "chat", "seq": theirs},
			lenient: map[string][]string{"seq": seqLenient}, required: []string{"target", "command", "seq"}},
	}
	wrong := []string{"42", "-1.5", "true", "[]", `["x"]`, "{}", `{"a":"b"}`, `"10"`}
	var cases []badCase
	for _, r := range reqs {
		for _, field := range slices.Sorted(mapKeys(r.base)) {
			orig, _ := json.Marshal(r.base[field])
			for _, w := range wrong {
				if w == string(orig) || slices.Contains(r.lenient[field], w) || (w == `"10"` && orig[0] == '"' && field != "replyTo") {
					continue // not a wrong type for this field
				}
				cases = append(cases, badCase{name: fmt.Sprintf("%s %s %s=%s", r.event, r.base["command"], field, w), login: true,
					frames: []string{evFrame(r.event, withField(r.base, field, json.RawMessage(w)))}, want: wantCode("400", field)})
			}
		}
		for _, field := range r.required {
			cases = append(cases, badCase{name: fmt.Sprintf("%s %s without %s", r.event, r.base["command"], field), login: true,
				frames: []string{evFrame(r.event, withField(r.base, field, nil))}, want: wantCode("400", field)})
		}
	}
	with := func(base map[string]any, kv ...any) string {
		p := map[string]any{}
		for k, v := range base {
			p[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1]
		}
		b, _ := json.Marshal(p)
		return string(b)
	}
	edit := map[string]any{"command": "edit", "ref": mine, "data": "x"}
	react := map[string]any{"command": "react", "ref": theirs, "data": "👍"}
	reply := map[string]any{"recepient": "bob", "command": "chat", "data": "re"}
	read := map[string]any{"target": "bob", "command": "chat"}
	for _, bc := range []struct {
		name, event, payload string
		want                 outcome
	}{
		// Values of the right type that say nothing valid.
		{"edit empty data", "message", with(edit, "data", ""), wantCode("400", "data")},
		{"edit data too long", "message", with(edit, "data", strings.Repeat("x", 4001)), wantCode("413", "data")},
		{"edit data with control", "message", with(edit, "data", "a\u0007"), wantCode("400", "data")},
		{"react with a word", "message", with(react, "data", "ok"), wantCode("400", "data")},
		{"react with two spaces", "message", with(react, "data", "👍 👍"), wantCode("400", "data")},
		{"react too long", "message", with(react, "data", string(slices.Repeat([]rune("👍"), 17))), wantCode("400", "data")},
		{"react without data", "message", with(react, "data", ""), wantCode("400", "data")},
		{"change with a bad cid", "message", with(react, "cid", "c\u0001"), wantCode("400", "cid")},
		{"change as someone else", "message", with(edit, "sender", "bob"), wantCode("403", "sender")},
		{"unknown command", "message", with(edit, "command", "undo"), wantCode("400", "command")},
		{"replyTo zero", "message", with(reply, "replyTo", "0"), wantCode("400", "replyTo")},
		{"replyTo elsewhere", "message", with(reply, "replyTo", private), wantCode("400", "replyTo")},
		{"replyTo a change", "message", with(reply, "replyTo", reaction), wantCode("400", "replyTo")},
		{"replyTo nothing", "message", with(reply, "replyTo", "999999"), wantCode("400", "replyTo")},
		{"typing to ALL", "typing", `{"recepient":"ALL","command":"chat"}`, wantCode("400", "recepient")},
		{"typing groupchat ALL", "typing", `{"recepient":"ALL","command":"groupchat"}`, wantCode("400", "recepient")},
		{"typing bad command", "typing", `{"recepient":"bob","command":"react"}`, wantCode("400", "command")},
		{"typing control in recepient", "typing", `{"recepient":"b\u0000b","command":"chat"}`, wantCode("400", "recepient")},
		{"read bad command", "read", with(read, "command", "edit", "seq", theirs), wantCode("400", "command")},
		{"read empty target", "read", with(read, "target", "", "seq", theirs), wantCode("400", "target")},
		// Permissions.
		{"edit someone else's", "message", with(edit, "ref", theirs), wantCode("403", "")},
		{"delete someone else's", "message", `{"command":"delete","ref":"` + theirs + `"}`, wantCode("403", "")},
		{"typing in a room one is not in", "typing", `{"recepient":"bobs","command":"groupchat"}`, wantCode("403", "")},
		{"read in a room one is not in", "read", `{"target":"bobs","command":"groupchat","seq":"` + inRoom + `"}`, wantCode("403", "")},
		// What does not exist, or cannot be seen.
		{"edit an unknown ref", "message", with(edit, "ref", "999999"), wantCode("404", "ref")},
		{"edit ref 0", "message", with(edit, "ref", "0"), wantCode("404", "ref")},
		{"react to a change", "message", with(react, "ref", reaction), wantCode("404", "ref")},
		{"edit an edit", "message", with(edit, "ref", edited), wantCode("404", "ref")},
		{"react to others' DM", "message", with(react, "ref", private), wantCode("404", "ref")},
		{"react in a room one is not in", "message", with(react, "ref", inRoom), wantCode("404", "ref")},
		{"typing to nobody", "typing", `{"recepient":"nobody","command":"chat"}`, wantCode("404", "nobody")},
		{"read of another conversation", "read", with(read, "seq", private), wantCode("404", "seq")},
		{"read of nothing", "read", with(read, "seq", "999999"), wantCode("404", "seq")},
		{"read with nobody", "read", with(read, "target", "nobody", "seq", theirs), wantCode("404", "nobody")},
	} {
		cases = append(cases, badCase{name: bc.name, login: true, frames: []string{evFrame(bc.event, bc.payload)}, want: bc.want})
	}

	users := []string{"mallory", "bob", "carol"}
	before := ts.v2Snapshot(users...)
	for _, bc := range cases {
		t.Run(bc.name, func(t *testing.T) {
			tts := *ts
			tts.t = t
			bc.run(t, &tts, mr.Token)
			if after := tts.v2Snapshot(users...); after != before {
				t.Fatalf("changed:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
	// The controls: the bases themselves are accepted, so the refusals
	// above are the fields' doing.
	c := ts.dialBad(`40{"token":"`+mr.Token+`"}`, "")
	for i, p := range []struct{ event, payload string }{
		{"read", `{"target":"bob","command":"chat","seq":"` + theirs + `"}`},
		{"typing", `{"recepient":"bob","command":"chat"}`},
		{"message", with(reply, "replyTo", theirs)},
		{"message", with(react, "cid", "control")},
		{"message", `{"command":"edit","ref":"` + mine + `","data":"fine"}`},
		{"message", `{"command":"delete","ref":"` + mine + `"}`},
	} {
		id := 100 + i
		c.send(websocket.MessageText, fmt.Sprintf("42%d[%q,%s]", id, p.event, p.payload))
		if r, ok := c.ack(id); !ok || r.Code != "200" {
			t.Errorf("control %s %s: %+v", p.event, p.payload, r)
		}
	}
}
