package server

// Protocol version 2, team chat part 1 (issue 11): the login's
// conversations, replies, edits, deletions, reactions and mentions, and
// their recovery and erasure, against a real server with the test
// clients.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"chatapp/shared"
)

// TestLoginConversations: the login answer holds the joined rooms and
// every conversation, newest first, with read marks and unread and
// mention counts from the store, so a second device sees the same.
func TestLoginConversations(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, r := ts.login("alice")
	if r.Joined == nil || len(r.Joined) != 0 {
		t.Fatalf("joined of a new user: %#v", r.Joined)
	}
	if len(r.Conversations) != 1 || r.Conversations[0] != (shared.Conversation{Target: "ALL", Command: "chat"}) {
		t.Fatalf("conversations of a new user: %+v", r.Conversations)
	}
	bob, _ := ts.login("Bob")
	carol, _ := ts.login("carol")
	mustRoom(t, "quiet", alice)
	mustRoom(t, "lobby", bob, alice, carol)
	send(t, alice, dm("bob", "hi bob"))
	send(t, bob, dm("alice", "hi alice"))
	send(t, bob, dm("alice", "are you there?"))
	send(t, carol, toRoom("lobby", "hello @alice and @bob"))
	send(t, bob, toRoom("lobby", "hi all"))
	last := send(t, carol, map[string]any{"recepient": "ALL", "command": "chat", "data": "@Alice news"})
	send(t, alice, dm("alice", "note to self"))
	lastSeq := last.Seq

	a2, r := ts.login("alice") // a second device
	if r.Offset == "" || r.Offset == "0" {
		t.Fatalf("offset %q", r.Offset)
	}
	if got := r.Joined; len(got) != 2 || got[0].ID != "lobby" || got[0].Members != 3 || got[0].Owner != "Bob" || got[1].ID != "quiet" || got[1].Private {
		t.Fatalf("joined %+v", got)
	}
	var order []string
	for _, c := range r.Conversations {
		order = append(order, c.Command+" "+c.Target)
	}
	if want := []string{"chat alice", "chat ALL", "groupchat lobby", "chat Bob", "groupchat quiet"}; !slices.Equal(order, want) {
		t.Fatalf("conversations %v, want %v (newest first)", order, want)
	}
	want := map[string]shared.Conversation{
		"chat Bob":        {Target: "Bob", Command: "chat", Unread: 2},
		"groupchat lobby": {Target: "lobby", Command: "groupchat", Unread: 2, Mentions: 1},
		"chat ALL":        {Target: "ALL", Command: "chat", Unread: 1, Mentions: 1},
		"chat alice":      {Target: "alice", Command: "chat"},
		"groupchat quiet": {Target: "quiet", Command: "groupchat"},
	}
	for _, c := range r.Conversations {
		w := want[c.Command+" "+c.Target]
		if c.Unread != w.Unread || c.Mentions != w.Mentions || c.Read != 0 || (c.Last == 0) != (c.Target == "quiet") {
			t.Errorf("%+v, want unread %d mentions %d", c, w.Unread, w.Mentions)
		}
	}
	if ca, _ := convOf(r.Conversations, "ALL", "chat"); ca.Last.String() != lastSeq {
		t.Errorf("ALL last %s, want %s", ca.Last, lastSeq)
	}

	// Reading on one device clears the count for every device.
	lobby, _ := convOf(r.Conversations, "lobby", "groupchat")
	if rr := alice.req("read", map[string]any{"target": "lobby", "command": "groupchat", "seq": lobby.Last.String()}); rr.Code != "200" {
		t.Fatalf("read: %+v", rr)
	}
	var ev shared.Read
	a2.take("read", &ev)
	if ev != (shared.Read{Target: "lobby", Command: "groupchat", Seq: lobby.Last}) {
		t.Fatalf("read event %+v", ev)
	}
	alice.none("read", 50*time.Millisecond)
	_, r = ts.login("alice")
	if c, _ := convOf(r.Conversations, "lobby", "groupchat"); c.Unread != 0 || c.Mentions != 0 || c.Read != lobby.Last {
		t.Fatalf("lobby after read %+v", c)
	}
	// Messages after the mark count again; one's own never do.
	send(t, bob, toRoom("lobby", "more"))
	send(t, alice, toRoom("lobby", "mine"))
	send(t, carol, toRoom("lobby", "@alice more"))
	_, r = ts.login("alice")
	if c, _ := convOf(r.Conversations, "lobby", "groupchat"); c.Unread != 2 || c.Mentions != 1 {
		t.Fatalf("lobby after more %+v", c)
	}
	// Bob's list has the conversation with alice under her id as she
	// created it.
	_, r = ts.login("Bob")
	if c, ok := convOf(r.Conversations, "alice", "chat"); !ok || c.Unread != 1 {
		t.Fatalf("bob's conversation with alice %+v %v in %+v", c, ok, r.Conversations)
	}
	_ = carol
}

