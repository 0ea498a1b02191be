package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"chatapp/shared"
)

// The service's part of issue 11 against the scripted server of
// client_test.go.

// connectedService starts a service for alice with a session stored at
// offset, cached messages (of ALL), and a connection accepted with her
// token.
func connectedService(t *testing.T, offset int, cached ...shared.Message) (*service, *testHost, *fakeConn) {
	t.Helper()
	h := newTestHost()
	fs := newFakeServer(t)
	withSession(h, fs, "tok", "alice", offset, cached...)
	s := startTestService(t, h, fs)
	fc := fs.accept()
	fc.open(25000, 20000)
	fc.connect(fmt.Sprintf(`{"token":"tok","offset":"%d"}`, offset))
	h.waitView(t, "connected", func(v View) bool { return v.State == stateConnected && v.LoggedIn })
	return s, h, fc
}

func now() string { return shared.FormatTime(time.Now()) }

// change decodes a change request.
func changeRequest(t *testing.T, r request) shared.SendMessage {
	t.Helper()
	var m shared.SendMessage
	if err := json.Unmarshal(r.arg, &m); err != nil || m.Ref == nil {
		t.Fatalf("change request %s: %v", r.arg, err)
	}
	return m
}

// Changes made offline wait in the outbox (persisted), show at once as
// pending, and go out in the order they were made, with the same cid
// after a lost connection; the answers apply them.
func TestService_ChangesWaitOfflineAndGoInOrder(t *testing.T) {
	t.Parallel()
	h := newTestHost()
	h.on.Store(false)
	fs := newFakeServer(t)
	withSession(h, fs, "tok", "alice", 5,
		msg(3, "alice", "ALL", shared.CommandChat, "oops"),
		msg(4, "alice", "ALL", shared.CommandChat, "helo"),
		msg(5, "bob", "ALL", shared.CommandChat, "look"))
	s := startTestService(t, h, fs)
	h.waitView(t, "offline with the cache", func(v View) bool { return v.NetDown && hasSeqs(v, "3", "4", "5") })

	s.Edit(editForm{Seq: "4", Text: "hello"})
	s.React(reactForm{Seq: "5", Emoji: "👍"})
	s.Delete("3")
	s.Edit(editForm{Seq: "5", Text: "not mine"}) // refused here: bob's
	v := h.waitView(t, "three changes pending", func(v View) bool {
		return len(v.Messages) == 3 && v.Messages[0].Deleted && v.Messages[0].Pending &&
			v.Messages[1].Text == "hello" && v.Messages[1].Pending && len(v.Messages[2].Reactions) == 1
	})
	if n := v.Notices["send"]; n.text(langEN) != "Not allowed." {
		t.Fatalf("editing someone else's message: %q", n.text(langEN))
	}
	stored := storedOutbox(h, fs)
	if len(stored) != 3 || stored[0].Op != opEdit || stored[1].Op != opReact || !stored[1].On || stored[2].Op != opDelete {
		t.Fatalf("stored outbox %+v", stored)
	}

	h.on.Store(true)
	s.Kick()
	fc := fs.accept()
	fc.open(25000, 20000)
	fc.connect(`{"token":"tok","offset":"5"}`)
	var first []shared.SendMessage
	for _, want := range []string{"edit 4 hello", "react 5 👍", "delete 3 "} {
		m := changeRequest(t, fc.recvRequest(shared.EventMessage))
		if got := m.Command + " " + m.Ref.String() + " " + m.Data; got != want || m.CID == "" {
			t.Fatalf("sent %q (cid %q), want %q", got, m.CID, want)
		}
		first = append(first, m)
	}
	fc.close() // lost before the answers

	fc2 := fs.accept()
	fc2.open(25000, 20000)
	fc2.connect(`{"token":"tok","offset":"5"}`)
	for i, seq := range []string{"6", "7", "8"} {
		r := fc2.recvRequest(shared.EventMessage)
		if m := changeRequest(t, r); m.CID != first[i].CID || m.Command != first[i].Command {
			t.Fatalf("resent %s %s, want the same cid %s", m.Command, m.CID, first[i].CID)
		}
		fc2.ack(r.id, shared.Response{Command: "message", Code: "200", Seq: seq, Time: now()})
	}
	v = h.waitView(t, "the changes done", func(v View) bool {
		return len(v.Messages) == 3 && !v.Messages[0].Pending && !v.Messages[1].Pending && !v.Messages[2].Pending
	})
	if !v.Messages[0].Deleted || v.Messages[1].Text != "hello" || v.Messages[1].Edited == "" ||
		len(v.Messages[2].Reactions) != 1 || !v.Messages[2].Reactions[0].Mine || v.Messages[2].Reactions[0].Count != 1 {
		t.Fatalf("after the answers: %+v", v.Messages)
	}
	if stored := storedOutbox(h, fs); len(stored) != 0 {
		t.Fatalf("stored outbox still %+v", stored)
	}
}

