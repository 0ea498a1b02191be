package app

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// Shell is the chat page: a sidebar (connection state, the user, rooms and
// people), the conversation pane (header, #log with #result, the composer)
// and the dialogs (room, confirmation, server settings, profile). It
// renders the View the service publishes and posts actions; it holds no
// connection. The parts are in sidebar.go, pane.go and dialogs.go.
//
// The root element is div#root. The server prerenders it with
// data-mounted="false", so finding an element in the page proves nothing
// about the wasm; OnMount, which runs only in the browser, re-renders it with
// data-mounted="true". Browser tests wait for #root[data-mounted="true"].
//
// The form fields are read from the DOM when a button is pressed (a test or
// a password manager may fill them without input events), so the component
// keeps no copy of them, except in values when it runs natively (tests).
//
// Handlers made per item of a list capture only the item's key and carry
// app.EventScope(key): go-app keeps a reused element's handler when the
// new one has the same code pointer and scope (GOAPP.md section 7), so an
// unscoped closure would act on the item that stood there before.
type Shell struct {
	app.Compo

	mounted     bool
	view        View
	update      bool // a new version is installed; reload to use it
	installable bool
	navOpen     bool // the sidebar drawer at phone width

	dialog  string        // the open dialog: dlgRoom, dlgConfirm, dlgSettings, dlgProfile or ""
	renamed bool          // the room dialog was opened to rename the selected room
	confirm *confirmation // what the confirmation dialog is about
	reply   *MsgItem      // the message the composer answers
	editing *MsgItem      // the message the composer edits
	draft   int           // characters in the composer
	mention mentionState  // the @ being typed
	picker  string        // the message whose emoji picker is open
	actions string        // the message whose actions a long press opened
	// notifyPerm is the browser's notification permission: "default",
	// "granted", "denied" or "unsupported".
	notifyPerm string
	toOpen     *conv // a notification's conversation, to open after the login

	lastSelected conv
	lastLang     string
	lastLoggedIn bool
	lastDone     map[string]int
	lastFocusN   int
	anchor       anchor

	values map[string]string // field values when not in a browser
}

// The dialogs.
const (
	dlgRoom     = "roomDialog"
	dlgConfirm  = "confirmDialog"
	dlgSettings = "settingsDialog"
	dlgProfile  = "profileDialog"
)

// anchor is a message on screen and its distance from the top of #log,
// taken before a re-render so that older messages loading above it (or
// pages dropped) do not move what the person reads.
type anchor struct {
	seq    string
	offset float64
}

// OnMount runs in the browser only: mark the page live, observe the
// service's View, start the service and take the keys the composer must
// stop before the browser acts on them.
func (s *Shell) OnMount(ctx app.Context) {
	s.mounted = true
	s.installable = ctx.IsAppInstallable()
	s.update = ctx.AppUpdateAvailable()
	s.lastLoggedIn = true // focus the id field once the View says logged out
	if app.IsClient {
		// Time to interactive, read by the browser test.
		w := app.Window()
		w.Set("chatappMountedAt", w.Get("performance").Call("now"))
		s.listenKeys(ctx)
		s.notifyPerm = string(ctx.Notifications().Permission())
	}
	s.handleRowActions(ctx)
	ctx.ObserveState(stateView, &s.view).OnChange(func() { s.viewChanged(ctx) })
	ctx.NewAction(actionStart)
	if app.IsClient {
		ctx.Defer(s.listenScroll)
		ctx.Defer(s.listenLongPress)
	}
}

// OnNav opens the conversation a notification's link names
// (/?open=user:bob): at once in a running page, after the login when the
// click started the app.
func (s *Shell) OnNav(ctx app.Context) {
	if c, ok := parseConv(ctx.Page().URL().Query().Get("open")); ok {
		s.toOpen = &c
		s.openLinked(ctx)
	}
}

// openLinked opens the conversation of a notification's link once the
// service knows the user.
func (s *Shell) openLinked(ctx app.Context) {
	if s.toOpen != nil && s.view.LoggedIn {
		post(ctx, actionSelect, *s.toOpen)
		s.toOpen = nil
	}
}

