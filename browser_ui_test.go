//go:build !js

package main

// Browser tests of issue 16: each bug a new user hit, reproduced with
// several isolated browsers and plain Socket.IO peers against the built
// binary. The helpers (tab, peer, startServer) are in browser_test.go and
// binary_test.go.

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"

	"chatapp/shared"
)

// serveApp starts a server for a browser test (with extra flags) and
// returns it with the app's address.
func serveApp(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	p := startServer(t, t.TempDir(), args...)
	base := "http://" + p.addr
	requireWasm(t, base)
	return p, base
}

// openTab starts a browser on the app and waits until it is connected.
func openTab(t *testing.T, name, base string) *tab {
	t.Helper()
	tb := newTab(t, name, base, "en-US")
	tb.open()
	tb.waitState("connected")
	return tb
}

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
	p, base := serveApp(t)

	// alice, bob, carol and erin exist and are offline; erin stays as a
	// member of every room, to receive what is sent there.
	names := map[string]string{"alice": "Alice", "bob": "Bob", "carol": "Carol", "erin": "Erin"}
	for id := range names {
		pe := dialPeer(t, p.addr, id, id+"-pw-1")
		pe.emit(shared.EventLogin, shared.Login{ID: id, Password: id + "-pw-1", Alias: ptr(names[id])})
		pe.close()
	}
	dave := openTab(t, "dave", base)
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

	// Rooms: dave creates two, then erin creates one that sorts first and
	// dave joins it on another device (his joined rooms come first).
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
	davePhone := dialPeer(t, p.addr, "dave", "dave-pw-1")
	if r := davePhone.emit(shared.EventRoom, shared.RoomRequest{Command: shared.RoomJoin, RoomID: "apple"}); r.Code != shared.CodeOK {
		t.Fatalf("dave joins apple: %+v", r)
	}
	davePhone.send("apple", shared.CommandGroupchat, "hello apple")
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
		dave.do(chromedp.SendKeys(chromedp.ID("dataInput"), "in "+id+"\r"))
		dave.waitMessage("in " + id)
	}
	for _, id := range []string{"mango", "pear", "apple"} {
		var got []string
		for _, m := range erin.history(id, shared.CommandGroupchat) {
			if m.Data != "hello apple" {
				got = append(got, m.Data)
			}
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
	tb.openRoomForm()
	tb.set("roomIdInput", id)
	tb.set("roomNameInput", name)
	tb.click("createRoomButton")
	tb.waitFor(fmt.Sprintf("room %s created", id), `document.querySelector('#roomList > [data-room-id="`+id+`"]') && !document.querySelector("#roomDialog").open`)
}

// TestBrowserAllMessagesNeverGuessesTheTarget is bug 2: in "All
// messages" a direct message is labelled with its conversation, and the
// composer never addresses everyone by default: a reply goes where the
// message being replied to came from, and without one the composer asks
// for a conversation.
func TestBrowserAllMessagesNeverGuessesTheTarget(t *testing.T) {
	t.Parallel()
	p, base := serveApp(t)
	alice := dialPeer(t, p.addr, "alice", "alice-pw-1")
	carol := dialPeer(t, p.addr, "carol", "carol-pw-1")
	bob := openTab(t, "bob", base)
	bob.login("bob", "bob-pw-12", "Bob", "")

	alice.send("bob", shared.CommandChat, "psst, bob")
	bob.waitMessage("psst, bob")
	label := eval[string](bob, `(() => { const m = [...document.querySelectorAll("#result [data-seq]")].find(e => e.querySelector(".msg-text").textContent === "psst, bob"); const w = m.querySelector(".msg-where"); return w ? w.textContent : ""; })()`)
	if !strings.Contains(label, "alice") {
		t.Errorf("in All messages alice's direct message is labelled %q", label)
	}

	// Enter without a conversation: nothing is sent.
	bob.replyInAll("", "who gets this?")
	// A reply follows the message it answers.
	bob.replyInAll("psst, bob", "just you, alice")
	alice.waitMessage("just you, alice")
	alice.send("ALL", shared.CommandChat, "barrier") // after everything bob sent
	carol.waitMessage("barrier")
	for _, text := range []string{"who gets this?", "just you, alice"} {
		if n := carol.countMessages(text); n != 0 {
			t.Errorf("carol received %q", text)
		}
	}
	if n := alice.countMessages("who gets this?"); n != 0 {
		t.Errorf("alice received the message typed without a conversation")
	}
}

// TestBrowserRenameKeepsTheNewName is bug 3: after a rename, selecting
// another conversation and coming back shows the new name in the form, so
// Rename does not revert it.
func TestBrowserRenameKeepsTheNewName(t *testing.T) {
	t.Parallel()
	_, base := serveApp(t)
	tb := openTab(t, "owner", base)
	tb.login("owner", "owner-pw-1", "", "")
	tb.createRoom("ops", "Ops")
	tb.renameRoom("ops", "Operations")
	tb.waitFor("the new name in the list", `document.querySelector('#roomList > [data-room-id="ops"] .conv-name').textContent === "Operations"`)
	tb.do(chromedp.Click(chromedp.ID("convAll")))
	tb.clickConv(`#roomList > [data-room-id="ops"]`)
	tb.openRename()
	if v := eval[string](tb, `document.querySelector("#roomNameInput").value`); v != "Operations" {
		t.Errorf("the name field holds %q after coming back to the room", v)
	}
	tb.click("updateRoomButton")
	tb.waitFor("the dialog closed", `!document.querySelector("#roomDialog").open`)
	tb.waitNotice("roomNotice", "info", "Room renamed.")
	if v := eval[string](tb, `document.querySelector('#roomList > [data-room-id="ops"] .conv-name').textContent`); v != "Operations" {
		t.Errorf("Rename made the room %q", v)
	}

	// The room menu acts on the room now selected, not on the one it was
	// first rendered for.
	tb.createRoom("dev", "Dev")
	tb.do(chromedp.Click(chromedp.ID("convAll")))
	tb.clickConv(`#roomList > [data-room-id="ops"]`)
	tb.waitFor("ops open", `document.querySelector("#convTitle").textContent === "# Operations"`)
	tb.clickConv(`#roomList > [data-room-id="dev"]`)
	tb.waitFor("dev open", `document.querySelector("#convTitle").textContent === "# Dev"`)
	tb.click("roomMenuButton")
	tb.click("menuLeave")
	tb.waitNotice("roomNotice", "info", "Left the room.")
	if got := eval[string](tb, `[...document.querySelectorAll("#roomList > [data-room-id]")].map(e => e.dataset.roomId + "=" + e.dataset.member).join(",")`); got != "ops=true,dev=false" {
		t.Errorf("after Leave in dev's menu: %s", got)
	}
}

// openRoomForm opens the room dialog (the seed's room fields and five
// buttons), unless it is open.
func (tb *tab) openRoomForm() {
	tb.t.Helper()
	if !eval[bool](tb, `document.querySelector("#roomDialog").open`) {
		tb.click("newRoomButton")
		tb.waitFor("the room dialog", `document.querySelector("#roomDialog").open`)
	}
}

// renameRoom renames a room through its header menu.
func (tb *tab) renameRoom(id, name string) {
	tb.t.Helper()
	tb.clickConv(`#roomList > [data-room-id="` + id + `"]`)
	tb.openRename()
	tb.set("roomNameInput", name)
	tb.click("updateRoomButton")
	tb.waitFor("the dialog closed", `!document.querySelector("#roomDialog").open`)
	tb.waitNotice("roomNotice", "info", "Room renamed.")
}

// openRename opens the rename dialog of the selected room from its menu.
func (tb *tab) openRename() {
	tb.t.Helper()
	tb.click("roomMenuButton")
	tb.click("menuRename")
	tb.waitFor("the rename dialog", `document.querySelector("#roomDialog").open`)
}

// replyInAll answers in "All messages": the reply to the message with
// text to (none: just Enter in the composer).
func (tb *tab) replyInAll(to, text string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.ID("convEverything")))
	if to != "" {
		tb.do(chromedp.Click(chromedp.CSS(`#result [data-seq] button.reply`)))
	}
	tb.do(chromedp.SendKeys(chromedp.ID("dataInput"), text+"\r"))
	if to != "" {
		tb.waitMessage(text)
		return
	}
	tb.waitFor("a refusal or the message", `!document.querySelector("#sendNotice").hidden || [...document.querySelectorAll("#result .msg-text, #outbox .msg-text")].some(e => e.textContent === `+jsString(text)+`)`)
	if sent := eval[bool](tb, `[...document.querySelectorAll("#result .msg-text, #outbox .msg-text")].some(e => e.textContent === `+jsString(text)+`)`); sent {
		tb.t.Fatalf("%s: %q was sent from All messages without a conversation", tb.name, text)
	}
	tb.waitNotice("sendNotice", "error", "Pick a conversation")
	tb.set("dataInput", "") // the refused text stays for the person to fix
}

