//go:build !js

package main

// End-to-end tests of the PWA: headless Chromium, driven by chromedp,
// against the built binary (binary(t), startServer) on 127.0.0.1:0. Every
// browser is its own process with a fresh profile, so two users are fully
// isolated (storage, service worker, cookies).
//
// Screenshots for the README are written to docs/screenshots/ only with
// UPDATE_SCREENSHOTS=1; a normal run takes them (the layout code runs) but
// leaves the tree alone.

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"chatapp/shared"
)

// chromiumPath is the browser the tests drive; $CHROMIUM overrides it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no Chromium at %s (install the chromium package or set CHROMIUM): %v", p, err)
	}
	return p
}

// waitTimeout bounds every wait for a condition in the page. It is long:
// the machine is shared, and a browser compiling app.wasm next to others
// may not answer for many seconds.
const waitTimeout = 45 * time.Second

// tab is one browser (its own process and profile) with one page.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string // http://127.0.0.1:port

	logMu sync.Mutex
	logs  []string // console messages and exceptions
}

// newTab starts a browser. lang is its UI language (navigator.language).
func newTab(t *testing.T, name, base, lang string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("LANGUAGE="+strings.ReplaceAll(lang, "-", "_")),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb := &tab{t: t, name: name, ctx: ctx, base: base}
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		<-done
		if t.Failed() {
			tb.logMu.Lock()
			t.Logf("%s console:\n%s", name, strings.Join(tb.logs, "\n"))
			tb.logMu.Unlock()
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		close(done)
		t.Fatalf("%s: start Chromium: %v", name, err)
	}
	go func() { // the page's errors, for a failure report
		defer close(done)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			tb.logMu.Lock()
			tb.logs = append(tb.logs, string(m.Type)+": "+m.Text)
			tb.logMu.Unlock()
		}
	}()
	return tb
}

// do runs actions with a timeout.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v\n%s", tb.name, err, tb.describe())
	}
}

// eval evaluates js and decodes its value into T.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: eval %s: %v", tb.name, js, err)
	}
	return v
}

// waitFor polls the JavaScript condition cond until it is true. It
// survives reloads (an evaluation that fails while the page changes is
// retried).
func (tb *tab) waitFor(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: timed out waiting for %s (%s; last error %v)\n%s", tb.name, what, cond, lastErr, tb.describe())
		}
		select {
		case <-time.After(40 * time.Millisecond):
		case <-tb.ctx.Done():
			tb.t.Fatalf("%s: browser gone waiting for %s", tb.name, what)
		}
	}
}