// TestReplyTo: a reply names an earlier message of its conversation that
// the sender can see; anything else is a 400 naming replyTo.
func TestReplyTo(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	bob, _ := ts.login("bob")
	carol, _ := ts.login("carol")
	mustRoom(t, "r", alice, bob)
	first := send(t, alice, toRoom("r", "question"))
	other := send(t, carol, dm("bob", "elsewhere"))
	p := toRoom("r", "answer")
	p["replyTo"] = first.Seq
	r := send(t, bob, p)
	got := alice.message()
	for got.Data != "answer" {
		got = alice.message()
	}
	if got.ReplyTo.String() != first.Seq {
		t.Fatalf("delivered %+v", got)
	}
	h := bob.req("history", map[string]any{"target": "r", "command": "groupchat"})
	if len(h.Messages) != 2 || h.Messages[1].ReplyTo.String() != first.Seq || h.Messages[1].Seq.String() != r.Seq {
		t.Fatalf("history %+v", h.Messages)
	}
	edit := alice.req("message", changeReq("edit", first.Seq, "question?"))
	for _, bad := range []any{other.Seq, "0", "999999", edit.Seq, "x", -1, true} {
		p := toRoom("r", "bad reply")
		p["replyTo"] = bad
		before := ts.st.LastSeq()
		if r := bob.req("message", p); r.Code != "400" || !strings.Contains(r.Message, "replyTo") {
			t.Errorf("replyTo %v: %+v", bad, r)
		}
		if ts.st.LastSeq() != before {
			t.Errorf("replyTo %v stored something", bad)
		}
	}
}

// messageSeq takes c's message events up to the one with seq.
func messageSeq(t *testing.T, c *tc, seq string) shared.Message {
	t.Helper()
	for {
		if m := c.message(); m.Seq.String() == seq {
			return m
		}
	}
}

// takeChange takes c's message events up to the next change.
func takeChange(t *testing.T, c *tc) shared.Message {
	t.Helper()
	for {
		m := c.message()
		if shared.IsChange(m.Command) {
			return m
		}
	}
}