// TestBrowserHistoryPages is bug 4: on a new device "All messages" shows
// the conversations' history, and a long conversation loads older pages
// as the log scrolls up, all the way to its first message, with a bounded
// number of messages in the page; scrolling back down brings the newest
// again.
func TestBrowserHistoryPages(t *testing.T) {
	t.Parallel()
	p, base := serveApp(t, "--msg-rate", "0")
	bob := dialPeer(t, p.addr, "bob", "bob-pw-12")
	alice := dialPeer(t, p.addr, "alice", "alice-pw-1")
	if r := bob.emit(shared.EventRoom, shared.RoomRequest{Command: shared.RoomCreate, RoomID: "deep", RoomName: "Deep"}); r.Code != shared.CodeOK {
		t.Fatal(r)
	}
	if r := alice.emit(shared.EventRoom, shared.RoomRequest{Command: shared.RoomJoin, RoomID: "deep"}); r.Code != shared.CodeOK {
		t.Fatal(r)
	}
	const n = 460
	for i := 1; i <= n; i++ {
		bob.send("deep", shared.CommandGroupchat, fmt.Sprintf("deep %d", i))
	}
	bob.send("alice", shared.CommandChat, "a direct message")
	alice.close()

	tb := openTab(t, "alice", base)
	tb.login("alice", "alice-pw-1", "", "")
	tb.waitMessage(fmt.Sprintf("deep %d", n))
	tb.waitMessage("a direct message")

	tb.clickConv(`#roomList > [data-room-id="deep"]`)
	tb.waitMessage(fmt.Sprintf("deep %d", n))
	shown := `document.querySelectorAll("#result [data-seq]").length`
	most := 0
	for step := 0; ; step++ {
		if tb.count("deep 1") == 1 {
			break
		}
		if step > 40 {
			t.Fatalf("scrolled up %d times without reaching the first message\n%s", step, tb.describe())
		}
		first := eval[string](tb, `document.querySelector("#result [data-seq]").dataset.seq`)
		tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#log").scrollTop = 0`))
		tb.waitFor("an older page", `document.querySelector("#result [data-seq]").dataset.seq !== `+jsString(first)+` || document.querySelector('#log[data-history="start"]')`)
		most = max(most, eval[int](tb, shown))
	}
	if most > 300 {
		t.Errorf("the log held %d messages at once", most)
	}
	if got := eval[string](tb, `document.querySelector("#log").dataset.history`); got != "start" {
		t.Errorf("at the first message #log data-history is %q", got)
	}
	newest := `[...document.querySelectorAll("#result [data-seq] .msg-text")].some(e => e.textContent === "deep ` + fmt.Sprint(n) + `")`
	for step := 0; ; step++ {
		last := eval[string](tb, `[...document.querySelectorAll("#result [data-seq]")].pop().dataset.seq`)
		if eval[bool](tb, newest) {
			break
		}
		if step > 40 {
			t.Fatalf("scrolled down %d times without reaching the newest message", step)
		}
		tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#log").scrollTop = 1e9`))
		tb.waitFor("a newer page", `[...document.querySelectorAll("#result [data-seq]")].pop().dataset.seq !== `+jsString(last)+` || `+newest)
	}
	tb.checkOrdered()
}