// handleRowActions takes the actions the message rows post.
func (s *Shell) handleRowActions(ctx app.Context) {
	seqOf := func(a app.Action) string { v, _ := a.Value.(string); return v }
	ctx.Handle(uiReply, func(ctx app.Context, a app.Action) {
		s.picker, s.actions = "", ""
		s.startReply(seqOf(a))
	})
	ctx.Handle(uiEdit, func(ctx app.Context, a app.Action) {
		s.picker, s.actions = "", ""
		s.startEdit(seqOf(a))
	})
	ctx.Handle(uiDelete, func(ctx app.Context, a app.Action) {
		s.picker, s.actions = "", ""
		if m, ok := s.message(seqOf(a)); ok {
			s.askDeleteMessage(m)
			s.afterDialog(ctx)
		}
	})
	ctx.Handle(uiPicker, func(ctx app.Context, a app.Action) { s.picker = seqOf(a) })
}

// listenLongPress opens a message's actions on a long press: a touch
// screen has no hover, and a long press there is a contextmenu event. A
// mouse's right click keeps the browser's menu. A click elsewhere in the
// log closes open actions and pickers (another message's actions open
// their own).
func (s *Shell) listenLongPress(ctx app.Context) {
	log := app.Window().GetElementByID("log")
	log.Call("addEventListener", "contextmenu", app.FuncOf(func(_ app.Value, args []app.Value) any {
		e := app.Event{Value: args[0]}
		touch := e.Get("pointerType").String() == "touch" || app.Window().Call("matchMedia", "(hover: none)").Get("matches").Bool()
		row := e.Get("target").Call("closest", "#result > [data-seq]")
		if !touch || !row.Truthy() {
			return nil
		}
		e.PreventDefault()
		seq := row.Get("dataset").Get("seq").String()
		ctx.Dispatch(func(ctx app.Context) { s.actions, s.picker = seq, "" })
		return nil
	}))
	log.Call("addEventListener", "click", app.FuncOf(func(_ app.Value, args []app.Value) any {
		target := args[0].Get("target")
		open := log.Call("querySelector", `#result [data-open="true"]`)
		if open.Truthy() && !open.Call("contains", target).Bool() && !target.Call("closest", ".msg-actions").Truthy() {
			ctx.Dispatch(func(ctx app.Context) { s.actions, s.picker = "", "" })
		}
		return nil
	}))
}

// listenScroll pages as the person scrolls #log and tells the service
// whether they follow the newest messages. It is the browser's own
// listener: a go-app handler would re-render the page on every scroll
// event.
func (s *Shell) listenScroll(ctx app.Context) {
	log := app.Window().GetElementByID("log")
	following := true
	log.Call("addEventListener", "scroll", app.FuncOf(func(app.Value, []app.Value) any {
		if at := s.following(); at != following {
			following = at
			post(ctx, actionFollow, at)
		}
		if older, ok := nearEnd(log); ok {
			post(ctx, actionPage, older)
		}
		return nil
	}), map[string]any{"passive": true})
}

// OnAppUpdate shows the "update available — reload" notice.
func (s *Shell) OnAppUpdate(ctx app.Context) { s.update = ctx.AppUpdateAvailable() }

// OnAppInstallChange shows or hides the install button.
func (s *Shell) OnAppInstallChange(ctx app.Context) { s.installable = ctx.IsAppInstallable() }

// viewChanged runs after a new View is stored, before the re-render: it
// fills the composer's address when the conversation changes, moves the
// focus, keeps <html lang>, the title and the app badge right, closes a
// dialog whose request succeeded, and keeps the log where the person
// reads.
func (s *Shell) viewChanged(ctx app.Context) {
	v := &s.view
	if app.IsClient && v.Lang != s.lastLang {
		app.Window().Get("document").Get("documentElement").Call("setAttribute", "lang", v.Lang)
	}
	s.lastLang = v.Lang
	s.showUnread(v.Unread)
	s.openLinked(ctx)

	focus := ""
	if v.LoggedIn != s.lastLoggedIn {
		s.lastLoggedIn = v.LoggedIn
		focus = map[bool]string{true: "dataInput", false: "idInput"}[v.LoggedIn]
	}
	follow := s.following()
	if v.Selected != s.lastSelected {
		s.lastSelected = v.Selected
		if s.editing != nil {
			s.clearBox()
		}
		s.reply, s.editing, s.picker, s.actions = nil, nil, "", ""
		s.mention = mentionState{}
		closeMenu()
		s.setValue("recepientInput", v.ToRecipient)
		s.setValue("chattype", v.ToCommand)
		follow = true
		if v.LoggedIn {
			focus = "dataInput"
		}
	}
	for area, dlg := range map[string]string{"room": dlgRoom, "profile": dlgProfile} {
		if v.Done[area] != s.lastDone[area] && s.dialog == dlg {
			s.dialog = "" // done: a new room opens, the notice shows in the pane
		}
	}
	s.lastDone = v.Done
	if !app.IsClient {
		return
	}
	if !follow {
		s.anchor = s.topAnchor()
	}
	focusSeq := ""
	if v.FocusN != s.lastFocusN {
		s.lastFocusN = v.FocusN
		focusSeq = v.Focus
	}
	ctx.Defer(func(ctx app.Context) {
		s.syncDialogs()
		s.keepScroll(ctx, follow && focusSeq == "")
		if focusSeq != "" {
			showMessage(focusSeq)
		}
		if focus != "" && s.dialog == "" {
			focusID(focus)
		}
	})
}

