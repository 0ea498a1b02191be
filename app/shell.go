package app

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// Shell is the chat page: a sidebar (connection state, the user, rooms and
// people), the conversation pane (#result) and the composer. It renders the
// View the service publishes and posts actions; it holds no connection.
//
// The root element is div#root. The server prerenders it with
// data-mounted="false", so finding an element in the page proves nothing
// about the wasm; OnMount, which runs only in the browser, re-renders it with
// data-mounted="true". Browser tests wait for #root[data-mounted="true"].
//
// The form fields are read from the DOM when a button is pressed (a test or
// a password manager may fill them without input events), so the component
// keeps no copy of them, except in values when it runs natively (tests).
type Shell struct {
	app.Compo

	mounted     bool
	view        View
	update      bool // a new version is installed; reload to use it
	installable bool
	navOpen     bool // the sidebar drawer at phone width

	lastSelected string
	lastLang     string

	values map[string]string // field values when not in a browser
}

// OnMount runs in the browser only: mark the page live, observe the
// service's View and start the service.
func (s *Shell) OnMount(ctx app.Context) {
	s.mounted = true
	s.installable = ctx.IsAppInstallable()
	s.update = ctx.AppUpdateAvailable()
	if app.IsClient {
		// Time to interactive, read by the browser test.
		w := app.Window()
		w.Set("chatappMountedAt", w.Get("performance").Call("now"))
	}
	ctx.ObserveState(stateView, &s.view).OnChange(func() { s.viewChanged(ctx) })
	ctx.NewAction(actionStart)
}

// OnAppUpdate shows the "update available — reload" notice.
func (s *Shell) OnAppUpdate(ctx app.Context) { s.update = ctx.AppUpdateAvailable() }

// OnAppInstallChange shows or hides the install button.
func (s *Shell) OnAppInstallChange(ctx app.Context) { s.installable = ctx.IsAppInstallable() }

// viewChanged runs after a new View is stored: it fills the recipient when
// the conversation changes, keeps <html lang> right and follows new
// messages at the bottom of the log.
func (s *Shell) viewChanged(ctx app.Context) {
	v := &s.view
	if v.Lang != s.lastLang && app.IsClient {
		app.Window().Get("document").Get("documentElement").Call("setAttribute", "lang", v.Lang)
	}
	s.lastLang = v.Lang
	follow := true
	if app.IsClient {
		if log := app.Window().GetElementByID("log"); log.Truthy() {
			gap := log.Get("scrollHeight").Float() - log.Get("scrollTop").Float() - log.Get("clientHeight").Float()
			follow = gap < 80
		}
	}
	if v.Selected != s.lastSelected {
		s.lastSelected = v.Selected
		s.setValue("recepientInput", v.ToRecipient)
		s.setValue("chattype", v.ToCommand)
		follow = true
	}
	if follow && app.IsClient {
		ctx.Defer(func(app.Context) {
			if log := app.Window().GetElementByID("log"); log.Truthy() {
				log.Set("scrollTop", log.Get("scrollHeight"))
			}
		})
	}
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

// Event handlers.

func (s *Shell) onConnect(ctx app.Context, _ app.Event) {
	ctx.NewActionWithValue(actionConnect, connectForm{Host: s.value("hostInput"), Port: s.value("portInput")})
}

func (s *Shell) onLogin(ctx app.Context, _ app.Event) {
	ctx.NewActionWithValue(actionLogin, loginForm{
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

func (s *Shell) onLogout(ctx app.Context, _ app.Event) { ctx.NewAction(actionLogout) }

func (s *Shell) onRoom(command string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		ctx.NewActionWithValue(actionRoom, roomForm{Command: command, ID: s.value("roomIdInput"), Name: s.value("roomNameInput")})
	}
}

func (s *Shell) onJoinSelected(ctx app.Context, _ app.Event) {
	ctx.NewActionWithValue(actionRoom, roomForm{Command: shared.RoomJoin, ID: s.view.SelectedID})
}

func (s *Shell) onSend(ctx app.Context, _ app.Event) {
	f := sendForm{Recipient: s.value("recepientInput"), Command: s.value("chattype"), Text: s.value("dataInput")}
	if _, bad := checkSend(s.lang(), f); bad == "" && s.view.LoggedIn {
		s.setValue("dataInput", "") // it is in the outbox now
	}
	ctx.NewActionWithValue(actionSend, f)
}

func (s *Shell) onComposerKey(ctx app.Context, e app.Event) {
	if isEnter(e) {
		s.onSend(ctx, e)
	}
}

// isEnter reports a plain Enter that is not finishing an IME composition
// (Korean input composes syllables; its Enter must not send).
func isEnter(e app.Event) bool {
	return e.Get("key").String() == "Enter" && !e.Get("isComposing").Bool() &&
		e.Get("keyCode").Int() != 229 && !e.Get("shiftKey").Bool()
}

func (s *Shell) onSelect(conv string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		s.navOpen = false
		ctx.NewActionWithValue(actionSelect, conv)
	}
}

func (s *Shell) onPickRoom(r RoomItem) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		s.setValue("roomIdInput", r.ID)
		s.setValue("roomNameInput", r.Name)
		s.onSelect(r.Conv)(ctx, e)
	}
}