// describe summarizes the page for a failure message.
func (tb *tab) describe() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const q = s => document.querySelector(s);
		const out = [];
		out.push("status=" + (q("#status") ? q("#status").dataset.state : "?"));
		out.push("mounted=" + (q("#root") ? q("#root").dataset.mounted : "?"));
		for (const n of document.querySelectorAll(".notice:not([hidden])")) out.push(n.id + ": " + n.textContent);
		out.push("history=" + (q("#log") ? q("#log").dataset.history : "?"));
		out.push("result=" + JSON.stringify([...document.querySelectorAll("#result > [data-seq]")].map(e => e.dataset.seq + " " + e.querySelector(".msg-text").textContent)));
		out.push("outbox=" + JSON.stringify([...document.querySelectorAll("#outbox > *")].map(e => e.querySelector(".msg-text").textContent)));
		return out.join("\n");
	})()`))
	if err != nil {
		return "(page not readable: " + err.Error() + ")"
	}
	return s
}

// open navigates to the app and waits until the wasm has mounted it.
func (tb *tab) open() time.Duration {
	tb.t.Helper()
	start := time.Now()
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.waitMounted()
	return time.Since(start)
}

func (tb *tab) reload() {
	tb.t.Helper()
	tb.do(chromedp.Reload())
	tb.waitMounted()
}

func (tb *tab) waitMounted() {
	tb.t.Helper()
	tb.waitFor("the app to mount", `document.querySelector('#root[data-mounted="true"]')`)
}

func (tb *tab) waitState(state string) {
	tb.t.Helper()
	tb.waitFor("#status "+state, `document.querySelector('#status[data-state="`+state+`"]')`)
}

// set puts value in a form field (as a password manager or a test would:
// no key events).
func (tb *tab) set(id, value string) {
	tb.t.Helper()
	if value == "" { // chromedp.SetValue reports "" as a failure
		eval[bool](tb, `(() => { const e = document.getElementById(`+jsString(id)+`); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`)
		return
	}
	tb.do(chromedp.SetValue(chromedp.ID(id), value))
}

func (tb *tab) click(id string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.ID(id)))
}

// login logs in through the form and waits for the logged-in sidebar.
func (tb *tab) login(id, password, alias, today string) {
	tb.t.Helper()
	tb.set("idInput", id)
	tb.set("passwordInput", password)
	tb.set("aliasInput", alias)
	tb.set("todayInput", today)
	tb.click("loginButton")
	tb.waitFor("logged in as "+id, `document.querySelector("#logoutButton") && !document.querySelector("#login")`)
}

// send types a message: recipient and kind in the composer, the text with
// key events, Enter to send.
func (tb *tab) send(recipient, kind, text string) {
	tb.t.Helper()
	tb.set("recepientInput", recipient)
	tb.set("chattype", kind)
	tb.do(chromedp.SendKeys(chromedp.ID("dataInput"), text+"\r"))
}

// count returns how many messages in #result have exactly this text.
func (tb *tab) count(text string) int {
	tb.t.Helper()
	return eval[int](tb, `[...document.querySelectorAll("#result > [data-seq] .msg-text")].filter(e => e.textContent === `+jsString(text)+`).length`)
}

// waitMessage waits until #result shows text (once at least).
func (tb *tab) waitMessage(text string) {
	tb.t.Helper()
	tb.waitFor("message "+strconv.Quote(text), `[...document.querySelectorAll("#result > [data-seq] .msg-text")].some(e => e.textContent === `+jsString(text)+`)`)
}

func (tb *tab) waitNotice(id, kind, text string) {
	tb.t.Helper()
	tb.waitFor("#"+id+" "+strconv.Quote(text), `(() => { const n = document.querySelector("#`+id+`:not([hidden])"); return n && n.dataset.kind === "`+kind+`" && n.textContent.includes(`+jsString(text)+`); })()`)
}

// seqs returns the data-seq values of #result in document order.
func (tb *tab) seqs() []int {
	tb.t.Helper()
	raw := eval[[]string](tb, `[...document.querySelectorAll("#result > [data-seq]")].map(e => e.dataset.seq)`)
	out := make([]int, len(raw))
	for i, s := range raw {
		n, err := strconv.Atoi(s)
		if err != nil {
			tb.t.Fatalf("%s: #result child %d has data-seq %q", tb.name, i, s)
		}
		out[i] = n
	}
	return out
}

func (tb *tab) checkOrdered() {
	tb.t.Helper()
	s := tb.seqs()
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			tb.t.Fatalf("%s: #result not in seq order: %v", tb.name, s)
		}
	}
}

// keepTyping types a letter in the message box every second until stop
// is called, so that the others see "is typing…" all along (a typing
// event lasts 5 s). It types off the test's goroutine and ignores
// errors: the browser may be closing when stop comes late.
func (tb *tab) keepTyping() (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
			chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("dataInput"), "s"))
			cancel()
			select {
			case <-t.C:
			case <-done:
				return
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// screenshot captures the viewport at w×h (phone: mobile emulation) and,
// with UPDATE_SCREENSHOTS=1, writes it to docs/screenshots/name.
func (tb *tab) screenshot(name string, w, h int64, phone bool, ready string) {
	tb.t.Helper()
	tb.viewport(w, h, phone)
	tb.waitFor("layout at "+name, ready)
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("%s: screenshot %s: %v", tb.name, name, err)
	}
	if os.Getenv("UPDATE_SCREENSHOTS") == "" {
		return
	}
	dir := filepath.Join("docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("wrote %s (%d bytes)", filepath.Join(dir, name), len(png))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserChat: two users in two isolated browsers log in and chat
// directly, to ALL and in a room they create and join; markup stays text;
// refusals show as human messages near their controls; presence and
// unread counts are live; the login survives a reload.
func TestBrowserChat(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	base := "http://" + p.addr
	requireWasm(t, base)
	alice := newTab(t, "alice", base, "en-US")
	bob := newTab(t, "bob", base, "en-US")

	for _, tb := range []*tab{alice, bob} {
		tb.open()
		tb.waitState("connected")
		tb.waitFor("the id field focused", `document.activeElement && document.activeElement.id === "idInput"`)
		if v := eval[string](tb, `document.querySelector("#hostInput").value + ":" + document.querySelector("#portInput").value`); v != p.addr {
			t.Fatalf("%s: host and port default to %q, want the page's %q", tb.name, v, p.addr)
		}
	}

	// A wrong password is answered 401, shown under the login form.
	alice.login("alice", "alice-pw-1", "Alice", "coffee first")
	bob.set("idInput", "alice")
	bob.set("passwordInput", "not-her-password")
	bob.click("loginButton")
	bob.waitNotice("loginNotice", "error", "Wrong id or password.")
	bob.login("bob", "bob-pw-12", "Bob", "")

	// Presence: alice sees bob come online, online people first.
	alice.waitFor("bob online in alice's list", `document.querySelector('#peopleList [data-user-id="bob"][data-online="true"]')`)

	// Directly, with Enter.
	alice.send("bob", "chat", "hi bob")
	bob.waitMessage("hi bob")
	alice.waitMessage("hi bob")
	// To ALL, with the send button.
	bob.set("recepientInput", "ALL")
	bob.set("chattype", "chat")
	bob.set("dataInput", "hello everyone")
	bob.click("sendButton")
	alice.waitMessage("hello everyone")
	bob.waitMessage("hello everyone")
	if v := eval[string](bob, `document.querySelector("#dataInput").value`); v != "" {
		t.Fatalf("the composer kept %q after sending", v)
	}

	// A room: alice creates it in the room dialog, bob joins, both write.
	alice.createRoom("lounge", "The Lounge")
	alice.waitNotice("roomNotice", "info", "Room created.")
	bob.waitFor("the new room in bob's list", `document.querySelector('#roomList > [data-room-id="lounge"][data-member="false"]')`)
	alice.openRoomForm()
	alice.set("roomNameInput", "Another lounge")
	alice.roomAction("createRoomButton", "lounge") // again: 409, shown in the dialog
	alice.waitNotice("roomNotice", "error", "That room already exists.")
	alice.do(chromedp.KeyEvent("\x1b")) // Escape closes it
	alice.waitFor("the dialog closed", `!document.querySelector("#roomDialog").open`)
	bob.roomAction("deleteRoomButton", "lounge") // not the owner: 403, after the confirmation
	bob.click("confirmOK")
	bob.waitNotice("roomNotice", "error", "Only the room's owner can do that.")
	bob.do(chromedp.Click(chromedp.CSS(`#roomList > [data-room-id="lounge"] button.join`)))
	bob.waitNotice("roomNotice", "info", "Joined.")
	bob.waitFor("the joined room open", `document.querySelector("#convTitle").textContent === "# The Lounge"`)
	for _, tb := range []*tab{alice, bob} {
		tb.waitFor("2 members", `document.querySelector('#roomList > [data-room-id="lounge"] .members').textContent === "2"`)
	}
	// Picking the room in the sidebar fills the composer and filters #result.
	alice.do(chromedp.Click(chromedp.CSS(`#roomList > [data-room-id="lounge"] button`)))
	alice.waitFor("the room selected", `document.querySelector("#recepientInput").value === "lounge" && document.querySelector("#chattype").value === "groupchat"`)
	alice.do(chromedp.SendKeys(chromedp.ID("dataInput"), "welcome to the lounge\r"))
	bob.waitMessage("welcome to the lounge")
	alice.waitMessage("welcome to the lounge")
	if n := alice.count("hi bob"); n != 0 {
		t.Fatalf("the room view shows a direct message (%d)", n)
	}
	bob.send("lounge", "groupchat", "thanks, alice")
	alice.waitMessage("thanks, alice")

	// Other conversations count unread messages.
	bob.send("alice", "chat", "psst")
	alice.waitFor("an unread badge on bob", `(document.querySelector('#peopleList [data-user-id="bob"] .badge') || {}).textContent === "1"`)
	if alice.count("psst") != 0 {
		t.Fatal("a direct message shows in the room view")
	}

	// Markup is text: nothing of it is parsed or run.
	markup := `<b>x</b><script>window.pwned=1</script><img src=x onerror="window.pwned=2">`
	bob.send("ALL", "chat", markup)
	alice.do(chromedp.Click(chromedp.ID("convEverything")))
	bob.do(chromedp.Click(chromedp.ID("convEverything")))
	alice.waitMessage(markup)
	bob.waitMessage(markup)
	for _, tb := range []*tab{alice, bob} {
		if bad := eval[bool](tb, `window.pwned !== undefined || !!document.querySelector("#result b, #result script, #result img")`); bad {
			t.Fatalf("%s: message markup became HTML", tb.name)
		}
	}
	alice.checkOrdered()
	bob.checkOrdered()

	// Everything arrives exactly once, and a reload keeps the login and
	// the messages.
	alice.reload()
	alice.waitFor("still logged in", `document.querySelector("#logoutButton") && !document.querySelector("#login")`)
	alice.waitState("connected")
	for _, text := range []string{"hi bob", "hello everyone", "welcome to the lounge", "thanks, alice", "psst", markup} {
		alice.waitMessage(text)
		if n := alice.count(text); n != 1 {
			t.Fatalf("alice shows %q %d times after a reload", text, n)
		}
	}
	alice.checkOrdered()

	// Screenshots of a real conversation: in the lounge, bob answers
	// alice's welcome, both react, alice fixes a typo, and bob is typing
	// (no transitions: the drawer must be where it ends up).
	alice.emulate(false)
	alice.clickConv(`#roomList > [data-room-id="lounge"]`)
	bob.clickConv(`#roomList > [data-room-id="lounge"]`)
	welcome := bob.seqOf("welcome to the lounge")
	bob.clickIn(welcome, "button.reply")
	bob.typeKeys("count me in for lunch at noon\r")
	lunch := alice.seqOf("count me in for lunch at noon")
	alice.clickIn(lunch, "button.react")
	alice.clickIn(lunch, `.pick[aria-label="React with 👍"]`)
	bob.waitReaction(lunch, "👍", "1 false")
	bob.clickIn(lunch, `.reaction[data-emoji="👍"]`)
	bob.clickIn(welcome, "button.react")
	bob.clickIn(welcome, `.pick[aria-label="React with 🎉"]`)
	alice.typeKeys("I booked the table by the windw\r")
	booked := alice.seqOf("I booked the table by the windw")
	alice.clickIn(booked, "button.edit")
	alice.set("dataInput", "I booked the table by the window")
	alice.typeKeys("\r")
	alice.waitReaction(lunch, "👍", "2 true")
	alice.waitReaction(welcome, "🎉", "1 false")
	stopTyping := bob.keepTyping()
	defer stopTyping()
	typing := `document.querySelector("#typing").textContent === "Bob is typing…" && document.querySelector("#result .msg-state")`
	alice.do(chromedp.Click(chromedp.ID("dataInput"))) // no message hovered
	alice.screenshot("desktop.png", 1280, 800, false, typing)
	alice.emulate(true)
	alice.screenshot("desktop-dark.png", 1280, 800, false, `getComputedStyle(document.body).backgroundColor === "rgb(13, 17, 23)" && `+typing)
	alice.emulate(false)
	// The sidebar is a closed drawer: the conversation has the screen.
	alice.screenshot("phone.png", 375, 812, true, `document.querySelector(".sidebar").getBoundingClientRect().right <= 0 && `+typing)
	stopTyping()
	if w := eval[int](alice, `document.documentElement.scrollWidth`); w > 375 {
		t.Fatalf("at 375 px the page is %d px wide", w)
	}
	alice.waitFor("composer usable at phone width", `(() => {
		for (const id of ["dataInput", "sendButton", "addressSummary"]) {
			const r = document.getElementById(id).getBoundingClientRect();
			if (r.width < 20 || r.left < 0 || r.right > innerWidth || r.bottom > innerHeight) return false;
		}
		return true; })()`)
	alice.click("menuButton")
	alice.screenshot("phone-menu.png", 375, 812, true, `document.querySelector("#root").dataset.nav === "open" && document.querySelector(".sidebar").getBoundingClientRect().left === 0`)

	// Presence goes offline live when bob logs out.
	bob.click("logoutButton")
	bob.waitFor("the login form back", `document.querySelector("#login") && !document.querySelector("#result > *")`)
	alice.waitFor("bob offline", `document.querySelector('#peopleList [data-user-id="bob"][data-online="false"]')`)
}

// TestBrowserOffline: the app reloads and works with the server stopped;
// after a restart it reconnects by itself, a message missed while it was
// down appears once, and a message typed while offline is delivered once.
func TestBrowserOffline(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p, port, base := serveData(t, data)
	carol := newTab(t, "carol", base, "en-US")
	carol.open()
	carol.waitState("connected")
	carol.login("carol", "carol-pw-1", "Carol", "")

	dave := dialPeer(t, p.addr, "dave", "dave-pw-1")
	dave.send("carol", "chat", "before the outage")
	carol.waitMessage("before the outage")
	// The offline reload needs the service worker to have cached the app.
	carol.waitFor("app.wasm in the service worker cache", `caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.match("/web/app.wasm"))))).then(rs => rs.some(r => !!r))`)

	// Down: the page reloads from the service worker and shows the cache.
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v", err)
	}
	dave.close()
	carol.waitFor("not connected", `document.querySelector("#status").dataset.state !== "connected"`)
	start := time.Now()
	carol.reload()
	t.Logf("reload with the server stopped: %v to interactive (in page %.0f ms)",
		time.Since(start).Round(time.Millisecond), eval[float64](carol, `window.chatappMountedAt`))
	carol.waitFor("still logged in offline", `document.querySelector("#logoutButton") && !document.querySelector("#login")`)
	carol.waitMessage("before the outage")
	if s := eval[string](carol, `document.querySelector("#status").dataset.state`); s == "connected" {
		t.Fatal("connected with the server stopped")
	}

	// Typed while offline: pending, persisted.
	carol.send("dave", "chat", "typed while offline")
	carol.waitFor("the pending message", `[...document.querySelectorAll("#outbox .msg-text")].some(e => e.textContent === "typed while offline")`)
	if carol.count("typed while offline") != 0 {
		t.Fatal("an unsent message shows in #result")
	}
	carol.reload() // the outbox survives a reload
	carol.waitFor("the pending message after a reload", `[...document.querySelectorAll("#outbox .msg-text")].some(e => e.textContent === "typed while offline")`)

	// Keep carol off the network while the server comes back and dave
	// writes to her: that message is the one she misses.
	setOnline(t, carol, false)
	carol.waitFor("the client waiting for the network", `document.querySelector('#status[data-net="offline"]')`)
	p2 := startServer(t, data, "--port", port)
	dave = dialPeer(t, p2.addr, "dave", "dave-pw-1")
	dave.send("carol", "chat", "missed while you were away")

	setOnline(t, carol, true) // the online event reconnects at once
	carol.waitState("connected")
	carol.waitMessage("missed while you were away")
	carol.waitMessage("typed while offline")
	carol.waitFor("the outbox empty", `!document.querySelector("#outbox > *")`)
	dave.waitMessage("typed while offline")
	for _, text := range []string{"before the outage", "missed while you were away", "typed while offline"} {
		if n := carol.count(text); n != 1 {
			t.Fatalf("carol shows %q %d times", text, n)
		}
	}
	carol.checkOrdered()

	// Exactly once, also after another reload (cache + replay) and on
	// the other side.
	carol.reload()
	carol.waitState("connected")
	carol.waitMessage("typed while offline")
	dave.send("carol", "chat", "after the reload")
	carol.waitMessage("after the reload")
	for _, text := range []string{"before the outage", "missed while you were away", "typed while offline", "after the reload"} {
		if n := carol.count(text); n != 1 {
			t.Fatalf("after a reload carol shows %q %d times", text, n)
		}
	}
	if n := dave.countMessages("typed while offline"); n != 1 {
		t.Fatalf("dave got the offline message %d times", n)
	}
}

