//go:build !js

package main

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/app"
)

// webFS holds web/: the committed icons and CSS and, after the wasm build,
// app.wasm with its .gz and .br copies. Nothing is read from disk at run time.
//
//go:embed web
var webFS embed.FS

// wasmPath is where go-app's app.js loads the client from; /app.wasm and
// /goapp.wasm are rewritten to it by the go-app Handler.
const wasmPath = "web/app.wasm"

// newUIHandler returns the handler for everything that is not the socket: the
// prerendered pages, go-app's generated files (app.js, app-worker.js,
// manifest.webmanifest, wasm_exec.js, app.css) and web/ from the embed.
//
// Without web/app.wasm in the embed (a plain go build) it still serves the
// pages; only the wasm answers 404.
func newUIHandler(logger *slog.Logger) (http.Handler, error) {
	return newUIHandlerFS(logger, webFS)
}

// newUIHandlerFS is newUIHandler over any fs.FS laid out like webFS (tests use
// fstest.MapFS for the with-wasm and without-wasm cases).
func newUIHandlerFS(logger *slog.Logger, fsys fs.FS) (*uiHandler, error) {
	version, err := contentVersion(fsys)
	if err != nil {
		return nil, err
	}

	var wasmSize string
	switch fi, err := fs.Stat(fsys, wasmPath); {
	case err == nil:
		wasmSize = strconv.FormatInt(fi.Size(), 10)
	case errors.Is(err, fs.ErrNotExist):
		logger.Warn("ui: web/app.wasm is not embedded; pages work, the app does not start (build the wasm first)")
	default:
		return nil, fmt.Errorf("ui: stat %s: %w", wasmPath, err)
	}

	app.Routes() // the go-app Handler answers 404 for unrouted paths

	h := &goapp.Handler{
		Name:        "chatapp",
		ShortName:   "chatapp",
		Title:       "chatapp",
		Description: "Chat in rooms and direct messages. Installable, keeps working offline.",
		Icon: goapp.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-512.png", // real 512 px, artwork inside the safe zone
			SVG:      "/web/icon.svg",
		},
		BackgroundColor: "#f6f8fa",
		ThemeColor:      "#2563eb",
		Styles:          []string{"/web/app.css"},
		// go-app pre-caches the PNG icons but not the SVG one (the favicon),
		// and cache.addAll is all or nothing.
		CacheableResources: []string{"/web/icon.svg"},
		Resources:          webResources{fsys: fsys, resolver: goapp.LocalDir("")},
		// Version is the service-worker cache name and the ETag of every
		// response, so it must change exactly when web/ (hence the wasm) does.
		Version: version,
		// The raw size: with Content-Encoding, Content-Length is the encoded
		// size and the loading progress would be wrong.
		WasmContentLength: wasmSize,
	}

	logger.Info("ui ready", "version", version, "wasm_bytes", wasmSize)
	return &uiHandler{Handler: h, version: version}, nil
}

// uiHandler is the go-app Handler with go-app's default proxy resources
// (/robots.txt, /sitemap.xml, /ads.txt) answered 404 here. go-app serves them
// by fetching http://<request Host>/web/<name> and caching the first answer
// for every later client, so a request with a forged Host header could make
// the server fetch an arbitrary URL and then serve its body, with its
// Content-Type, from our origin.
type uiHandler struct {
	*goapp.Handler
	version string
}

func (h *uiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if prefix := "/" + h.version; strings.HasPrefix(p, prefix+"/") {
		p = strings.TrimPrefix(p, prefix) // go-app accepts /<Version>/... too
	}
	switch p {
	case "/robots.txt", "/sitemap.xml", "/ads.txt":
		http.NotFound(w, r)
		return
	}
	h.Handler.ServeHTTP(w, r)
}

// contentVersion is a hash of every file under web/ (path, size and bytes),
// so it is the same across restarts of one build and changes with the wasm.
func contentVersion(fsys fs.FS) (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(fsys, "web", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := fsys.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", name, fi.Size())
		_, err = io.Copy(sum, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("ui: hash web/: %w", err)
	}
	return hex.EncodeToString(sum.Sum(nil)[:12]), nil
}

// webResources resolves /web/... to itself (go-app's LocalDir("") rules) and
// serves it from fsys. Because it is an http.Handler, the go-app Handler
// passes every /web/ request to it.
type webResources struct {
	fsys     fs.FS
	resolver goapp.ResourceResolver
}

func (res webResources) Resolve(location string) string {
	return res.resolver.Resolve(location)
}

// encodings are the pre-compressed copies of app.wasm, best first.
var encodings = []struct{ coding, suffix string }{
	{"br", ".br"},
	{"gzip", ".gz"},
}

// ServeHTTP serves web/ files. app.wasm goes out as its .br or .gz copy when
// the client accepts that coding, always as application/wasm, which
// WebAssembly.instantiateStreaming requires. The go-app Handler has already
// set Cache-Control: no-cache and ETag: "<Version>", and ServeContent answers
// If-None-Match and Range from them.
func (res webResources) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if !strings.HasPrefix(name, "web/") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}

	if name != wasmPath {
		res.serveFile(w, r, name, "", "")
		return
	}
	w.Header().Add("Vary", "Accept-Encoding")
	accept := r.Header.Get("Accept-Encoding")
	for _, e := range encodings {
		if !acceptsEncoding(accept, e.coding) {
			continue
		}
		if _, err := fs.Stat(res.fsys, name+e.suffix); err != nil {
			continue
		}
		res.serveFile(w, r, name+e.suffix, "application/wasm", e.coding)
		return
	}
	res.serveFile(w, r, name, "application/wasm", "")
}

// serveFile serves one regular file of fsys; contentType "" means by file
// extension. Directories are not listed.
//
// An encoded copy (coding != "") is written whole with its Content-Length:
// http.ServeContent would drop Content-Length once Content-Encoding is set,
// and a byte range of a compressed copy is of no use to a browser.
// If-None-Match needs no handling here: the go-app Handler answers it.
func (res webResources) serveFile(w http.ResponseWriter, r *http.Request, name, contentType, coding string) {
	f, err := res.fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}

	if coding != "" {
		w.Header().Set("Content-Encoding", coding)
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.Copy(w, f)
		}
		return
	}

	content, ok := f.(io.ReadSeeker) // embed.FS files are, without a copy
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		content = bytes.NewReader(b)
	}
	http.ServeContent(w, r, name, time.Time{}, content)
}

// acceptsEncoding reports whether an Accept-Encoding header value accepts
// coding with a non-zero q-value (RFC 9110 §12.5.3). A wildcard is ignored:
// the raw file is always an acceptable answer.
func acceptsEncoding(header, coding string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}