func (s *Shell) onLang(ctx app.Context, _ app.Event) {
	next := langKO
	if s.lang() == langKO {
		next = langEN
	}
	ctx.NewActionWithValue(actionLang, next)
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
			s.renderSidebar(state),
			app.Div().Class("scrim").OnClick(s.onScrim),
			s.renderPane(state),
		)
}

func (s *Shell) renderSidebar(state string) app.UI {
	v := &s.view
	return app.Aside().
		Class("sidebar").
		Aria("label", s.t("menu")).
		Body(
			app.Header().Class("side-head").Body(
				app.Div().Class("brand").Body(
					app.Img().Class("logo").Src("/web/icon.svg").Aria("hidden", true),
					app.Span().Text(s.t("title")),
				),
				app.Span().
					ID("status").
					Class("status").
					DataSet("state", state).
					DataSet("net", map[bool]string{true: "offline", false: "online"}[v.NetDown]).
					Role("status").
					Title(v.ConnErr).
					Text(s.t("state."+state)),
			),
			app.Div().Class("side-tools").Body(
				app.Button().
					ID("langButton").
					Class("chip").
					Type("button").
					Lang(map[string]string{langEN: langKO, langKO: langEN}[s.lang()]).
					Aria("label", s.t("lang.switch.label")).
					Text(s.t("lang.switch")).
					OnClick(s.onLang),
				app.If(s.installable, func() app.UI {
					return app.Button().ID("installButton").Class("chip").Type("button").
						Text(s.t("install")).OnClick(s.onInstall)
				}),
			),
			slot(v.LoggedIn, s.renderMe),
			app.Nav().Class("convs").Body(
				s.convButton("convEverything", convEverything, s.t("everything"), "", 0),
				s.convButton("convAll", convAll, s.t("everyone"), shared.All, v.AllUnread),
				s.renderRooms(),
				s.renderPeople(),
			),
			s.renderServer(),
		)
}

func (s *Shell) renderMe() app.UI {
	me := s.view.Me
	name := me.Alias
	if name == "" {
		name = me.ID
	}
	return app.Section().Class("me").Aria("label", s.t("you")).Body(
		avatar(name, true),
		app.Div().Class("me-text").Body(
			app.Div().ID("meName").Class("me-name").Text(name),
			app.Div().Class("me-sub").Text("@"+me.ID+ifNotEmpty(" · ", me.Today)),
		),
		app.Button().
			ID("logoutButton").
			Class("chip").
			Type("button").
			Text(s.t("logout")).
			OnClick(s.onLogout),
	)
}

// slot renders f() when cond holds, inside a container that is always
// there: go-app diffs children by position, so an element that comes and
// goes would otherwise make it rebuild every later sibling (and lose what
// was typed in them).
func slot(cond bool, f func() app.UI) app.UI {
	return app.Div().Class("slot").Body(app.If(cond, f))
}