// The session event after a token reconnect gives the sidebar the
// server's counts; read events of the user's other devices clear them;
// opening a conversation with unread messages sends a read mark.
func TestService_SessionCountsAndReadMarks(t *testing.T) {
	t.Parallel()
	s, h, fc := connectedService(t, 10)
	fc.emit(shared.EventRoom, shared.RoomEvent{Command: shared.RoomList, Rooms: []shared.RoomInfo{{ID: "lounge", Name: "Lounge", Owner: "bob", Members: 2}}})
	fc.emit(shared.EventSession, shared.Session{
		User: &shared.Profile{ID: "alice", Alias: "Al"}, Offset: "12",
		Joined: []shared.JoinedRoom{{ID: "lounge", Name: "Lounge", Owner: "bob", Members: 2}, {ID: "den", Name: "Den", Owner: "alice", Members: 1, Private: true}},
		Conversations: []shared.Conversation{
			{Target: "bob", Command: shared.CommandChat, Last: 12, Read: 10, Unread: 2},
			{Target: "lounge", Command: shared.CommandGroupchat, Last: 11, Read: 3, Unread: 1, Mentions: 1},
			{Target: "den", Command: shared.CommandGroupchat, Last: 0},
		},
	})
	v := h.waitView(t, "the session's counts", func(v View) bool { return v.Unread == 3 && v.Me.Alias == "Al" })
	var rooms []string
	for _, r := range v.Rooms {
		rooms = append(rooms, fmt.Sprintf("%s member=%v private=%v %+v", r.ID, r.Member, r.Private, r.Counts))
	}
	if want := []string{"lounge member=true private=false {Unread:1 Mentions:1}", "den member=true private=true {Unread:0 Mentions:0}"}; !slices.Equal(rooms, want) {
		t.Fatalf("rooms %q, want %q (newest activity first, the private one listed)", rooms, want)
	}
	if len(v.People) != 1 || v.People[0].ID != "bob" || v.People[0].Unread != 2 || v.People[0].Presence != "unknown" {
		t.Fatalf("people %+v: bob's conversation should list him", v.People)
	}

	fc.emit(shared.EventRead, shared.Read{Target: "bob", Command: shared.CommandChat, Seq: 12})
	h.waitView(t, "read on another device", func(v View) bool { return v.Unread == 1 && v.People[0].Unread == 0 })

	s.Select(roomConv("lounge"))
	r := fc.recvRequest(shared.EventRead)
	var rr shared.ReadRequest
	json.Unmarshal(r.arg, &rr)
	if rr.Target != "lounge" || rr.Command != shared.CommandGroupchat || rr.Seq == nil || *rr.Seq != 11 {
		t.Fatalf("read request %s", r.arg)
	}
	fc.ack(r.id, shared.Response{Command: "read", Code: "200"})
	h.waitView(t, "all read", func(v View) bool { return v.Unread == 0 && v.Rooms[0].Mentions == 0 })

	// A message of someone else in the open conversation is read at once;
	// one of the user's own needs no mark.
	fc.emit(shared.EventMessage, shared.Message{Seq: 13, Time: now(), Sender: "bob", Recipient: "lounge", Command: shared.CommandGroupchat, Type: shared.TypeText, Data: "hi"})
	r = fc.recvRequest(shared.EventRead)
	json.Unmarshal(r.arg, &rr)
	if *rr.Seq != 13 {
		t.Fatalf("read request %s", r.arg)
	}
	fc.emit(shared.EventMessage, shared.Message{Seq: 14, Time: now(), Sender: "alice", Recipient: "lounge", Command: shared.CommandGroupchat, Type: shared.TypeText, Data: "mine"})
	s.Send(sendForm{Recipient: "lounge", Command: shared.CommandGroupchat, Text: "next", ReplyTo: "13"})
	var sent shared.SendMessage
	json.Unmarshal(fc.recvRequest(shared.EventMessage).arg, &sent) // no read request before it
	if sent.Data != "next" || sent.ReplyTo == nil || *sent.ReplyTo != 13 {
		t.Fatalf("sent %+v", sent)
	}
}

