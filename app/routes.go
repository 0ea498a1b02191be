package app

import (
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Routes registers the chatapp page and the global action handlers of the
// connection service with go-app. It must run in the browser before
// app.RunWhenOnBrowser and on the server before the go-app Handler serves a
// page. It registers once: go-app's route and handler tables are plain
// maps, so concurrent registrations (parallel tests building handlers)
// would race.
func Routes() { routesOnce.Do(registerRoutes) }

var routesOnce sync.Once

func registerRoutes() {
	app.Route("/", func() app.Composer { return &Shell{} })
	registerActions()
}