// serveData starts a server on data for a browser test that restarts it
// on the same port, and returns it with its port and the app's address.
func serveData(t *testing.T, data string) (p *proc, port, base string) {
	t.Helper()
	p = startServer(t, data)
	_, port, _ = net.SplitHostPort(p.addr)
	base = "http://" + p.addr
	requireWasm(t, base)
	return p, port, base
}

// requireWasm fails early, and says why, when the binary has no app.wasm
// (a plain go build before the wasm was built).
func requireWasm(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Head(base + "/web/app.wasm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s/web/app.wasm: %s; the binary was built without the UI (run make build, or make test, which sets CHATAPP_BIN)", base, resp.Status)
	}
}

// closedPort returns a port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// setOnline overrides navigator.onLine (and fires online/offline).
func setOnline(t *testing.T, tb *tab, online bool) {
	t.Helper()
	if _, err := chromedp.Call(tb.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tb.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: !online, DownloadThroughput: -1, UploadThroughput: -1,
	}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserPWA: installable (no installability errors), served
// pre-compressed, Korean after the browser's language with a switch, and
// the time to interactive, cold and warm, in the log.
func TestBrowserPWA(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	base := "http://" + p.addr
	requireWasm(t, base)
	tb := newTab(t, "pwa", base, "ko-KR")

	evCtx, cancelEv := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancelEv()
	responses := chromedp.Events(evCtx, network.ResponseReceived)
	if _, err := chromedp.Call(tb.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	cold := tb.open()
	coldIn := eval[float64](tb, `window.chatappMountedAt`)
	wasmAt := eval[[]float64](tb, `(() => { const e = performance.getEntriesByType("resource").find(e => e.name.endsWith("/app.wasm")); return e ? [e.responseEnd, e.transferSize] : [0, 0]; })()`)

	// app.wasm came compressed.
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("no app.wasm response: %v", err)
		}
		if strings.HasSuffix(ev.Response.URL, "/app.wasm") {
			enc := ev.Response.Headers["Content-Encoding"]
			if enc == nil {
				enc = ev.Response.Headers["content-encoding"]
			}
			if enc != "br" && enc != "gzip" {
				t.Fatalf("app.wasm sent with Content-Encoding %v", enc)
			}
			t.Logf("app.wasm: Content-Encoding %v", enc)
			break
		}
	}
	cancelEv()

	// Korean after navigator.language, English after the switch.
	tb.waitFor("Korean UI", `document.documentElement.lang === "ko" && document.querySelector("#loginButton").textContent === "로그인"`)
	tb.waitState("connected")
	tb.waitFor("Korean state", `document.querySelector("#status").textContent === "연결됨"`)
	tb.click("langButton")
	tb.waitFor("English UI", `document.documentElement.lang === "en" && document.querySelector("#loginButton").textContent === "Log in"`)

	// The connect controls: another port that nobody serves is reported
	// next to them; the page's own server again reconnects.
	_, port, _ := net.SplitHostPort(p.addr)
	tb.openSettings()
	tb.set("portInput", strconv.Itoa(closedPort(t)))
	tb.click("connectButton")
	tb.waitNotice("connectNotice", "error", "Cannot reach 127.0.0.1:")
	tb.waitState("offline")
	tb.set("hostInput", "localhost") // the same server as 127.0.0.1
	tb.set("portInput", port)
	tb.click("connectButton")
	tb.waitState("connected")

	// Installable: a controlling service worker, the manifest, the icons.
	tb.waitFor("a controlling service worker", `navigator.serviceWorker.controller !== null`)
	// Chromium may check before the worker has activated, so ask again
	// until the answer is empty or the time is up.
	var installErrs []byte
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.After(waitTimeout); ; {
		res, err := chromedp.Call(tb.ctx, page.GetInstallabilityErrors, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.InstallabilityErrors) == 0 {
			break
		}
		installErrs, _ = json.Marshal(res.InstallabilityErrors)
		select {
		case <-poll.C:
		case <-deadline:
			t.Fatalf("installability errors: %s", installErrs)
		}
	}
	man, err := chromedp.Call(tb.ctx, page.GetAppManifest, page.GetAppManifestParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Errors) != 0 {
		t.Fatalf("manifest errors: %+v", man.Errors)
	}

	// Warm: from the service worker's cache.
	start := time.Now()
	tb.reload()
	warm := time.Since(start)
	warmIn := eval[float64](tb, `window.chatappMountedAt`)
	t.Logf("time to interactive (navigation → OnMount): cold %v (in page %.0f ms; app.wasm loaded at %.0f ms, %.0f bytes transferred), warm reload %v (in page %.0f ms)",
		cold.Round(time.Millisecond), coldIn, wasmAt[0], wasmAt[1], warm.Round(time.Millisecond), warmIn)
	if fi, err := os.Stat(filepath.Join("web", "app.wasm.br")); err == nil {
		t.Logf("web/app.wasm.br: %d bytes", fi.Size())
	}
}