// Typing goes out at most every 2 s per conversation and never for ALL;
// others' typing shows in their conversation until their message comes.
func TestService_TypingBothWays(t *testing.T) {
	t.Parallel()
	s, h, fc := connectedService(t, 1)
	s.Select(userConv("bob"))
	s.Typing(userConv("bob"))
	s.Typing(userConv("bob")) // within 2 s: dropped here
	s.Typing(allConv)
	s.Typing(roomConv("notjoined"))
	s.Send(sendForm{Recipient: "bob", Command: shared.CommandChat, Text: "marker"})
	var names []string
	for {
		f := fc.recv()
		p, err := shared.DecodePacket([]byte(f[1:]))
		if err != nil || p.Type != shared.PacketEvent {
			continue
		}
		name, args, _ := shared.EventArgs(p.Data)
		if name == shared.EventHistory {
			continue
		}
		names = append(names, name+" "+string(args[0]))
		if name == shared.EventMessage {
			break
		}
	}
	if len(names) != 2 || names[0] != `typing {"recepient":"bob","command":"chat"}` {
		t.Fatalf("sent %q, want one typing then the message", names)
	}

	fc.emit(shared.EventTyping, shared.Typing{Sender: "bob", Recipient: "alice", Command: shared.CommandChat})
	fc.emit(shared.EventTyping, shared.Typing{Sender: "alice", Recipient: "bob", Command: shared.CommandChat}) // her other device
	fc.emit(shared.EventTyping, shared.Typing{Sender: "carol", Recipient: "lounge", Command: shared.CommandGroupchat})
	h.waitView(t, "bob typing", func(v View) bool { return slices.Equal(v.Typing, []string{"bob"}) })
	fc.emit(shared.EventMessage, shared.Message{Seq: 2, Time: now(), Sender: "bob", Recipient: "alice", Command: shared.CommandChat, Type: shared.TypeText, Data: "done"})
	h.waitView(t, "his message ends it", func(v View) bool { return len(v.Typing) == 0 && hasSeqs(v, "2") })
}

func TestModel_TypingLineGoesAfterFiveSeconds(t *testing.T) {
	t.Parallel()
	m := loggedInModel("alice")
	m.people["bob"] = shared.PresenceUser{ID: "bob", Alias: "Bob"}
	c := roomConv("lounge")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m.typingSeen(c, "bob", t0)
	m.typingSeen(c, "carol", t0.Add(2*time.Second))
	m.typingSeen(c, "BOB", t0.Add(3*time.Second)) // news from bob: his line lasts longer
	if got := m.typists(c, t0.Add(4*time.Second)); !slices.Equal(got, []string{"carol", "Bob"}) {
		t.Fatalf("typing at 4 s: %v", got)
	}
	if got := m.typists(c, t0.Add(7*time.Second)); !slices.Equal(got, []string{"Bob"}) {
		t.Fatalf("typing at 7 s: %v, want carol gone", got)
	}
	if got := m.typists(c, t0.Add(8*time.Second)); len(got) != 0 {
		t.Fatalf("typing at 8 s: %v", got)
	}
	for n, want := range map[int]string{0: "", 1: "A is typing…", 2: "A and B are typing…", 3: "Several people are typing…"} {
		if got := typingLine(langEN, []string{"A", "B", "C"}[:n]); got != want {
			t.Errorf("%d typing: %q", n, got)
		}
	}
}