// TestBrowserSmallBugs is bug 5: leaving a room clears its messages;
// Delete asks first; "Too many requests" goes once the queue drained; a
// text over the limit is refused with a counter, never cut; a room of one
// has "1 member"; the Korean chat-type options are Korean; while the
// server is down presence is unknown and the status tooltip is a
// sentence, not a Go error.
func TestBrowserSmallBugs(t *testing.T) {
	t.Parallel()
	p, base := serveApp(t, "--msg-rate", "1", "--msg-burst", "3")
	bob := dialPeer(t, p.addr, "bob", "bob-pw-12")
	tb := openTab(t, "alice", base)
	tb.login("alice", "alice-pw-1", "", "")

	// Leaving clears the room's messages.
	tb.createRoom("den", "Den")
	if got := eval[string](tb, `document.querySelector('#roomList > [data-room-id="den"] .members').title`); got != "1 member" {
		t.Errorf("a room of one is %q", got)
	}
	tb.clickConv(`#roomList > [data-room-id="den"]`)
	tb.do(chromedp.SendKeys(chromedp.ID("dataInput"), "a secret of the den\r"))
	tb.waitMessage("a secret of the den")
	tb.roomAction("leaveRoomButton", "den")
	tb.waitNotice("roomNotice", "info", "Left the room.")
	tb.waitFor("the den's messages gone", `![...document.querySelectorAll("#result .msg-text")].some(e => e.textContent === "a secret of the den")`)

	// Delete asks; cancelling keeps the room.
	tb.roomAction("deleteRoomButton", "den")
	tb.waitFor("a confirmation", `document.querySelector("#confirmDialog[open]")`)
	tb.click("confirmCancel")
	tb.waitFor("the confirmation closed", `!document.querySelector("#confirmDialog[open]")`)
	if eval[bool](tb, `!document.querySelector('#roomList > [data-room-id="den"]')`) {
		t.Fatal("cancelled Delete deleted the room")
	}
	tb.roomAction("deleteRoomButton", "den")
	tb.click("confirmOK")
	tb.waitFor("the room gone", `!document.querySelector('#roomList > [data-room-id="den"]')`)

	// Too many requests, then the queue drains and the notice goes.
	tb.do(chromedp.Click(chromedp.CSS(`#peopleList > [data-user-id="bob"] button.conv`)))
	for i := range 6 { // faster than --msg-rate 1 --msg-burst 3 allows
		tb.set("dataInput", fmt.Sprintf("quick %d", i))
		tb.do(chromedp.SendKeys(chromedp.ID("dataInput"), "\r"))
	}
	tb.waitNotice("sendNotice", "error", "Too many requests")
	bob.waitMessage("quick 5")
	tb.waitFor("the outbox drained", `!document.querySelector("#outbox [data-cid]")`)
	tb.waitFor("the notice gone", `document.querySelector("#sendNotice").hidden`)

	// Over the limit: a counter, a refusal, and nothing cut.
	long := strings.Repeat("x", shared.DefaultMaxText+10)
	tb.set("dataInput", long)
	tb.waitFor("the counter over the limit", `(() => { const c = document.querySelector("#charCount"); return c && !c.hidden && c.dataset.over === "true" && c.textContent.includes("4010"); })()`)
	tb.do(chromedp.SendKeys(chromedp.ID("dataInput"), "\r"))
	tb.waitNotice("sendNotice", "error", "too long")
	if n := eval[int](tb, `document.querySelector("#dataInput").value.length`); n != len(long) {
		t.Errorf("the composer holds %d characters of %d", n, len(long))
	}
	tb.set("dataInput", "")

	// Korean chat-type options say it in Korean.
	tb.click("langButton")
	tb.waitFor("Korean", `document.documentElement.lang === "ko"`)
	if opts := eval[string](tb, `[...document.querySelectorAll("#chattype option")].map(o => o.textContent).join("|")`); strings.ContainsAny(opts, "abcdefghijklmnopqrstuvwxyz") {
		t.Errorf("Korean chat-type options %q", opts)
	}
	tb.click("langButton")
	tb.waitFor("English", `document.documentElement.lang === "en"`)

	// The server goes away: presence is unknown, the tooltip a sentence.
	tb.waitFor("bob online", `document.querySelector('#peopleList > [data-user-id="bob"][data-online="true"]')`)
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	bob.close()
	tb.waitFor("offline", `document.querySelector("#status").dataset.state === "offline" && document.querySelector("#status").title !== ""`)
	if n := eval[int](tb, `document.querySelectorAll('#peopleList [data-online="true"]').length`); n != 0 {
		t.Errorf("%d people shown online while disconnected", n)
	}
	tb.waitFor("the tooltip a sentence", `document.querySelector("#status").title.startsWith("Cannot reach 127.0.0.1:")`)
}