// peer is a plain Socket.IO client (the other side in TestBrowserOffline).
type peer struct {
	t    *testing.T
	c    *websocket.Conn
	ctx  context.Context
	stop context.CancelFunc

	mu    sync.Mutex
	msgs  []shared.Message
	acks  map[int64]chan shared.Response
	next  int64
	moved chan struct{} // a message arrived
}

// dialPeer connects and logs in (signing up on first use).
func dialPeer(t *testing.T, addr, id, password string) *peer {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatalf("peer %s: %v", id, err)
	}
	c.SetReadLimit(-1)
	pe := &peer{t: t, c: c, ctx: ctx, stop: stop, acks: map[int64]chan shared.Response{}, moved: make(chan struct{}, 1)}
	t.Cleanup(pe.close)
	if _, b, err := c.Read(ctx); err != nil || b[0] != '0' {
		t.Fatalf("peer %s: open: %q %v", id, b, err)
	}
	c.Write(ctx, websocket.MessageText, []byte("40"))
	if _, b, err := c.Read(ctx); err != nil || !strings.HasPrefix(string(b), "40") {
		t.Fatalf("peer %s: connect: %q %v", id, b, err)
	}
	go pe.read()
	if r := pe.emit(shared.EventLogin, shared.Login{ID: id, Password: password}); r.Code != shared.CodeOK {
		t.Fatalf("peer %s: login: %+v", id, r)
	}
	return pe
}

