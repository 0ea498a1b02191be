//go:build js && wasm

// Command wasm is the browser half of chatapp, built into web/app.wasm:
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o web/app.wasm ./app/wasm
//
// The server half is the chatapp binary, which embeds that file.
package main

import (
	"chatapp/app"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	app.Routes()
	goapp.RunWhenOnBrowser()
}
