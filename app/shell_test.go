package app

import (
	"html"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// The Shell in go-app's test engine (a server build: OnMount never runs,
// OnPreRender does). The rendered tree is read back through app.HTMLString
// and a small parser, so the checks name elements by id as the browser
// tests and the outside suite do.

// node is a parsed element.
type node struct {
	tag      string
	attrs    map[string]string
	children []*node
	text     string // for text nodes (tag "")
	parent   *node
}

var (
	tagRe  = regexp.MustCompile(`^<(/?)([a-z0-9]+)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*>`)
	attrRe = regexp.MustCompile(`([^\s=>]+)(?:="([^"]*)")?`)
	voids  = map[string]bool{"input": true, "img": true, "br": true, "meta": true, "link": true, "hr": true}
)

// parse parses go-app's HTMLString output.
func parse(t *testing.T, s string) *node {
	t.Helper()
	root := &node{tag: "#root"}
	cur := root
	for len(s) > 0 {
		if s[0] != '<' {
			i := strings.IndexByte(s, '<')
			if i < 0 {
				i = len(s)
			}
			if txt := strings.TrimSpace(s[:i]); txt != "" {
				cur.children = append(cur.children, &node{text: html.UnescapeString(txt), parent: cur})
			}
			s = s[i:]
			continue
		}
		m := tagRe.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("cannot parse at %.60q", s)
		}
		s = s[len(m[0]):]
		if m[1] == "/" {
			if cur.tag != m[2] {
				t.Fatalf("</%s> closes <%s>", m[2], cur.tag)
			}
			cur = cur.parent
			continue
		}
		n := &node{tag: m[2], attrs: map[string]string{}, parent: cur}
		for _, a := range attrRe.FindAllStringSubmatch(m[3], -1) {
			n.attrs[a[1]] = html.UnescapeString(a[2])
		}
		cur.children = append(cur.children, n)
		if !voids[n.tag] {
			cur = n
		}
	}
	return root
}

func (n *node) find(match func(*node) bool) []*node {
	var out []*node
	for _, c := range n.children {
		if c.tag != "" && match(c) {
			out = append(out, c)
		}
		out = append(out, c.find(match)...)
	}
	return out
}

