package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Routes registers the chatapp page and the global action handlers of the
// connection service with go-app. It must run in the browser before
// app.RunWhenOnBrowser and on the server before the go-app Handler serves a
// page. Calling it again is harmless: routes and handlers are map entries.
func Routes() {
	app.Route("/", func() app.Composer { return &Shell{} })
	registerActions()
}
