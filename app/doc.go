// Package app is the chatapp user interface: go-app v10 components that run
// twice, compiled to WebAssembly in the browser (see app/wasm) and natively
// inside the chatapp server, which prerenders every page with the same code.
//
// Call Routes on both sides before anything else: the browser needs it to
// pick the component for a URL, and the server's go-app Handler answers 404
// for any path that has no route.
//
// Imports: go-app, chatapp/shared and the standard library (later
// coder/websocket for the browser client). Never server, server/store or kong.
//
// Goroutines: component fields are read and written only on go-app's UI
// goroutine (lifecycle hooks, event handlers, ctx.Dispatch). OnMount runs only
// in the browser; OnInit, OnPreRender and OnNav also run on the server during
// prerendering, so they must not start long-lived work.
package app