// roomAction presses one of the room dialog's buttons for the room id.
func (tb *tab) roomAction(button, id string) {
	tb.t.Helper()
	tb.openRoomForm()
	tb.set("roomIdInput", id)
	tb.click(button)
}

// TestBrowserTokenStaysWithItsServer is issue 18 item 5: the session token
// belongs to the server that issued it. Pointing the Server fields at
// another server connects there without it, and coming back finds the
// first session still logged in.
func TestBrowserTokenStaysWithItsServer(t *testing.T) {
	t.Parallel()
	p, base := serveApp(t)
	other := newRecordingServer(t)

	tb := openTab(t, "alice", base)
	tb.login("alice", "alice-pw-1", "", "")
	tb.connectTo("127.0.0.1", other.port)
	tb.waitFor("connected to the other server", `document.querySelector("#status").dataset.state === "connected"`)
	for _, auth := range other.connects() {
		if strings.Contains(auth, "token") {
			t.Errorf("the other server got CONNECT %s", auth)
		}
	}
	if eval[bool](tb, `!!document.querySelector("#logoutButton")`) {
		t.Error("logged in on a server where nobody logged in")
	}

	_, port, _ := net.SplitHostPort(p.addr)
	tb.connectTo("127.0.0.1", port)
	tb.waitState("connected")
	tb.waitFor("alice's session back", `document.querySelector("#logoutButton") && !document.querySelector("#login")`)
}