func (pe *peer) close() {
	pe.stop()
	pe.c.CloseNow()
}

func (pe *peer) read() {
	for {
		_, b, err := pe.c.Read(pe.ctx)
		if err != nil {
			return
		}
		switch {
		case string(b) == "2":
			pe.c.Write(pe.ctx, websocket.MessageText, []byte("3"))
		case strings.HasPrefix(string(b), "4"):
			p, err := shared.DecodePacket(b[1:])
			if err != nil {
				continue
			}
			switch p.Type {
			case shared.PacketAck:
				var r []shared.Response
				json.Unmarshal(p.Data, &r)
				pe.mu.Lock()
				ch := pe.acks[p.ID]
				pe.mu.Unlock()
				if ch != nil && len(r) == 1 {
					ch <- r[0]
				}
			case shared.PacketEvent:
				name, args, err := shared.EventArgs(p.Data)
				if err != nil || name != shared.EventMessage || len(args) == 0 {
					continue
				}
				var m shared.Message
				json.Unmarshal(args[0], &m)
				pe.mu.Lock()
				pe.msgs = append(pe.msgs, m)
				pe.mu.Unlock()
				select {
				case pe.moved <- struct{}{}:
				default:
				}
			}
		}
	}
}

// emit sends a request with an ack id and waits for the answer.
func (pe *peer) emit(name string, payload any) shared.Response {
	pe.t.Helper()
	pe.mu.Lock()
	pe.next++
	id := pe.next
	ch := make(chan shared.Response, 1)
	pe.acks[id] = ch
	pe.mu.Unlock()
	data, _ := json.Marshal([]any{name, payload})
	frame := append([]byte{'4'}, shared.AppendPacket(nil, shared.Packet{Type: shared.PacketEvent, ID: id, Data: data})...)
	if err := pe.c.Write(pe.ctx, websocket.MessageText, frame); err != nil {
		pe.t.Fatalf("peer: write: %v", err)
	}
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		pe.t.Fatalf("peer: no answer to %s", name)
		return shared.Response{}
	}
}

func (pe *peer) send(to, kind, text string) {
	pe.t.Helper()
	if r := pe.emit(shared.EventMessage, shared.SendMessage{Recipient: to, Command: kind, Type: shared.TypeText, Data: text}); r.Code != shared.CodeOK {
		pe.t.Fatalf("peer: send: %+v", r)
	}
}

func (pe *peer) countMessages(text string) int {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	n := 0
	for _, m := range pe.msgs {
		if m.Data == text {
			n++
		}
	}
	return n
}

func (pe *peer) waitMessage(text string) {
	pe.t.Helper()
	deadline := time.After(waitTimeout)
	for pe.countMessages(text) == 0 {
		select {
		case <-pe.moved:
		case <-deadline:
			pe.t.Fatalf("peer: no message %q", text)
		}
	}
}
