// Package app is the chatapp user interface: go-app v10 components that run
// twice, compiled to WebAssembly in the browser (see app/wasm) and natively
// inside the chatapp server, which prerenders every page with the same code,
// plus the browser's chat client.
//
// Call Routes on both sides before anything else: the browser needs it to
// pick the component for a URL and to find the global action handlers, and
// the server's go-app Handler answers 404 for any path that has no route.
//
// Files:
//
//	shell.go    the page (Shell): its state, focus, scrolling, the rows' actions
//	sidebar.go  the sidebar: status, the user, conversations, rooms, people,
//	            unread and mention badges, the notifications switch
//	pane.go     the conversation: header and room menu, #log, "is typing"
//	msgrow.go   one message (a component): text, edits, reactions, the
//	            quoted message, its actions and emoji picker
//	richtext.go a message's text: links and mentions
//	composer.go the composer: reply and edit modes, @ completion, its keys
//	dialogs.go  the room, confirmation, server and profile dialogs
//	browser.go  go-app glue: the actions, the View state, window events
//	order.go    the service's actions run in the order they were posted
//	link.go     the connection: dial, Engine.IO heartbeat, reconnect with
//	            backoff, Socket.IO packet decoding (knows nothing of chat)
//	calls.go    the request/ack bookkeeping: callbacks by ack id
//	client.go   the chat service: applies events and answers to the model
//	requests.go what the components ask of it: login, profile, rooms, send
//	msgops.go   what they do to messages: edit, delete, react, show one
//	outbox.go   the outbox of typed operations (messages, changes, read
//	            marks), persisted and sent in order once connected
//	storage.go  what survives a reload, in localStorage, per server origin
//	conv.go     the conv type that names a conversation
//	model.go    what the client knows (conversations, rooms, people)
//	changes.go  edits, deletions and reactions applied to their message
//	unread.go   read marks and unread and mention counts
//	typing.go   "X is typing…", both ways
//	mention.go  the users the @ completion offers (the directory's seam)
//	notify.go   browser notifications
//	timeline.go one conversation's window of messages and its paging
//	view.go     the View snapshot the components render (msgview.go: its
//	            messages)
//	i18n.go     English and Korean texts; notices worded at render time
//
// Imports: go-app, coder/websocket, chatapp/shared and the standard library.
// Never server, server/store or kong.
//
// Goroutines: component fields are read and written only on go-app's UI
// goroutine (lifecycle hooks, event handlers, ctx.Dispatch). The one service
// (client.go) runs its connection loop on its own goroutine, guards its
// state with a mutex and hands components immutable View values through
// ctx.SetState. OnMount runs only in the browser, and it alone starts the
// service; OnInit, OnPreRender and OnNav also run on the server during
// prerendering, so they must not start long-lived work.
package app