// showMessage scrolls a message into view, flashes it and gives it the
// keyboard focus (a quoted message was clicked).
func showMessage(seq string) {
	el := app.Window().Get("document").Call("querySelector", `#result > [data-seq="`+seq+`"]`)
	if !el.Truthy() {
		return
	}
	el.Call("setAttribute", "tabindex", "-1")
	el.Call("scrollIntoView", map[string]any{"block": "center"})
	el.Call("focus", map[string]any{"preventScroll": true})
	el.Get("classList").Call("remove", "flash")
	el.Get("offsetWidth") // restart the animation
	el.Get("classList").Call("add", "flash")
}

// showUnread puts the unread total in the tab title and on the installed
// app's icon.
func (s *Shell) showUnread(n int) {
	if !app.IsClient {
		return
	}
	title := "chatapp"
	if n > 0 {
		title = "(" + strconv.Itoa(n) + ") chatapp"
	}
	doc := app.Window().Get("document")
	if doc.Get("title").String() != title {
		doc.Set("title", title)
		nav := app.Window().Get("navigator")
		switch {
		case n > 0 && nav.Get("setAppBadge").Truthy():
			nav.Call("setAppBadge", n)
		case n == 0 && nav.Get("clearAppBadge").Truthy():
			nav.Call("clearAppBadge")
		}
	}
}

func focusID(id string) {
	if el := app.Window().GetElementByID(id); el.Truthy() {
		el.Call("focus")
	}
}

// following reports whether #log is scrolled to its newest message.
func (s *Shell) following() bool {
	if !app.IsClient {
		return true
	}
	log := app.Window().GetElementByID("log")
	if !log.Truthy() {
		return true
	}
	return log.Get("scrollHeight").Float()-log.Get("scrollTop").Float()-log.Get("clientHeight").Float() < 80
}

// topAnchor returns the first message whose bottom is below the top of
// #log, with its offset.
func (s *Shell) topAnchor() anchor {
	log := app.Window().GetElementByID("log")
	if !log.Truthy() {
		return anchor{}
	}
	top := log.Call("getBoundingClientRect").Get("top").Float()
	msgs := log.Call("querySelectorAll", "#result > [data-seq]")
	for i := 0; i < msgs.Length(); i++ {
		r := msgs.Index(i).Call("getBoundingClientRect")
		if r.Get("bottom").Float() > top {
			return anchor{seq: msgs.Index(i).Get("dataset").Get("seq").String(), offset: r.Get("top").Float() - top}
		}
	}
	return anchor{}
}

// keepScroll runs after a render: it follows the newest message, or keeps
// the anchor where it was; then it asks for the next page when the log is
// scrolled (or too short) to an end that has more.
func (s *Shell) keepScroll(ctx app.Context, follow bool) {
	log := app.Window().GetElementByID("log")
	if !log.Truthy() {
		return
	}
	switch {
	case follow:
		log.Set("scrollTop", log.Get("scrollHeight"))
	case s.anchor.seq != "":
		el := log.Call("querySelector", `#result > [data-seq="`+s.anchor.seq+`"]`)
		if el.Truthy() {
			top := log.Call("getBoundingClientRect").Get("top").Float()
			moved := el.Call("getBoundingClientRect").Get("top").Float() - top - s.anchor.offset
			log.Set("scrollTop", log.Get("scrollTop").Float()+moved)
		}
	}
	s.pageIfAtEnd(ctx)
}

// pageIfAtEnd asks for the next page when #log is scrolled (or too
// short) to an end that has more to load.
func (s *Shell) pageIfAtEnd(ctx app.Context) {
	if !s.view.LoggedIn || s.view.History != histMore && !s.view.Newer {
		return
	}
	if older, ok := nearEnd(app.Window().GetElementByID("log")); ok {
		post(ctx, actionPage, older)
	}
}

