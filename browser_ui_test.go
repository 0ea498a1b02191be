//go:build !js

package main

// Browser tests of issue 16: each bug a new user hit, reproduced with
// several isolated browsers and plain Socket.IO peers against the built
// binary. The helpers (tab, peer, startServer) are in browser_test.go and
// binary_test.go.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"chatapp/shared"
)

// clickConv clicks the conversation row of a list entry: sel names the
// entry (`#peopleList > [data-user-id="bob"]`).
func (tb *tab) clickConv(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel + ` button.conv`)))
}

// history asks the server for the conversation with target as this peer.
func (pe *peer) history(target, command string) []shared.Message {
	pe.t.Helper()
	r := pe.emit(shared.EventHistory, shared.HistoryRequest{Target: target, Command: command})
	if r.Code != shared.CodeOK {
		pe.t.Fatalf("peer: history %s %s: %+v", command, target, r)
	}
	return r.Messages
}

// TestBrowserListResortKeepsRows is bug 1: after a list re-sorts, a click
// on a row opens that row's conversation, the composer addresses it and
// the message reaches it. People re-sort when someone comes online; rooms
// when a room that sorts first is created.
func TestBrowserListResortKeepsRows(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	base := "http://" + p.addr
	requireWasm(t, base)

	// alice, bob, carol and erin exist and are offline; erin stays as a
	// member of every room, to receive what is sent there.
	names := map[string]string{"alice": "Alice", "bob": "Bob", "carol": "Carol", "erin": "Erin"}
	for id := range names {
		pe := dialPeer(t, p.addr, id, id+"-pw-1")
		pe.emit(shared.EventLogin, shared.Login{ID: id, Password: id + "-pw-1", Alias: ptr(names[id])})
		pe.close()
	}
	dave := newTab(t, "dave", base, "en-US")
	dave.open()
	dave.waitState("connected")
	dave.login("dave", "dave-pw-1", "Dave", "")
	people := `[...document.querySelectorAll("#peopleList > [data-user-id]")].map(e => e.dataset.userId).join(",")`
	dave.waitFor("dave, alice, bob, carol, erin", people+` === "dave,alice,bob,carol,erin"`)

	// carol comes online: the list re-sorts under dave's rows.
	carol := dialPeer(t, p.addr, "carol", "carol-pw-1")
	dave.waitFor("carol first", people+` === "carol,dave,alice,bob,erin"`)
	for _, id := range []string{"alice", "bob", "carol", "erin", "dave"} {
		row := `#peopleList > [data-user-id="` + id + `"]`
		dave.clickConv(row)
		want := names[id]
		if id == "dave" {
			want = "Dave"
		}
		dave.waitFor(id+" opened", `document.querySelector("#convTitle").textContent === `+jsString(want)+
			` && document.querySelector(`+jsString(row)+`).dataset.selected === "true"`)
		if to, kind := eval[string](dave, `document.querySelector("#recepientInput").value`), eval[string](dave, `document.querySelector("#chattype").value`); to != id || kind != shared.CommandChat {
			t.Fatalf("after clicking %s the composer addresses %q as %q", id, to, kind)
		}
		dave.do(chromedp.SendKeys(chromedp.ID("dataInput"), "for "+id+"\r"))
		dave.waitMessage("for " + id)
	}
	// What the server delivered: each conversation holds its own message.
	carol.close()
	for id := range names {
		pe := dialPeer(t, p.addr, id, id+"-pw-1")
		var got []string
		for _, m := range pe.history("dave", shared.CommandChat) {
			got = append(got, m.Data)
		}
		if strings.Join(got, ",") != "for "+id {
			t.Errorf("%s's conversation with dave holds %q, want only %q", id, got, "for "+id)
		}
		pe.close()
	}

	// Rooms: dave creates two, then erin creates one that sorts first.
	erin := dialPeer(t, p.addr, "erin", "erin-pw-1")
	rooms := `[...document.querySelectorAll("#roomList > [data-room-id]")].map(e => e.dataset.roomId).join(",")`
	for _, id := range []string{"mango", "pear"} {
		dave.createRoom(id, strings.ToUpper(id[:1])+id[1:])
		if r := erin.emit(shared.EventRoom, shared.RoomRequest{Command: shared.RoomJoin, RoomID: id}); r.Code != shared.CodeOK {
			t.Fatalf("erin joins %s: %+v", id, r)
		}
	}
	dave.waitFor("mango, pear", rooms+` === "mango,pear"`)
	dave.clickConv(`#roomList > [data-room-id="pear"]`) // a selected row, re-sorted too
	if r := erin.emit(shared.EventRoom, shared.RoomRequest{Command: shared.RoomCreate, RoomID: "apple", RoomName: "Apple"}); r.Code != shared.CodeOK {
		t.Fatalf("erin creates apple: %+v", r)
	}
	dave.waitFor("apple first", rooms+` === "apple,mango,pear"`)
	for _, id := range []string{"mango", "pear", "apple"} {
		row := `#roomList > [data-room-id="` + id + `"]`
		dave.clickConv(row)
		name := strings.ToUpper(id[:1]) + id[1:]
		dave.waitFor(id+" opened", `document.querySelector("#convTitle").textContent === `+jsString("# "+name)+
			` && document.querySelector(`+jsString(row)+`).dataset.selected === "true"`)
		if to, kind := eval[string](dave, `document.querySelector("#recepientInput").value`), eval[string](dave, `document.querySelector("#chattype").value`); to != id || kind != shared.CommandGroupchat {
			t.Fatalf("after clicking room %s the composer addresses %q as %q", id, to, kind)
		}
		if id == "apple" {
			continue // dave is not a member
		}
		dave.do(chromedp.SendKeys(chromedp.ID("dataInput"), "in "+id+"\r"))
		dave.waitMessage("in " + id)
	}
	for _, id := range []string{"mango", "pear"} {
		var got []string
		for _, m := range erin.history(id, shared.CommandGroupchat) {
			got = append(got, m.Data)
		}
		if strings.Join(got, ",") != "in "+id {
			t.Errorf("room %s holds %q, want only %q", id, got, "in "+id)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// createRoom creates a room through the room form and waits for the
// confirmation.
func (tb *tab) createRoom(id, name string) {
	tb.t.Helper()
	tb.set("roomIdInput", id)
	tb.set("roomNameInput", name)
	tb.click("createRoomButton")
	tb.waitFor(fmt.Sprintf("room %s created", id), `document.querySelector('#roomList > [data-room-id="`+id+`"]')`)
}
