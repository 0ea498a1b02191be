//go:build !js

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"image"
	_ "image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// embeddedUI is newUIHandler over the real embed.
func embeddedUI(t *testing.T) *uiHandler {
	t.Helper()
	h, err := newUIHandler(testLogger(t))
	if err != nil {
		t.Fatalf("newUIHandler: %v", err)
	}
	return h.(*uiHandler)
}

func serve(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, h, http.MethodGet, target, header...)
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, target string, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("GET %s: status %d, want %d; body %.200q", target, w.Code, status, w.Body.String())
	}
}

func wantHeader(t *testing.T, w *httptest.ResponseRecorder, target, key, want string) {
	t.Helper()
	if got := w.Header().Get(key); got != want {
		t.Errorf("GET %s: %s %q, want %q", target, key, got, want)
	}
}

func TestUIHandler_Page(t *testing.T) {
	t.Parallel()
	h := embeddedUI(t)

	w := get(t, h, "/")
	wantStatus(t, w, "/", http.StatusOK)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	body := w.Body.String()
	for _, s := range []string{
		"<title>chatapp</title>",
		`id="root"`,
		`data-mounted="false"`, // prerendered; OnMount flips it in the browser
		`id="status"`,
		`data-state="offline"`,
		`href="/web/app.css"`,
		`href="/web/icon.svg"`,
		`src="/app.js"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	// The prerendered page already has the controls (logged out: the login
	// form), so a page that has not run its wasm yet looks like the app.
	for _, id := range []string{"hostInput", "portInput", "connectButton", "idInput", "passwordInput",
		"aliasInput", "todayInput", "loginButton", "roomIdInput", "roomNameInput", "createRoomButton",
		"updateRoomButton", "deleteRoomButton", "joinRoomButton", "leaveRoomButton", "roomList",
		"recepientInput", "chattype", "dataInput", "sendButton", "result"} {
		if !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("page lacks #%s", id)
		}
	}
	if strings.Contains(body, "githubusercontent") {
		t.Error("page references go-app's remote default icons")
	}

	// Unrouted paths are 404 (go-app v10), so Routes was called.
	wantStatus(t, get(t, h, "/nope"), "/nope", http.StatusNotFound)
}

func TestUIHandler_Manifest(t *testing.T) {
	t.Parallel()
	h := embeddedUI(t)

	w := get(t, h, "/manifest.webmanifest")
	wantStatus(t, w, "/manifest.webmanifest", http.StatusOK)
	var m struct {
		Name, ShortName, Display string
		Icons                    []struct{ Src, Type, Purpose, Sizes string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.Name != "chatapp" || m.Display != "standalone" {
		t.Errorf("manifest name %q display %q", m.Name, m.Display)
	}
	var maskable, svg bool
	for _, ic := range m.Icons {
		if !strings.HasPrefix(ic.Src, "/web/") {
			t.Errorf("icon %q is not local", ic.Src)
			continue
		}
		wantStatus(t, get(t, h, ic.Src), ic.Src, http.StatusOK)
		maskable = maskable || ic.Purpose == "maskable" && ic.Sizes == "512x512"
		svg = svg || ic.Type == "image/svg+xml"
	}
	if !maskable || !svg {
		t.Errorf("manifest icons %+v: want a 512x512 maskable and an svg", m.Icons)
	}
}

func TestUIHandler_StaticFiles(t *testing.T) {
	t.Parallel()
	h := embeddedUI(t)

	for _, c := range []struct {
		path, contentType string
		size              int // for PNGs: width and height
	}{
		{"/web/icon-192.png", "image/png", 192},
		{"/web/icon-512.png", "image/png", 512},
		{"/web/icon.svg", "image/svg+xml", 0},
		{"/web/app.css", "text/css; charset=utf-8", 0},
	} {
		w := get(t, h, c.path)
		wantStatus(t, w, c.path, http.StatusOK)
		wantHeader(t, w, c.path, "Content-Type", c.contentType)
		if c.size == 0 {
			continue
		}
		cfg, _, err := image.DecodeConfig(w.Body)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if cfg.Width != c.size || cfg.Height != c.size {
			t.Errorf("%s is %dx%d, want %d px square", c.path, cfg.Width, cfg.Height, c.size)
		}
	}

	w := get(t, h, "/app-worker.js")
	wantStatus(t, w, "/app-worker.js", http.StatusOK)
	for _, s := range []string{h.Version, `"/web/icon.svg"`, `"/web/app.wasm"`} {
		if !strings.Contains(w.Body.String(), s) {
			t.Errorf("app-worker.js lacks %s", s)
		}
	}

	for _, p := range []string{"/web/", "/web", "/web/nope.png", "/web/../ui.go"} {
		wantStatus(t, get(t, h, p), p, http.StatusNotFound)
	}

	// Every answer carries ETag "<Version>"; a match is a 304.
	w = get(t, h, "/web/app.css", "If-None-Match", `"`+h.Version+`"`)
	wantStatus(t, w, "/web/app.css", http.StatusNotModified)
}

func TestUIHandler_VersionStable(t *testing.T) {
	t.Parallel()
	a, b := embeddedUI(t), embeddedUI(t)
	if a.Version == "" || a.Version != b.Version {
		t.Fatalf("versions %q and %q: want equal and non-empty", a.Version, b.Version)
	}

	fsys := fakeWeb(t, true)
	v1, err := contentVersion(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fsys["web/app.wasm"] = &fstest.MapFile{Data: []byte("\x00asm changed")}
	v2, err := contentVersion(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if v1 == v2 {
		t.Error("version did not change with web/app.wasm")
	}
}

// go-app proxies these paths by fetching http://<Host>/web/<name>; uiHandler
// must answer them without any outbound request.
func TestUIHandler_ProxyPathsNeverFetch(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<script>alert(1)</script>")
	}))
	defer evil.Close()

	h := embeddedUI(t)
	host := strings.TrimPrefix(evil.URL, "http://")
	for _, p := range []string{"/robots.txt", "/sitemap.xml", "/ads.txt", "/" + h.Version + "/robots.txt"} {
		r := httptest.NewRequest(http.MethodGet, p, nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		wantStatus(t, w, p, http.StatusNotFound)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("handler made %d outbound requests to the Host header's server", n)
	}
}

// TestUIHandler_EmbeddedWasm checks the real embed once the wasm is built
// (make wasm); a plain go build has none.
func TestUIHandler_EmbeddedWasm(t *testing.T) {
	t.Parallel()
	raw, err := fs.ReadFile(webFS, wasmPath)
	if err != nil {
		t.Skip("web/app.wasm is not embedded; run the wasm build first")
	}
	h := embeddedUI(t)
	if h.WasmContentLength != strconv.Itoa(len(raw)) {
		t.Errorf("WasmContentLength %q, want %d", h.WasmContentLength, len(raw))
	}
	checkWasm(t, h, webFS, raw)
}

// TestUIHandler_FakeWasm runs the same checks over a small fake web/, so the
// negotiation is tested even before the wasm build.
func TestUIHandler_FakeWasm(t *testing.T) {
	t.Parallel()
	fsys := fakeWeb(t, true)
	h, err := newUIHandlerFS(testLogger(t), fsys)
	if err != nil {
		t.Fatal(err)
	}
	raw := fsys[wasmPath].Data
	if h.WasmContentLength != strconv.Itoa(len(raw)) {
		t.Errorf("WasmContentLength %q, want %d", h.WasmContentLength, len(raw))
	}
	checkWasm(t, h, fsys, raw)

	for _, c := range []struct{ accept, coding string }{
		{"gzip, deflate, br, zstd", "br"},
		{"br;q=0, gzip", "gzip"},
		{"GZIP;q=0.5", "gzip"},
		{"gzip;q=0", ""},
		{"identity", ""},
		{"*", ""},
	} {
		w := get(t, h, "/web/app.wasm", "Accept-Encoding", c.accept)
		wantStatus(t, w, "/web/app.wasm", http.StatusOK)
		wantHeader(t, w, "/web/app.wasm ("+c.accept+")", "Content-Encoding", c.coding)
	}

	// Without a .br copy, a brotli client gets the gzip one.
	delete(fsys, wasmPath+".br")
	h, err = newUIHandlerFS(testLogger(t), fsys)
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, h, "/web/app.wasm", "Accept-Encoding", "br, gzip")
	wantHeader(t, w, "/web/app.wasm", "Content-Encoding", "gzip")
}

func TestUIHandler_NoWasm(t *testing.T) {
	t.Parallel()
	h, err := newUIHandlerFS(testLogger(t), fakeWeb(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if h.WasmContentLength != "" {
		t.Errorf("WasmContentLength %q without a wasm", h.WasmContentLength)
	}
	wantStatus(t, get(t, h, "/"), "/", http.StatusOK)
	for _, p := range []string{"/web/app.wasm", "/app.wasm"} {
		w := get(t, h, p, "Accept-Encoding", "br, gzip")
		wantStatus(t, w, p, http.StatusNotFound)
		wantHeader(t, w, p, "Content-Encoding", "")
	}
}

// checkWasm asserts the three ways /web/app.wasm goes out.
func checkWasm(t *testing.T, h http.Handler, fsys fs.FS, raw []byte) {
	t.Helper()
	const p = "/web/app.wasm"
	for _, c := range []struct {
		accept, coding, file string
	}{
		{"gzip, deflate, br, zstd", "br", wasmPath + ".br"},
		{"gzip", "gzip", wasmPath + ".gz"},
		{"", "", wasmPath},
	} {
		want, err := fs.ReadFile(fsys, c.file)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		w := get(t, h, p, "Accept-Encoding", c.accept)
		wantStatus(t, w, p, http.StatusOK)
		wantHeader(t, w, p, "Content-Type", "application/wasm")
		wantHeader(t, w, p, "Content-Encoding", c.coding)
		wantHeader(t, w, p, "Vary", "Accept-Encoding")
		wantHeader(t, w, p, "Content-Length", strconv.Itoa(len(want)))
		if !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("Accept-Encoding %q: body is not %s", c.accept, c.file)
		}
		if c.coding == "gzip" {
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, raw) {
				t.Errorf("gzip body does not decode to app.wasm (err %v)", err)
			}
		}
	}

	// go-app's alias serves the same file.
	w := get(t, h, "/app.wasm", "Accept-Encoding", "br")
	wantStatus(t, w, "/app.wasm", http.StatusOK)
	wantHeader(t, w, "/app.wasm", "Content-Encoding", "br")

	w = serve(t, h, http.MethodHead, p, "Accept-Encoding", "gzip")
	wantStatus(t, w, "HEAD "+p, http.StatusOK)
	if w.Body.Len() != 0 {
		t.Errorf("HEAD %s has a body", p)
	}
}

// fakeWeb is a small web/ with, if wasm, a fake app.wasm and its copies (the
// .br is not real brotli; only its bytes are compared).
func fakeWeb(t *testing.T, wasm bool) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, name := range []string{"icon.svg", "icon-192.png", "icon-512.png", "app.css"} {
		b, err := fs.ReadFile(webFS, "web/"+name)
		if err != nil {
			t.Fatal(err)
		}
		fsys["web/"+name] = &fstest.MapFile{Data: b}
	}
	if !wasm {
		return fsys
	}
	raw := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"), 512)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fsys[wasmPath] = &fstest.MapFile{Data: raw}
	fsys[wasmPath+".gz"] = &fstest.MapFile{Data: gz.Bytes()}
	fsys[wasmPath+".br"] = &fstest.MapFile{Data: []byte("fake brotli")}
	return fsys
}

func TestAcceptsEncoding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header, coding string
		want           bool
	}{
		{"", "br", false},
		{"br", "br", true},
		{"gzip, deflate, br, zstd", "br", true},
		{"gzip, deflate, br, zstd", "gzip", true},
		{"gzip, deflate", "br", false},
		{"br;q=0", "br", false},
		{"br; q=0.0, gzip", "br", false},
		{"br;q=0.001", "br", true},
		{" BR ", "br", true},
		{"brotli", "br", false},
		{"*", "gzip", false},
	} {
		if got := acceptsEncoding(c.header, c.coding); got != c.want {
			t.Errorf("acceptsEncoding(%q, %q) = %v, want %v", c.header, c.coding, got, c.want)
		}
	}
}