// nearEnd reports whether log is scrolled near its top (older) or its
// bottom; the service loads a page there if it has one.
func nearEnd(log app.Value) (older, ok bool) {
	if !log.Truthy() {
		return false, false
	}
	const near = 300
	top := log.Get("scrollTop").Float()
	bottom := log.Get("scrollHeight").Float() - top - log.Get("clientHeight").Float()
	switch {
	case top < near:
		return true, true
	case bottom < near:
		return false, true
	}
	return false, false
}

// value reads a form field.
func (s *Shell) value(id string) string {
	if app.IsClient {
		el := app.Window().GetElementByID(id)
		if !el.Truthy() {
			return ""
		}
		return el.Get("value").String()
	}
	return s.values[id]
}

// setValue writes a form field.
func (s *Shell) setValue(id, v string) {
	if app.IsClient {
		if el := app.Window().GetElementByID(id); el.Truthy() {
			el.Set("value", v)
		}
		return
	}
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[id] = v
}

func (s *Shell) t(key string) string { return tr(s.lang(), key) }

func (s *Shell) lang() string {
	if s.view.Lang == "" {
		return langEN
	}
	return s.view.Lang
}

// Event handlers of the page as a whole; the parts have theirs.

func (s *Shell) onLogin(ctx app.Context, _ app.Event) {
	post(ctx, actionLogin, loginForm{
		ID: s.value("idInput"), Password: s.value("passwordInput"),
		Alias: s.value("aliasInput"), Today: s.value("todayInput"),
	})
}

// onLoginKey logs in on Enter. The fields are not in a <form>: go-app runs
// handlers after the event, too late to stop a native submission (which
// would put the password in the URL before the wasm has loaded).
func (s *Shell) onLoginKey(ctx app.Context, e app.Event) {
	if isEnter(e) {
		s.onLogin(ctx, e)
	}
}

func (s *Shell) onSelect(c conv) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		s.navOpen = false
		post(ctx, actionSelect, c)
		if c == s.view.Selected {
			focusID("dataInput")
		}
	}
}

func (s *Shell) onLang(ctx app.Context, _ app.Event) {
	next := langKO
	if s.lang() == langKO {
		next = langEN
	}
	post(ctx, actionLang, next)
}

func (s *Shell) onMenu(ctx app.Context, _ app.Event)    { s.navOpen = !s.navOpen }
func (s *Shell) onScrim(ctx app.Context, _ app.Event)   { s.navOpen = false }
func (s *Shell) onReload(ctx app.Context, _ app.Event)  { ctx.Reload() }
func (s *Shell) onInstall(ctx app.Context, _ app.Event) { ctx.ShowAppInstallPrompt() }

// Render returns the page.
func (s *Shell) Render() app.UI {
	state := s.view.State
	if state == "" {
		state = stateOffline
	}
	nav := "closed"
	if s.navOpen {
		nav = "open"
	}
	return app.Div().
		ID("root").
		Class("app").
		DataSet("mounted", s.mounted).
		DataSet("nav", nav).
		Body(
			app.A().Class("skip-link").Href("#dataInput").Text(s.t("skip")),
			s.renderSidebar(state),
			app.Div().Class("scrim").OnClick(s.onScrim),
			s.renderPane(state),
			s.renderDialogs(),
		)
}

// slot renders f() when cond holds, inside a container that is always
// there: go-app diffs children by position, so an element that comes and
// goes would otherwise make it rebuild every later sibling (and lose what
// was typed in them).
func slot(cond bool, f func() app.UI) app.UI {
	return app.Div().Class("slot").Body(app.If(cond, f))
}

// notice renders the notice of an area: an error (role=alert) or a
// confirmation; empty when there is none.
func (s *Shell) notice(id, area string) app.UI {
	n, ok := s.view.Notices[area]
	kind := "info"
	if n.Error {
		kind = "error"
	}
	return app.P().
		ID(id).
		Class("notice").
		DataSet("kind", kind).
		Hidden(!ok).
		Role(map[bool]string{true: "alert", false: "status"}[n.Error]).
		Text(n.text(s.lang()))
}

// maxText is the composer's limit, the server's default --max-text (a
// server with another limit answers 413, shown as a refusal).
const maxText = shared.DefaultMaxText