func ifNotEmpty(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// avatar is a round badge with the first letter of name.
func avatar(name string, online bool) app.UI {
	letter := "?"
	for _, r := range name {
		letter = strings.ToUpper(string(r))
		break
	}
	hue := 0
	for _, r := range name {
		hue = (hue*31 + int(r)) % 360
	}
	return app.Span().
		Class("avatar").
		DataSet("online", online).
		Style("--hue", strconv.Itoa(hue)).
		Aria("hidden", true).
		Text(letter)
}

func (s *Shell) convButton(id, conv, label, sub string, unread int) app.UI {
	return app.Button().
		ID(id).
		Class("conv").
		Type("button").
		DataSet("conv", conv).
		DataSet("selected", s.view.Selected == conv).
		OnClick(s.onSelect(conv), app.EventScope(conv)).
		Body(
			app.Span().Class("conv-name").Text(label),
			app.If(sub != "", func() app.UI { return app.Span().Class("conv-sub").Text(sub) }),
			badge(unread),
		)
}

func badge(n int) app.UI {
	return app.If(n > 0, func() app.UI {
		return app.Span().Class("badge").Text(strconv.Itoa(n))
	})
}

func (s *Shell) renderRooms() app.UI {
	v := &s.view
	return app.Section().Class("group").Aria("labelledby", "roomsHeading").Body(
		app.H2().ID("roomsHeading").Class("group-title").Body(
			app.Text(s.t("rooms")),
			app.Span().Class("count").Text(strconv.Itoa(len(v.Rooms))),
		),
		app.Div().ID("roomList").Class("list").Body(
			app.Range(v.Rooms).Slice(func(i int) app.UI {
				r := v.Rooms[i]
				return app.Div().
					Class("room").
					DataSet("room-id", r.ID).
					DataSet("member", r.Member).
					DataSet("selected", v.Selected == r.Conv).
					Body(
						app.Button().Class("conv").Type("button").OnClick(s.onPickRoom(r), app.EventScope(r.Conv)).Body(
							app.Span().Class("hash").Aria("hidden", true).Text("#"),
							app.Span().Class("conv-name").Text(r.Name),
							app.Span().Class("conv-sub").Text(r.ID+ifNotEmpty(" · ", joinedLabel(s.lang(), r))),
							app.Span().
								Class("members").
								Title(trf(s.lang(), "members", strconv.Itoa(r.Members))).
								Text(strconv.Itoa(r.Members)),
							badge(r.Unread),
						),
					)
			}),
		),
		app.P().Class("hint").Hidden(len(v.Rooms) > 0).Text(s.t("no.rooms")),
		s.renderRoomForm(),
	)
}

func joinedLabel(lang string, r RoomItem) string {
	switch {
	case r.Owned:
		return tr(lang, "owner")
	case r.Member:
		return tr(lang, "joined")
	}
	return ""
}

func (s *Shell) renderRoomForm() app.UI {
	button := func(id, cmd, key string) app.UI {
		return app.Button().ID(id).Class("chip").Type("button").Text(s.t(key)).OnClick(s.onRoom(cmd))
	}
	return app.Div().Class("room-form").Aria("label", s.t("room.manage")).Body(
		app.Div().Class("fields").Body(
			app.Input().ID("roomIdInput").Type("text").Class("field").
				Placeholder(s.t("room.id")).Aria("label", s.t("room.id")).
				AutoComplete(false).Spellcheck(false).MaxLength(shared.MaxRoomID),
			app.Input().ID("roomNameInput").Type("text").Class("field").
				Placeholder(s.t("room.name")).Aria("label", s.t("room.name")).
				AutoComplete(false).MaxLength(shared.MaxRoomName),
		),
		app.Div().Class("buttons").Body(
			button("createRoomButton", shared.RoomCreate, "room.create"),
			button("joinRoomButton", shared.RoomJoin, "room.join"),
			button("leaveRoomButton", shared.RoomLeave, "room.leave"),
			button("updateRoomButton", shared.RoomUpdate, "room.update"),
			button("deleteRoomButton", shared.RoomDelete, "room.delete"),
		),
		s.notice("roomNotice", "room"),
	)
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
		Text(n.Text)
}

func (s *Shell) renderPeople() app.UI {
	v := &s.view
	online := 0
	for _, p := range v.People {
		if p.Online {
			online++
		}
	}
	return app.Section().Class("group").Aria("labelledby", "peopleHeading").Body(
		app.H2().ID("peopleHeading").Class("group-title").Body(
			app.Text(s.t("people")),
			app.Span().Class("count").Text(strconv.Itoa(online)+" / "+strconv.Itoa(len(v.People))),
		),
		app.Ul().ID("peopleList").Class("list").Body(
			app.Range(v.People).Slice(func(i int) app.UI {
				p := v.People[i]
				name := p.Alias
				if name == "" {
					name = p.ID
				}
				state := s.t("offline")
				if p.Online {
					state = s.t("online")
				}
				sub := "@" + p.ID
				if p.Me {
					sub += " · " + s.t("you")
				}
				return app.Li().
					Class("person").
					DataSet("user-id", p.ID).
					DataSet("online", p.Online).
					DataSet("selected", v.Selected == p.Conv).
					Body(
						app.Button().Class("conv").Type("button").Title(state+ifNotEmpty(" · ", p.Today)).
							OnClick(s.onSelect(p.Conv), app.EventScope(p.Conv)).Body(
							avatar(name, p.Online),
							app.Span().Class("conv-name").Text(name),
							app.Span().Class("conv-sub").Text(sub+ifNotEmpty(" · ", p.Today)),
							app.Span().Class("presence").Text(state),
							badge(p.Unread),
						),
					)
			}),
		),
		app.If(len(v.People) == 0, func() app.UI { return app.P().Class("hint").Text(s.t("no.people")) }),
	)
}

func (s *Shell) renderServer() app.UI {
	v := &s.view
	return app.Footer().Class("server").Body(
		app.Div().Class("group-title").Text(s.t("server")),
		app.Div().Class("fields").Body(
			app.Input().ID("hostInput").Type("text").Class("field host").
				Value(v.Host).Placeholder(s.t("host")).Aria("label", s.t("host")).
				AutoComplete(false).Spellcheck(false),
			app.Input().ID("portInput").Type("text").Class("field port").
				Value(v.Port).Placeholder(s.t("port")).Aria("label", s.t("port")).
				Attr("inputmode", "numeric").AutoComplete(false),
			app.Button().ID("connectButton").Class("chip").Type("button").
				Text(s.t("connect")).OnClick(s.onConnect),
		),
		s.notice("connectNotice", "connect"),
	)
}

func (s *Shell) renderPane(state string) app.UI {
	v := &s.view
	return app.Main().Class("pane").Body(
		app.Header().Class("pane-head").Body(
			app.Button().ID("menuButton").Class("icon-button menu").Type("button").
				Aria("label", s.t("menu")).Aria("expanded", s.navOpen).
				OnClick(s.onMenu).Body(
				app.Span().Class("burger").Aria("hidden", true),
				app.Span().Class("status-dot").DataSet("state", state).Aria("hidden", true),
			),
			app.Div().Class("pane-title").Body(
				app.H1().ID("convTitle").Text(v.Title),
				app.If(v.Subtitle != "", func() app.UI { return app.P().Class("pane-sub").Text(v.Subtitle) }),
			),
		),
		slot(s.update, func() app.UI {
			return app.Div().ID("updateNotice").Class("banner").Role("status").Body(
				app.Span().Text(s.t("update")+" — "),
				app.Button().ID("updateButton").Class("chip strong").Type("button").
					Text(s.t("update.reload")).OnClick(s.onReload),
			)
		}),
		app.Div().ID("log").Class("log").Body(
			slot(!v.LoggedIn, s.renderLogin),
			slot(v.NeedJoin, func() app.UI {
				return app.Div().Class("banner join").Body(
					app.Span().Text(s.t("room.join.hint")),
					app.Button().ID("joinHintButton").Class("chip strong").Type("button").
						Text(s.t("room.join")).OnClick(s.onJoinSelected),
				)
			}),
			app.Div().ID("result").Class("messages").Aria("live", "polite").Body(
				app.Range(v.Messages).Slice(func(i int) app.UI { return s.renderMessage(v.Messages[i]) }),
			),
			app.Div().ID("outbox").Class("messages").Body(
				app.Range(v.Pending).Slice(func(i int) app.UI { return s.renderPending(v.Pending[i]) }),
			),
			app.If(v.LoggedIn && len(v.Messages) == 0 && len(v.Pending) == 0, func() app.UI {
				return app.P().Class("empty").Text(s.t("empty"))
			}),
		),
		s.renderComposer(),
	)
}

func (s *Shell) renderLogin() app.UI {
	field := func(id, typ, label, auto string, max int, optional bool) app.UI {
		in := app.Input().ID(id).Type(typ).Class("field").Attr("autocomplete", auto).
			OnKeyDown(s.onLoginKey)
		if max > 0 {
			in = in.MaxLength(max)
		}
		if id == "idInput" {
			in = in.Value(s.view.LastID).Spellcheck(false).Attr("autocapitalize", "none")
		}
		text := label
		if optional {
			text += " (" + s.t("optional") + ")"
		}
		return app.Label().Class("label").Body(app.Span().Text(text), in)
	}
	return app.Section().ID("login").Class("card login").Aria("labelledby", "loginTitle").Body(
		app.H2().ID("loginTitle").Text(s.t("login.title")),
		app.P().Class("lead").Text(s.t("login.lead")),
		app.Div().Class("grid").Body(
			field("idInput", "text", s.t("id"), "username", shared.MaxUserID, false),
			field("passwordInput", "password", s.t("password"), "current-password", shared.MaxPassword, false),
			field("aliasInput", "text", s.t("alias"), "nickname", shared.MaxAlias, true),
			field("todayInput", "text", s.t("today"), "off", shared.MaxToday, true),
		),
		app.Button().ID("loginButton").Class("primary").Type("button").Text(s.t("login")).OnClick(s.onLogin),
		s.notice("loginNotice", "login"),
	)
}

func (s *Shell) renderMessage(m MsgItem) app.UI {
	return app.Article().
		Class("msg").
		DataSet("seq", m.Seq).
		DataSet("mine", m.Mine).
		Body(
			avatar(m.Alias, true),
			app.Div().Class("msg-body").Body(
				app.Div().Class("msg-meta").Body(
					app.Span().Class("msg-alias").Text(m.Alias),
					app.If(m.Alias != m.Sender, func() app.UI { return app.Span().Class("msg-id").Text("@" + m.Sender) }),
					app.If(m.Where != "", func() app.UI { return app.Span().Class("msg-where").Text(m.Where) }),
					app.Time().Class("msg-time").DateTime(m.Stamp).Title(m.Stamp).Text(m.Time),
				),
				app.P().Class("msg-text").Text(m.Text),
			),
		)
}

func (s *Shell) renderPending(p PendingItem) app.UI {
	me := s.view.Me.Alias
	if me == "" {
		me = s.view.Me.ID
	}
	return app.Article().
		Class("msg pending").
		DataSet("cid", p.CID).
		DataSet("mine", true).
		Body(
			avatar(me, false),
			app.Div().Class("msg-body").Body(
				app.Div().Class("msg-meta").Body(
					app.Span().Class("msg-alias").Text(me),
					app.If(p.Where != "", func() app.UI { return app.Span().Class("msg-where").Text(p.Where) }),
					app.Span().Class("msg-time").Text(s.t("pending")),
				),
				app.P().Class("msg-text").Text(p.Text),
			),
		)
}

func (s *Shell) renderComposer() app.UI {
	return app.Footer().Class("composer").Body(
		app.Div().Class("composer-to").Body(
			app.Label().Class("inline").For("recepientInput").Text(s.t("recipient")),
			app.Input().ID("recepientInput").Type("text").Class("field").
				Value(shared.All).Placeholder(s.t("recipient.placeholder")).
				AutoComplete(false).Spellcheck(false).Attr("autocapitalize", "none"),
			app.Select().ID("chattype").Class("field").Aria("label", s.t("chattype")).Body(
				app.Option().Value(shared.CommandChat).Text(s.t("chat")),
				app.Option().Value(shared.CommandGroupchat).Text(s.t("groupchat")),
			),
		),
		app.Div().Class("composer-main").Body(
			app.Input().ID("dataInput").Type("text").Class("field message").
				Placeholder(s.t("message.placeholder")).Aria("label", s.t("message")).
				Attr("enterkeyhint", "send").AutoComplete(false).
				MaxLength(shared.DefaultMaxText).
				OnKeyDown(s.onComposerKey),
			app.Button().ID("sendButton").Class("primary").Type("button").
				Text(s.t("send")).OnClick(s.onSend),
		),
		s.notice("sendNotice", "send"),
	)
}