// TestEditDeleteReact: each change is a sequenced event delivered to the
// original's audience; the message shows its current state; who may do
// what.
func TestEditDeleteReact(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	alice2, _ := ts.login("alice")
	bob, _ := ts.login("bob")
	bob2, _ := ts.login("bob")
	carol, _ := ts.login("carol")

	// A direct message: bob reacts; alice's sockets and bob's other one
	// get it, not bob's sending socket, and not carol.
	d := send(t, alice, dm("bob", "lunch?"))
	bob.message()
	bob2.message()
	alice2.message()
	r := send(t, bob, changeReq("react", d.Seq, "👍"))
	for _, c := range []*tc{alice, alice2, bob2} {
		ev := takeChange(t, c)
		if ev.Command != "react" || ev.Sender != "bob" || ev.Recipient != "bob" || ev.Of != "chat" || ev.Ref.String() != d.Seq ||
			ev.Data != "👍" || ev.On == nil || !*ev.On || ev.Seq.String() != r.Seq {
			t.Fatalf("%s got %+v", c.name, ev)
		}
	}
	bob.none("message", 50*time.Millisecond)
	carol.none("message", 0)

	// Only the sender edits; only the sender (or a room's owner) deletes.
	if r := bob.req("message", changeReq("edit", d.Seq, "mine now")); r.Code != "403" {
		t.Fatalf("bob edits alice's: %+v", r)
	}
	if r := bob.req("message", changeReq("delete", d.Seq, "")); r.Code != "403" {
		t.Fatalf("bob deletes alice's: %+v", r)
	}
	if r := carol.req("message", changeReq("react", d.Seq, "👍")); r.Code != "404" {
		t.Fatalf("carol reacts to a DM she cannot see: %+v", r)
	}
	e := send(t, alice, changeReq("edit", d.Seq, "lunch at 1?"))
	for _, c := range []*tc{alice2, bob, bob2} {
		if ev := takeChange(t, c); ev.Command != "edit" || ev.Data != "lunch at 1?" || ev.Sender != "alice" || ev.Recipient != "bob" {
			t.Fatalf("%s got %+v", c.name, ev)
		}
	}
	h := bob.req("history", map[string]any{"target": "alice"})
	if len(h.Messages) != 1 || h.Messages[0].Data != "lunch at 1?" || h.Messages[0].Edited == "" ||
		fmt.Sprint(h.Messages[0].Reactions) != "map[👍:[bob]]" {
		t.Fatalf("history %+v", h.Messages)
	}
	_ = e

	// A room: carol (a member) deletes her message; bob, the owner,
	// deletes alice's; everyone, the sender's sockets included, hears it.
	mustRoom(t, "r", bob, alice, carol)
	g := send(t, alice, toRoom("r", "oops"))
	for _, c := range []*tc{alice, alice2, bob, bob2, carol} {
		messageSeq(t, c, g.Seq)
	}
	if r := carol.req("message", changeReq("delete", g.Seq, "")); r.Code != "403" {
		t.Fatalf("carol deletes alice's room message: %+v", r)
	}
	del := send(t, bob, changeReq("delete", g.Seq, ""))
	for _, c := range []*tc{alice, alice2, bob, bob2, carol} {
		if ev := takeChange(t, c); ev.Command != "delete" || ev.Seq.String() != del.Seq || ev.Data != "" || ev.Of != "groupchat" || ev.Recipient != "r" {
			t.Fatalf("%s got %+v", c.name, ev)
		}
	}
	h = carol.req("history", map[string]any{"target": "r", "command": "groupchat"})
	if len(h.Messages) != 1 || !h.Messages[0].Deleted || h.Messages[0].Data != "" {
		t.Fatalf("history %+v", h.Messages)
	}
	// A deleted message takes no more changes.
	for _, c := range []map[string]any{changeReq("edit", g.Seq, "x"), changeReq("delete", g.Seq, ""), changeReq("react", g.Seq, "👍")} {
		if r := alice.req("message", c); r.Code != "404" {
			t.Errorf("%v of a deleted message: %+v", c, r)
		}
	}
	// Reactions toggle, and stop at 20 kinds.
	m := send(t, alice, toRoom("r", "react!"))
	emojis := strings.Fields("😀 😃 😄 😁 😆 😅 😂 🤣 😊 😇 🙂 🙃 😉 😌 😍 🥰 😘 😗 😙 😚 😋")
	for _, em := range emojis[:20] {
		send(t, carol, changeReq("react", m.Seq, em))
	}
	before := ts.st.LastSeq()
	if r := carol.req("message", changeReq("react", m.Seq, emojis[20])); r.Code != "409" {
		t.Fatalf("21st reaction: %+v", r)
	}
	off := send(t, carol, changeReq("react", m.Seq, emojis[0]))
	if ts.st.LastSeq().String() != off.Seq || off.Seq == "" || ts.st.LastSeq() != before+1 {
		t.Fatalf("seqs: before %d, off %s, last %d", before, off.Seq, ts.st.LastSeq())
	}
	// Leaving the room ends access: no changes, no history.
	if r := carol.req("room", map[string]any{"command": "leave", "roomId": "r"}); r.Code != "200" {
		t.Fatal(r)
	}
	if r := carol.req("message", changeReq("react", m.Seq, "👍")); r.Code != "404" {
		t.Fatalf("react after leaving: %+v", r)
	}
}