// connectTo points the app at another server through the Server fields.
func (tb *tab) connectTo(host, port string) {
	tb.t.Helper()
	tb.openSettings()
	tb.set("hostInput", host)
	tb.set("portInput", port)
	tb.click("connectButton")
}

// openSettings opens the server settings, unless they are open.
func (tb *tab) openSettings() {
	tb.t.Helper()
	if !eval[bool](tb, `document.querySelector("#settingsDialog").open`) {
		tb.click("settingsButton")
		tb.waitFor("the settings", `document.querySelector("#settingsDialog").open`)
	}
}

// recordingServer is a minimal Socket.IO server that records each CONNECT
// payload and accepts only anonymous ones, as a real server would accept
// no token it did not issue.
type recordingServer struct {
	port string
	mu   sync.Mutex
	auth []string
}

func newRecordingServer(t *testing.T) *recordingServer {
	rs := &recordingServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		open := shared.AppendEngineOpen(nil, shared.EngineOpen{SID: "rec", PingInterval: 25000, PingTimeout: 20000, MaxPayload: 65536})
		if c.Write(ctx, websocket.MessageText, open) != nil {
			return
		}
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if !strings.HasPrefix(string(b), "40") {
				continue
			}
			rs.mu.Lock()
			rs.auth = append(rs.auth, string(b[2:]))
			rs.mu.Unlock()
			answer := `40{"sid":"rec1"}`
			if strings.Contains(string(b), "token") {
				answer = `44{"message":"invalid session"}`
			}
			c.Write(ctx, websocket.MessageText, []byte(answer))
		}
	}))
	t.Cleanup(srv.Close)
	_, rs.port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	return rs
}

func (rs *recordingServer) connects() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.auth)
}

// axeSource is axe-core, installed by make interop-deps.
var axeSource = sync.OnceValues(func() ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
})