func (n *node) byID(id string) *node {
	found := n.find(func(c *node) bool { return c.attrs["id"] == id })
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

// boolAttr reads an attribute go-app writes as a boolean: bare when true
// (in the browser it reads "true").
func boolAttr(n *node, name string) string {
	if v, ok := n.attrs[name]; ok && v == "" {
		return "true"
	} else if ok {
		return v
	}
	return "(none)"
}

// textContent joins the text below n.
func (n *node) textContent() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		if n.tag == "" {
			b.WriteString(n.text)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// elements returns the element children.
func (n *node) elements() []*node {
	var out []*node
	for _, c := range n.children {
		if c.tag != "" {
			out = append(out, c)
		}
	}
	return out
}

// render loads s in a test engine and parses what it shows.
func render(t *testing.T, s *Shell) (*node, app.TestEngine) {
	t.Helper()
	e := app.NewTestEngine()
	if err := e.Load(s); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	return parse(t, app.HTMLString(s)), e
}

func sampleView() View {
	return View{
		Lang: langEN, State: stateConnected, Host: "127.0.0.1", Port: "3000",
		LoggedIn: true, Me: shared.Profile{ID: "alice", Alias: "Alice"},
		Rooms: []RoomItem{
			{ID: "lounge", Name: "The Lounge", Members: 2, Member: true, Conv: roomConv("lounge"), Counts: Counts{Unread: 3}},
			{ID: "Back", Name: "Back room", Members: 1, Conv: roomConv("back")},
		},
		People: []PersonItem{
			{ID: "bob", Alias: "Bob", Presence: "online", Conv: userConv("bob")},
			{ID: "zed", Presence: "offline", Conv: userConv("zed")},
		},
		Messages: []MsgItem{
			{Seq: "7", Sender: "bob", Alias: "Bob", Text: "hi", Time: "10:00", Stamp: "2026-01-02T10:00:00.000Z"},
			{Seq: "9", Sender: "bob", Alias: "Bob", Text: `<b>x</b><script>alert(1)</script>`, Time: "10:01"},
		},
		Pending: []PendingItem{{CID: "c1", Text: "on its way"}},
		Notices: map[string]notice{},
	}
}

// TestShell_ControlIDs checks the ids automated suites rely on, with their
// semantics.
func TestShell_ControlIDs(t *testing.T) {
	t.Parallel()
	for _, loggedIn := range []bool{false, true} {
		v := sampleView()
		v.LoggedIn = loggedIn
		doc, _ := render(t, &Shell{view: v})
		ids := []string{
			"hostInput", "portInput", "connectButton", "status",
			"roomIdInput", "roomNameInput", "createRoomButton", "updateRoomButton",
			"deleteRoomButton", "joinRoomButton", "leaveRoomButton", "roomList",
			"recepientInput", "chattype", "dataInput", "sendButton", "result",
			"langButton", "settingsButton", "newRoomButton", "log", "addressRow", "charCount",
			"roomDialog", "confirmDialog", "settingsDialog", "profileDialog",
			"typing", "mentionList",
		}
		if loggedIn {
			ids = append(ids, "logoutButton", "profileButton", "landing")
		} else {
			ids = append(ids, "idInput", "passwordInput", "aliasInput", "todayInput", "loginButton")
		}
		for _, id := range ids {
			if doc.byID(id) == nil {
				t.Errorf("logged in %v: no single #%s", loggedIn, id)
			}
		}
	}

	doc, _ := render(t, &Shell{view: sampleView()})
	if got := doc.byID("status").attrs["data-state"]; got != stateConnected {
		t.Errorf("#status data-state %q", got)
	}
	if doc.byID("hostInput").attrs["value"] != "127.0.0.1" || doc.byID("portInput").attrs["value"] != "3000" {
		t.Error("host and port do not show the target")
	}
	sel := doc.byID("chattype")
	var opts []string
	for _, o := range sel.elements() {
		opts = append(opts, o.attrs["value"])
	}
	if sel.tag != "select" || strings.Join(opts, ",") != "chat,groupchat" {
		t.Errorf("#chattype is <%s> with options %v", sel.tag, opts)
	}
	if typ := doc.byID("passwordInput"); typ != nil {
		t.Error("the login form shows while logged in")
	}
}

func TestShell_ListsCarryTheirData(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, &Shell{view: sampleView()})

	var rooms []string
	for _, r := range doc.byID("roomList").elements() {
		rooms = append(rooms, r.attrs["data-room-id"]+"="+boolAttr(r, "data-member"))
	}
	if strings.Join(rooms, ",") != "lounge=true,Back=false" {
		t.Errorf("#roomList children data-room-id %v", rooms)
	}
	lounge := doc.byID("roomList").elements()[0]
	if txt := lounge.textContent(); !strings.Contains(txt, "The Lounge") || !strings.Contains(txt, "2") || !strings.Contains(txt, "3") {
		t.Errorf("room entry %q lacks name, member count or unread count", txt)
	}

	var seqs []string
	for _, m := range doc.byID("result").elements() {
		seqs = append(seqs, m.attrs["data-seq"])
	}
	if strings.Join(seqs, ",") != "7,9" {
		t.Errorf("#result children data-seq %v", seqs)
	}
	// Pending messages show, outside #result: they have no seq yet.
	out := doc.byID("outbox").elements()
	if len(out) != 1 || out[0].attrs["data-cid"] != "c1" || !strings.Contains(out[0].textContent(), "on its way") {
		t.Errorf("#outbox %v", out)
	}

	people := doc.byID("peopleList").elements()
	if len(people) != 2 || people[0].attrs["data-user-id"] != "bob" || boolAttr(people[0], "data-online") != "true" ||
		people[1].attrs["data-online"] != "false" {
		t.Errorf("people %v", people)
	}
}

func TestShell_MessageTextIsNeverMarkup(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, &Shell{view: sampleView()})
	result := doc.byID("result")
	if bad := result.find(func(n *node) bool { return n.tag == "b" || n.tag == "script" }); len(bad) != 0 {
		t.Fatalf("message markup became elements: %v", bad)
	}
	texts := result.find(func(n *node) bool { return n.attrs["class"] == "msg-text" })
	if len(texts) != 2 || texts[1].textContent() != `<b>x</b><script>alert(1)</script>` {
		t.Fatalf("message texts %q", texts[1].textContent())
	}
}

func TestShell_NoticesSitNextToTheirControls(t *testing.T) {
	t.Parallel()
	v := sampleView()
	v.LoggedIn = false
	v.Notices = map[string]notice{
		"login": refusal("login", "", shared.Response{Code: "401"}),
		"room":  info("room.done.create"),
	}
	doc, _ := render(t, &Shell{view: v})
	login := doc.byID("loginNotice")
	if login.textContent() != "Wrong id or password." || login.attrs["data-kind"] != "error" || login.attrs["role"] != "alert" {
		t.Errorf("#loginNotice %q %v", login.textContent(), login.attrs)
	}
	if login.parent != doc.byID("loginButton").parent {
		t.Error("#loginNotice is not next to the login button")
	}
	room := doc.byID("roomNotice")
	if room.textContent() != "Room created." || room.attrs["data-kind"] != "info" {
		t.Errorf("#roomNotice %q %v", room.textContent(), room.attrs)
	}
	if _, hidden := doc.byID("sendNotice").attrs["hidden"]; !hidden {
		t.Error("an empty #sendNotice shows")
	}
}

func TestShell_Korean(t *testing.T) {
	t.Parallel()
	v := sampleView()
	v.Lang = langKO
	v.LoggedIn = false
	doc, _ := render(t, &Shell{view: v})
	for id, want := range map[string]string{"loginButton": "로그인", "status": "연결됨", "sendButton": "보내기", "langButton": "English"} {
		if got := doc.byID(id).textContent(); got != want {
			t.Errorf("#%s %q, want %q", id, got, want)
		}
	}
}