// TestMentions: @id in a room or ALL message mentions accounts that can
// see it, at most 20; a direct message mentions no one; an edit changes
// them.
func TestMentions(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	bob, _ := ts.login("Bob")
	carol, _ := ts.login("carol")
	mustRoom(t, "r", alice, bob)
	send(t, alice, toRoom("r", "@bob @carol @nobody @alice, see @BOB."))
	if m := bob.message(); !slices.Equal(m.Mentions, []string{"Bob", "alice"}) {
		t.Fatalf("room mentions %q (carol is not a member)", m.Mentions)
	}
	send(t, alice, map[string]any{"recepient": "ALL", "command": "chat", "data": "hey @carol"})
	if m := carol.message(); !slices.Equal(m.Mentions, []string{"carol"}) {
		t.Fatalf("ALL mentions %q", m.Mentions)
	}
	send(t, alice, dm("carol", "hey @carol"))
	if m := carol.message(); m.Mentions != nil {
		t.Fatalf("DM mentions %q", m.Mentions)
	}
	var many []string
	for i := range 25 {
		id := fmt.Sprintf("u%02d", i)
		ts.login(id)
		many = append(many, "@"+id)
	}
	send(t, alice, map[string]any{"recepient": "ALL", "command": "chat", "data": strings.Join(many, " ")})
	if m := carol.message(); len(m.Mentions) != 20 || m.Mentions[0] != "u00" || m.Mentions[19] != "u19" {
		t.Fatalf("25 mentioned: %q", m.Mentions)
	}
	// An edit: the event carries no mentions; history and counts follow
	// the new text.
	g := send(t, alice, toRoom("r", "for @bob"))
	messageSeq(t, bob, g.Seq)
	send(t, alice, changeReq("edit", g.Seq, "for nobody"))
	if ev := takeChange(t, bob); ev.Mentions != nil {
		t.Fatalf("edit event with mentions %+v", ev)
	}
	h := bob.req("history", map[string]any{"target": "r", "command": "groupchat"})
	if last := h.Messages[len(h.Messages)-1]; last.Mentions != nil {
		t.Fatalf("history after edit %+v", last)
	}
	_, lr := ts.login("Bob")
	if c, _ := convOf(lr.Conversations, "r", "groupchat"); c.Mentions != 1 {
		t.Fatalf("bob's mentions in r: %+v (the first message only)", c)
	}
}

