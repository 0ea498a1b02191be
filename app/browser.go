package app

import (
	"strconv"
	"sync/atomic"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The go-app state and actions between the components and the service.
// Components observe stateView and post actions; global handlers (app.Handle,
// registered by Routes) run them on the service, whose ctx lives as long as
// the page.
const (
	stateView = "chat/view"

	actionStart   = "chat/start"   // no value; posted by Shell.OnMount
	actionConnect = "chat/connect" // connectForm
	actionLogin   = "chat/login"   // loginForm
	actionLogout  = "chat/logout"  // struct{}
	actionRoom    = "chat/room"    // roomForm
	actionSend    = "chat/send"    // sendForm
	actionSelect  = "chat/select"  // conv
	actionLang    = "chat/lang"    // string: langEN or langKO
	actionProfile = "chat/profile" // profileForm
	actionPage    = "chat/page"    // bool: true for an older page, false for a newer one
	actionFollow  = "chat/follow"  // bool: the log is scrolled to its newest message
	actionEdit    = "chat/edit"    // editForm
	actionDelete  = "chat/delete"  // string: the message's seq
	actionReact   = "chat/react"   // reactForm
	actionSeek    = "chat/seek"    // seekForm
	actionTyping  = "chat/typing"  // conv: the user types there
	actionMention = "chat/mention" // mentionForm: the @ being typed
	actionNotify  = "chat/notify"  // bool: notifications on
)

// connectForm is the value of the connect action.
type connectForm struct{ Host, Port string }

// theService is the page's one connection service, created by the start
// action (in the browser only: OnMount never runs on the server).
var theService atomic.Pointer[service]

// registerActions installs the global action handlers. go-app runs each
// one in its own goroutine with a ctx whose source is <body>.
func registerActions() {
	app.Handle(actionStart, func(ctx app.Context, _ app.Action) { startService(ctx) })
	handle(actionConnect, func(s *service, f connectForm) { s.Connect(f.Host, f.Port) })
	handle(actionLogin, (*service).Login)
	handle(actionLogout, func(s *service, _ struct{}) { s.Logout() })
	handle(actionRoom, (*service).Room)
	handle(actionSend, (*service).Send)
	handle(actionSelect, (*service).Select)
	handle(actionProfile, (*service).Profile)
	handle(actionPage, (*service).Page)
	handle(actionFollow, (*service).Following)
	handle(actionLang, (*service).SetLang)
	handle(actionEdit, (*service).Edit)
	handle(actionDelete, (*service).Delete)
	handle(actionReact, (*service).React)
	handle(actionSeek, (*service).Seek)
	handle(actionTyping, (*service).Typing)
	handle(actionMention, (*service).MentionQuery)
	handle(actionNotify, (*service).SetNotify)
}

// handle installs the handler of an action whose value is a T: f runs on
// the service, once it exists, with the value (an action with another
// value is a programming error and is ignored), in the order post posted
// the actions.
func handle[T any](name string, f func(*service, T)) {
	app.Handle(name, func(_ app.Context, a app.Action) {
		n, _ := strconv.ParseInt(a.Tags.Get(tagOrder), 10, 64)
		inOrder.run(n, func() {
			v, ok := a.Value.(T)
			if s := theService.Load(); s != nil && ok {
				f(s, v)
			}
		})
	})
}

// startService creates the service once and starts its loop with the
// action's ctx, and wires the window events that make it reconnect at once.
func startService(ctx app.Context) {
	s := newService(browserHost{ctx: ctx})
	if !theService.CompareAndSwap(nil, s) {
		return
	}
	u := app.Window().URL()
	lang := app.Window().Get("navigator").Get("language")
	tag := ""
	if lang.Truthy() {
		tag = lang.String()
	}

	kick := app.FuncOf(func(app.Value, []app.Value) any {
		s.Kick()
		return nil
	})
	app.Window().Call("addEventListener", "online", kick)
	app.Window().Call("addEventListener", "offline", kick) // the loop notices and waits
	doc := app.Window().Get("document")
	visible := func() bool { return doc.Get("visibilityState").String() == "visible" }
	doc.Call("addEventListener", "visibilitychange", app.FuncOf(func(app.Value, []app.Value) any {
		v := visible()
		if v {
			s.Kick()
		}
		go s.Visible(v) // it may write to the socket: not on the browser's event loop
		return nil
	}))

	s.start(ctx, u, tag)
	s.Visible(visible())
}

// browserHost is the service's host in the page.
type browserHost struct{ ctx app.Context }

func (h browserHost) schedule(f func()) { h.ctx.Dispatch(func(app.Context) { f() }) }
func (h browserHost) publish(v View)    { h.ctx.SetState(stateView, v) }
func (h browserHost) storage() kv       { return h.ctx.LocalStorage() }

// notify shows a notification, if the browser allows it, through the
// service worker: that works in the installed app too, and a click on it
// opens its conversation (go-app's worker focuses the page and navigates
// to data.goapp.path: Shell.OnNav). go-app's own Notifications().New
// loses the title on that path. The tag makes a conversation's newer
// notification replace its older one.
func (h browserHost) notify(n note) {
	w := app.Window()
	if h.ctx.Notifications().Permission() != app.NotificationGranted {
		return
	}
	opts := map[string]any{
		"body": n.Body, "tag": n.Path, "renotify": true, "icon": "/web/icon-192.png",
		"data": map[string]any{"goapp": map[string]any{"path": n.Path, "actions": []any{}}},
	}
	sw := w.Get("navigator").Get("serviceWorker")
	if !sw.Truthy() {
		w.Get("Notification").New(n.Title, opts)
		return
	}
	var show app.Func
	show = app.FuncOf(func(_ app.Value, args []app.Value) any {
		defer show.Release()
		return args[0].Call("showNotification", n.Title, opts)
	})
	sw.Get("ready").Call("then", show)
}

func (h browserHost) online() bool {
	on := app.Window().Get("navigator").Get("onLine")
	return on.IsUndefined() || on.Bool()
}