// axeCheck runs axe-core in the page and fails on any violation.
func (tb *tab) axeCheck(what string) {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.t.Fatalf("axe-core: %v (run make interop-deps)", err)
	}
	if !eval[bool](tb, `typeof axe !== "undefined"`) {
		tb.do(chromedp.Evaluate[chromedp.Void](string(src)))
	}
	report := eval[[]struct {
		ID, Impact, Help string
		Nodes            []struct {
			Target         []any
			FailureSummary string
		}
	}](tb, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`)
	for _, v := range report {
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, fmt.Sprint(n.Target)+": "+strings.ReplaceAll(n.FailureSummary, "\n", " "))
		}
		tb.t.Errorf("%s: axe %s (%s): %s\n    %s", what, v.ID, v.Impact, v.Help, strings.Join(nodes, "\n    "))
	}
	tb.t.Logf("%s: axe found %d violations", what, len(report))
}

// TestBrowserAccessibility runs axe-core on the page in light and dark,
// logged out and in (a conversation open, a dialog open), at desktop and
// phone width, and checks the keyboard path: the id field has the focus
// on load, the composer after login and after picking a conversation,
// and a skip link leads to the composer.
func TestBrowserAccessibility(t *testing.T) {
	t.Parallel()
	p, base := serveApp(t)
	bob := dialPeer(t, p.addr, "bob", "bob-pw-12")
	tb := openTab(t, "alice", base)
	tb.waitFor("the id field focused", `document.activeElement.id === "idInput"`)

	views := func(state string) {
		for _, dark := range []bool{false, true} {
			tb.emulate(dark)
			for _, phone := range []bool{false, true} {
				w, h := int64(1280), int64(800)
				if phone {
					w, h = 375, 812
				}
				tb.viewport(w, h, phone)
				name := fmt.Sprintf("%s, %s, %d px", state, map[bool]string{false: "light", true: "dark"}[dark], w)
				tb.axeCheck(name)
				if phone && state != "logged out" {
					tb.click("menuButton")
					tb.waitFor("the drawer open", `document.querySelector(".sidebar").getBoundingClientRect().left === 0`)
					tb.axeCheck(name + ", sidebar open")
					// On the scrim beside the drawer (its middle is under the drawer).
					tb.do(chromedp.MouseClickXY(float64(w)-8, float64(h)/2))
					tb.waitFor("the drawer closed", `document.querySelector(".sidebar").getBoundingClientRect().right <= 0`)
				}
			}
		}
		tb.emulate(false)
		tb.viewport(1280, 800, false)
	}
	views("logged out")

	tb.login("alice", "alice-pw-1", "Alice", "testing")
	tb.waitFor("the composer focused after login", `document.activeElement.id === "dataInput"`)
	bob.send("ALL", shared.CommandChat, "hello, see https://example.org/a?b=1.")
	tb.waitMessage("hello, see https://example.org/a?b=1.")
	if href := eval[string](tb, `(() => { const a = document.querySelector("#result .msg-text a"); return a ? a.href + " " + a.rel + " " + a.target : ""; })()`); href != "https://example.org/a?b=1 noopener noreferrer _blank" {
		t.Errorf("the link in a message is %q", href)
	}
	views("logged in, all messages")

	tb.createRoom("lounge", "The Lounge")
	tb.waitFor("the composer focused in the new room", `document.activeElement.id === "dataInput"`)
	tb.set("dataInput", "line one")
	tb.do(chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)))
	tb.do(chromedp.SendKeys(chromedp.ID("dataInput"), "line two\r"))
	tb.waitFor("a two-line message", `[...document.querySelectorAll("#result .msg-text")].some(e => e.textContent === "line one\nline two")`)
	tb.clickConv(`#peopleList > [data-user-id="bob"]`)
	tb.waitFor("the composer focused after picking bob", `document.activeElement.id === "dataInput"`)
	views("logged in, a conversation")
	teamChatStates(t, tb, bob)

	tb.clickConv(`#roomList > [data-room-id="lounge"]`)
	tb.openRename()
	tb.axeCheck("the room dialog")
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.waitFor("the dialog closed", `!document.querySelector("#roomDialog").open`)

	// The skip link is the first stop of the keyboard and leads to the
	// composer; the log scrolls by keyboard.
	tb.reload()
	tb.waitState("connected")
	tb.do(chromedp.KeyEvent(kb.Tab))
	tb.waitFor("the skip link focused", `document.activeElement.classList.contains("skip-link")`)
	tb.do(chromedp.KeyEvent("\r"))
	tb.waitFor("the composer reached by the skip link", `location.hash === "#dataInput"`)
	if ti := eval[string](tb, `document.querySelector("#log").getAttribute("tabindex")`); ti != "0" {
		t.Errorf("#log tabindex %q", ti)
	}
}