// TestRecoveryReplaysChanges: a client that was away gets, in seq order,
// every message as it is now and every change in its own place, across
// a restart; the same events as history shows.
func TestRecoveryReplaysChanges(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, _ := ts.login("alice")
	bob, lr := ts.login("bob")
	mustRoom(t, "r", alice, bob)
	offset := send(t, alice, toRoom("r", "before")).Seq
	bob.close()

	m1 := send(t, alice, toRoom("r", "first"))
	e1 := send(t, alice, changeReq("edit", m1.Seq, "first, edited"))
	x1 := send(t, alice, changeReq("react", m1.Seq, "🎉"))
	m2 := send(t, alice, dm("bob", "secret"))
	e2 := send(t, alice, changeReq("edit", m2.Seq, "secret, edited"))
	d2 := send(t, alice, changeReq("delete", m2.Seq, ""))
	ts.restart()

	c := ts.dial("bob", map[string]any{"token": lr.Token, "offset": offset})
	c.take("session", nil)
	var got []shared.Message
	for range 6 {
		got = append(got, c.message())
	}
	c.none("message", 100*time.Millisecond)
	want := []struct {
		seq, command, data string
	}{
		{m1.Seq, "groupchat", "first, edited"}, {e1.Seq, "edit", "first, edited"}, {x1.Seq, "react", "🎉"},
		{m2.Seq, "chat", ""}, {e2.Seq, "edit", ""}, {d2.Seq, "delete", ""},
	}
	for i, w := range want {
		g := got[i]
		if g.Seq.String() != w.seq || g.Command != w.command || g.Data != w.data {
			t.Errorf("replay %d: %+v, want %+v", i, g, w)
		}
	}
	if !got[3].Deleted || got[0].Edited == "" || fmt.Sprint(got[0].Reactions) != "map[🎉:[alice]]" {
		t.Errorf("current state in replay: %+v / %+v", got[0], got[3])
	}
}

// TestDeleteErases: after a clean stop, the text of a deleted message —
// as sent, as edited, long enough to overflow a page — and the bytes and
// name of its file are in no file of the data directory; the text and
// the file of a kept message are (so the search can find what is there).
func TestDeleteErases(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, ra := ts.login("alice")
	bob, _ := ts.login("bob")
	erasedFile := ts.mustUpload(ra.Token, "ERASE-NAME-4be1.txt", "text/plain", []byte("ERASE-FILE-0d93 "+strings.Repeat("secret ", 2000)))
	keptFile := ts.mustUpload(ra.Token, "kept.txt", "text/plain", []byte("KEEP-FILE-83c2"))
	m3 := send(t, alice, map[string]any{"recepient": "bob", "command": "chat", "type": "file", "file": erasedFile.ID, "data": "ERASE-CAPTION-e5f0"})
	send(t, alice, map[string]any{"recepient": "bob", "command": "chat", "type": "file", "file": keptFile.ID})
	mustRoom(t, "r", alice, bob)
	secret := "ERASE-ME-7c1f9 " + strings.Repeat("lorem ipsum ", 300) + "ERASE-ME-END"
	kept := "KEEP-ME-55aa2"
	m1 := send(t, alice, dm("bob", secret))
	send(t, alice, changeReq("edit", m1.Seq, "ERASE-EDIT-31b07 fixed"))
	m2 := send(t, alice, toRoom("r", "ERASE-ROOM-9d2e4 @bob"))
	send(t, bob, changeReq("react", m2.Seq, "👍"))
	send(t, alice, toRoom("r", kept))
	send(t, alice, changeReq("delete", m1.Seq, ""))
	send(t, alice, changeReq("delete", m2.Seq, ""))
	send(t, alice, changeReq("delete", m3.Seq, ""))
	ts.stop()

	found := map[string]bool{}
	err := filepath.WalkDir(ts.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range []string{"ERASE-ME-7c1f9", "ERASE-ME-END", "lorem ipsum lorem", "ERASE-EDIT-31b07", "ERASE-ROOM-9d2e4",
			"ERASE-NAME-4be1", "ERASE-FILE-0d93", "secret secret", "ERASE-CAPTION-e5f0", erasedFile.ID, kept, "KEEP-FILE-83c2"} {
			if bytes.Contains(b, []byte(s)) {
				found[s] = true
				t.Logf("%s holds %q", filepath.Base(path), s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found[kept] || !found["KEEP-FILE-83c2"] {
		t.Fatal("the kept message or file is in no file: the search is broken")
	}
	for s := range found {
		if s != kept && s != "KEEP-FILE-83c2" {
			t.Errorf("%q is still in the data directory", s)
		}
	}
}