func TestShell_UpdateNotice(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, &Shell{view: sampleView()})
	if doc.byID("updateNotice") != nil {
		t.Fatal("update notice without an update")
	}
	doc, _ = render(t, &Shell{view: sampleView(), update: true})
	if n := doc.byID("updateNotice"); n == nil || !strings.Contains(n.textContent(), "Update available") || doc.byID("updateButton") == nil {
		t.Fatal("no update notice with a reload button")
	}
}

// The readiness marker: prerendered false; OnMount (browser only) makes it
// true.
func TestShell_MountedMarker(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, &Shell{})
	if got := doc.byID("root").attrs["data-mounted"]; got != "false" {
		t.Fatalf("prerendered data-mounted %q", got)
	}
	if got := doc.byID("status").attrs["data-state"]; got != stateOffline {
		t.Fatalf("prerendered status %q", got)
	}
}

// ctxs holds the ctx go-app gives each Shell during prerendering, so a test
// can run handlers as the UI goroutine would.
var ctxs sync.Map // *Shell → app.Context

func (s *Shell) OnPreRender(ctx app.Context) { ctxs.Store(s, ctx) }

// driven renders s and returns the ctx go-app gave it, and run, which
// runs f with it as the UI goroutine would and waits for what f started.
func driven(t *testing.T, s *Shell) (ctx app.Context, run func(f func(app.Context))) {
	t.Helper()
	_, e := render(t, s)
	c, _ := ctxs.Load(s)
	ctx = c.(app.Context)
	return ctx, func(f func(app.Context)) {
		ctx.Dispatch(f)
		e.ConsumeAll()
	}
}

func TestShell_SendPostsTheFormAndClearsTheText(t *testing.T) {
	t.Parallel()
	s := &Shell{view: sampleView()}
	ctx, run := driven(t, s)
	var got []sendForm
	ctx.Handle(actionSend, func(_ app.Context, a app.Action) { got = append(got, a.Value.(sendForm)) })

	run(func(ctx app.Context) {
		s.setValue("recepientInput", "lounge")
		s.setValue("chattype", shared.CommandGroupchat)
		s.setValue("dataInput", "hello room")
		s.onSend(ctx, app.Event{})
	})
	if len(got) != 1 || got[0] != (sendForm{Recipient: "lounge", Command: shared.CommandGroupchat, Text: "hello room"}) {
		t.Fatalf("posted %+v", got)
	}
	if s.value("dataInput") != "" {
		t.Fatal("the composer kept the text")
	}

	// A text that cannot be sent stays for the person to fix.
	run(func(ctx app.Context) {
		s.setValue("dataInput", "   ")
		s.onSend(ctx, app.Event{})
	})
	if s.value("dataInput") != "   " {
		t.Fatal("an invalid text was cleared")
	}
}

func TestShell_PickingAConversationFillsTheComposer(t *testing.T) {
	t.Parallel()
	s := &Shell{view: sampleView()}
	ctx, run := driven(t, s)
	var picked []conv
	ctx.Handle(actionSelect, func(_ app.Context, a app.Action) { picked = append(picked, a.Value.(conv)) })
	run(func(ctx app.Context) {
		s.onSelect(s.view.Rooms[0].Conv)(ctx, app.Event{})
	})
	if len(picked) != 1 || picked[0] != roomConv("lounge") {
		t.Fatalf("picked %v", picked)
	}
	// The service answers with the new selection; the composer follows.
	run(func(ctx app.Context) {
		s.view.Selected, s.view.ToRecipient, s.view.ToCommand = roomConv("lounge"), "lounge", shared.CommandGroupchat
		s.viewChanged(ctx)
	})
	if s.value("recepientInput") != "lounge" || s.value("chattype") != shared.CommandGroupchat {
		t.Fatalf("composer to %q as %q", s.value("recepientInput"), s.value("chattype"))
	}
}

// Links in messages: http and https only, as text nodes and <a> elements
// (never markup), trailing punctuation left out.
func TestLinkify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want string // rendered, links as [href]
	}{
		{"see https://example.org/a?b=1.", "see [https://example.org/a?b=1]."},
		{"(http://x.org/p) and https://y.org", "([http://x.org/p]) and [https://y.org]"},
		{"javascript:alert(1) ftp://x.org", "javascript:alert(1) ftp://x.org"},
		{`https://x.org/"><script>`, `[https://x.org/]"><script>`},
		{"no link", "no link"},
	}
	for _, tt := range tests {
		doc := parse(t, app.HTMLString(app.P().Body(linkify(tt.text)...)))
		var b strings.Builder
		for _, n := range doc.children[0].children {
			if n.tag == "a" {
				if n.attrs["rel"] != "noopener noreferrer" || n.attrs["target"] != "_blank" || n.textContent() != n.attrs["href"] {
					t.Errorf("%q: link %v", tt.text, n.attrs)
				}
				b.WriteString("[" + n.attrs["href"] + "]")
				continue
			}
			b.WriteString(n.textContent())
		}
		if nospace := strings.NewReplacer(" ", ""); nospace.Replace(b.String()) != nospace.Replace(tt.want) { // parse trims text nodes
			t.Errorf("%q renders %q, want %q", tt.text, b.String(), tt.want)
		}
	}
}