// teamChatStates runs axe-core on what issue 11 added: in the lounge,
// where alice is, a mention, the "new messages" line, a reply with its
// quote, reactions (hers and bob's), an edited and a deleted message and
// bob typing; then a message's actions and emoji picker, the actions
// after a long press at phone width, the @ completion list, the reply
// and edit chips and the delete confirmation.
func teamChatStates(t *testing.T, tb *tab, bob *peer) {
	t.Helper()
	if r := bob.emit(shared.EventRoom, shared.RoomRequest{Command: shared.RoomJoin, RoomID: "lounge"}); r.Code != shared.CodeOK {
		t.Fatal(r)
	}
	change := func(command string, ref, data string) {
		t.Helper()
		seq, err := shared.ParseSeq(ref)
		if err != nil {
			t.Fatal(err)
		}
		if r := bob.emit(shared.EventMessage, shared.SendMessage{Command: command, Ref: &seq, Data: data}); r.Code != shared.CodeOK {
			t.Fatalf("%s: %+v", command, r)
		}
	}
	bob.send("lounge", shared.CommandGroupchat, "@alice are you there?")
	bob.send("lounge", shared.CommandGroupchat, "this one goes away")
	tb.waitFor("the mention marker", `document.querySelector('#roomList > [data-room-id="lounge"] .mention-mark')`)
	tb.clickConv(`#roomList > [data-room-id="lounge"]`)
	question := tb.seqOf("@alice are you there?")
	tb.waitFor("the new messages line", `document.querySelector("#newLine")`)
	tb.clickIn(question, "button.reply")
	tb.typeKeys("yes, here\r")
	yes := tb.seqOf("yes, here")
	tb.clickIn(question, "button.react")
	tb.clickIn(question, `.pick[aria-label="React with 👍"]`)
	change(shared.CommandReact, question, "❤️")
	change(shared.CommandReact, yes, "👍")
	change(shared.CommandDelete, tb.seqOf("this one goes away"), "")
	tb.typeKeys("a typo hre\r")
	typo := tb.seqOf("a typo hre")
	tb.clickIn(typo, "button.edit")
	tb.set("dataInput", "a typo here, fixed")
	tb.typeKeys("\r")
	tb.waitFor("everything shown", `document.querySelectorAll('#result .reaction').length === 3 && document.querySelector('#result [data-deleted="true"]') && document.querySelector("#result .msg-state")`)
	if r := bob.emit(shared.EventTyping, shared.Typing{Recipient: "lounge", Command: shared.CommandGroupchat}); r.Code != shared.CodeOK {
		t.Fatal(r)
	}
	tb.waitFor("bob typing", `document.querySelector("#typing").textContent !== ""`)
	tb.axeCheck("a conversation with a mention, a reply, reactions, edits and someone typing")
	tb.emulate(true)
	tb.axeCheck("the same, dark")
	tb.emulate(false)

	tb.do(chromedp.Focus(chromedp.CSS(`#result > [data-seq="` + yes + `"] button.react`)))
	tb.clickIn(yes, "button.react")
	tb.waitFor("the picker", `document.querySelector(".picker")`)
	tb.axeCheck("a message's actions and its emoji picker")
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.waitFor("the picker closed", `!document.querySelector(".picker")`)

	tb.viewport(375, 812, true)
	tb.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#result > [data-seq="` + typo + `"] .msg-text').dispatchEvent(new PointerEvent("contextmenu", {bubbles: true, cancelable: true, pointerType: "touch"}))`))
	tb.waitFor("the actions after a long press", `document.querySelector('#result > [data-seq="`+typo+`"]').dataset.open === "true"`)
	tb.axeCheck("a message's actions after a long press, 375 px")
	tb.viewport(1280, 800, false)

	tb.typeKeys("@b")
	tb.waitFor("the @ list", `!document.querySelector("#mentionList").hidden`)
	tb.axeCheck("the @ completion list")
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.waitFor("the @ list closed", `document.querySelector("#mentionList").hidden`)
	tb.set("dataInput", "")
	tb.clickIn(question, "button.reply")
	tb.waitFor("the reply chip", `document.querySelector("#replyChip")`)
	tb.axeCheck("the reply chip")
	tb.click("replyCancel")
	tb.clickIn(yes, "button.edit")
	tb.waitFor("the edit chip", `document.querySelector("#editChip")`)
	tb.axeCheck("the edit chip")
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.clickIn(yes, "button.delete")
	tb.waitFor("the confirmation", `document.querySelector("#confirmDialog").open`)
	tb.axeCheck("the delete confirmation")
	tb.click("confirmCancel")
	tb.waitFor("the confirmation closed", `!document.querySelector("#confirmDialog").open`)
}

