package app

import (
	"maps"
	"slices"
	"strconv"
	"sync"
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

// post posts an action for the service. go-app runs each global action
// handler in a goroutine of its own, and Go's scheduler may run a newer
// goroutine first, so two quick Enters could swap their messages, or a
// stale @ query overtake the current one: post numbers the actions, and
// handle runs them in that order.
func post(ctx app.Context, name string, v any) {
	ctx.NewActionWithValue(name, v, app.T(tagOrder, inOrder.stamp()))
}

// tagOrder is the tag of an action's number.
const tagOrder = "order"

// inOrder runs the numbered actions in their order.
var inOrder sequencer

// sequencer runs numbered functions in the order of their numbers,
// whatever the order they arrive in; one that arrives before its turn
// waits in pending and runs when its turn comes, on the goroutine of the
// one before it. Unnumbered ones (0) run at once.
type sequencer struct {
	mu      sync.Mutex
	last    int64 // the last number stamped
	next    int64 // the next number to run
	pending map[int64]func()
	running sync.Mutex // held while a function runs, so they never overlap
}

// stamp returns the next number.
func (q *sequencer) stamp() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last++
	return q.last
}

// maxPending bounds the wait for a number that never arrives (an action
// lost by the engine): past it, the gap is skipped.
const maxPending = 32

func (q *sequencer) run(n int64, f func()) {
	if n == 0 {
		q.running.Lock()
		defer q.running.Unlock()
		f()
		return
	}
	q.mu.Lock()
	if q.pending == nil {
		q.pending = map[int64]func(){}
		q.next = max(q.next, 1)
	}
	q.pending[n] = f
	if len(q.pending) > maxPending {
		q.next = slices.Min(slices.Collect(maps.Keys(q.pending)))
	}
	for {
		g, ok := q.pending[q.next]
		if !ok {
			break
		}
		delete(q.pending, q.next)
		q.next++
		q.mu.Unlock()
		q.running.Lock()
		g()
		q.running.Unlock()
		q.mu.Lock()
	}
	q.mu.Unlock()
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