// While the page is hidden, a direct message or a mention notifies, once
// the person turned notifications on; nothing else does.
func TestService_NotifiesDMsAndMentionsWhileHidden(t *testing.T) {
	t.Parallel()
	s, h, fc := connectedService(t, 1)
	send := func(seq int, from, to, command, text, at string, mentions ...string) {
		fc.emit(shared.EventMessage, shared.Message{Seq: shared.Seq(seq), Time: at, Sender: from, Recipient: to,
			Command: command, Type: shared.TypeText, Data: text, Mentions: mentions})
		h.waitView(t, "the message", func(v View) bool { return len(v.Messages) > 0 && v.Messages[len(v.Messages)-1].Seq == fmt.Sprint(seq) })
	}
	s.Visible(false)
	send(2, "bob", "alice", shared.CommandChat, "off: quiet", now())
	s.SetNotify(true)
	send(3, "bob", "alice", shared.CommandChat, "psst", now())
	send(4, "bob", "lounge", shared.CommandGroupchat, "@alice look", now(), "alice")
	send(5, "bob", "lounge", shared.CommandGroupchat, "for the room", now())
	send(6, "bob", "alice", shared.CommandChat, "missed an hour ago", shared.FormatTime(time.Now().Add(-time.Hour)))
	send(7, "alice", "bob", shared.CommandChat, "mine", now())
	s.Visible(true)
	send(8, "bob", "alice", shared.CommandChat, "seen", now())
	s.Visible(false)
	send(9, "bob", "ALL", shared.CommandChat, "hey @alice", now(), "alice")
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for {
		h.mu.Lock()
		got = got[:0]
		for _, n := range h.notes {
			got = append(got, n.Title+": "+n.Body+" → "+n.Path)
		}
		h.mu.Unlock()
		if len(got) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // notes go out with the next publish
	}
	want := []string{
		"bob: psst → /?open=user:bob",
		"bob mentioned you in # lounge: @alice look → /?open=room:lounge",
		"bob mentioned you in ALL: hey @alice → /?open=all",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}
	var on string
	h.kv.Get(keyNotify, &on)
	if on != "on" {
		t.Fatalf("the switch is stored as %q", on)
	}
}

// A click on a quote of a message older than the window loads older
// pages until it shows, then asks the page to scroll to it.
func TestService_SeekLoadsOlderPages(t *testing.T) {
	t.Parallel()
	var cached []shared.Message
	for i := 100; i <= 149; i++ {
		cached = append(cached, msg(i, "bob", "ALL", shared.CommandChat, fmt.Sprint("m", i)))
	}
	s, h, fc := connectedService(t, 149, cached...)
	page := func(from, to int) []shared.Message {
		var out []shared.Message
		for i := from; i <= to; i++ {
			out = append(out, msg(i, "bob", "ALL", shared.CommandChat, fmt.Sprint("m", i)))
		}
		return out
	}
	s.Seek(seekForm{Conv: allConv, Seq: "20"}) // from All messages: ALL opens
	for _, p := range [][2]int{{50, 99}, {1, 49}} {
		r := fc.recvRequest(shared.EventHistory)
		var hr shared.HistoryRequest
		json.Unmarshal(r.arg, &hr)
		if string(hr.Before) != fmt.Sprintf(`"%d"`, p[1]+1) {
			t.Fatalf("history before %s, want %d", hr.Before, p[1]+1)
		}
		fc.ack(r.id, shared.Response{Command: "history", Code: "200", Messages: page(p[0], p[1])})
	}
	v := h.waitView(t, "the quoted message", func(v View) bool { return v.Focus == "20" && v.FocusN == 1 })
	if v.Selected != allConv {
		t.Fatalf("selected %v", v.Selected)
	}
	s.Seek(seekForm{Seq: "20"}) // again: it is there
	h.waitView(t, "asked again", func(v View) bool { return v.FocusN == 2 })
}