// emulate sets the colour scheme (and no motion, so layouts settle).
func (tb *tab) emulate(dark bool) {
	tb.t.Helper()
	f := []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}, {Name: "prefers-color-scheme", Value: "light"}}
	if dark {
		f[1].Value = "dark"
	}
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: f}); err != nil {
		tb.t.Fatal(err)
	}
	tb.waitFor("the colour scheme", `matchMedia("(prefers-color-scheme: `+map[bool]string{false: "light", true: "dark"}[dark]+`)").matches`)
}

// viewport sets the window size (a phone: mobile emulation, touch).
func (tb *tab) viewport(w, h int64, phone bool) {
	tb.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if phone {
		opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulatePortrait,
			func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
				p.Mobile = true
			}}
	}
	tb.do(chromedp.EmulateViewport(w, h, opts...))
	tb.waitFor("the viewport", `window.innerWidth === `+fmt.Sprint(w))
}

// TestBrowserProfile: alias and status line are edited after login with
// login's profile update (PROTOCOL.md 4.1): the current password is
// asked, others see the change, and the app switches to the token that
// login returned (the old one is revoked), so a reload stays logged in.
// Consecutive messages of one sender are grouped under one name, the
// day is shown once, and the tab title counts unread messages.
func TestBrowserProfile(t *testing.T) {
	t.Parallel()
	p, base := serveApp(t)
	bob := dialPeer(t, p.addr, "bob", "bob-pw-12")
	tb := openTab(t, "alice", base)
	tb.login("alice", "alice-pw-1", "Alice", "")

	tb.click("profileButton")
	tb.waitFor("the profile dialog", `document.querySelector("#profileDialog").open && document.querySelector("#profileAlias").value === "Alice"`)
	tb.set("profileAlias", "Alice L.")
	tb.set("profileToday", "on call")
	tb.click("profileSave") // no password
	tb.waitNotice("profileNotice", "error", "Check the password")
	tb.set("profilePassword", "not-her-password")
	tb.click("profileSave")
	tb.waitNotice("profileNotice", "error", "Wrong id or password.")
	tb.set("profilePassword", "alice-pw-1")
	tb.click("profileSave")
	tb.waitFor("the dialog closed and the new name shown", `!document.querySelector("#profileDialog").open && document.querySelector("#meName").textContent === "Alice L."`)
	tb.reload()
	tb.waitState("connected")
	tb.waitFor("still logged in with the new token", `document.querySelector("#logoutButton") && document.querySelector("#meName").textContent === "Alice L."`)
	if msg := eval[string](tb, `document.querySelector("#loginNotice") ? document.querySelector("#loginNotice").textContent : ""`); msg != "" {
		t.Errorf("after the reload: %q", msg)
	}

	// Grouping, the day, the unread count in the title.
	tb.clickConv(`#peopleList > [data-user-id="bob"]`)
	bob.send("alice", shared.CommandChat, "one")
	bob.send("alice", shared.CommandChat, "two")
	tb.waitMessage("two")
	if got := eval[string](tb, `[...document.querySelectorAll("#result > [data-seq]")].map(e => e.dataset.first).join(",")`); got != "true,false" {
		t.Errorf("grouping of bob's two messages: data-first %s", got)
	}
	if n := eval[int](tb, `document.querySelectorAll("#result .day").length`); n != 1 {
		t.Errorf("%d day separators for one day", n)
	}
	tb.do(chromedp.Click(chromedp.ID("convAll")))
	bob.send("alice", shared.CommandChat, "three")
	tb.waitFor("the unread count in the title", `document.title === "(1) chatapp"`)
	tb.clickConv(`#peopleList > [data-user-id="bob"]`)
	tb.waitFor("the title without a count", `document.title === "chatapp"`)
}
