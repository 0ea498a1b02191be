package server

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publicTree makes a --public folder beside a secret file and folder
// outside it, with symlinks that lead out.
func publicTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	pub := filepath.Join(base, "public")
	files := map[string]string{
		"public/index.html":       "<p>index</p>",
		"public/page.html":        "<!DOCTYPE html><script src=\"app.js\"></script>\r\n<SCRIPT>\r\nvar a = '<b>';\r\n</SCRIPT><script type=\"text/javascript\">go()</script>",
		"public/app.js":           "go = () => 1;",
		"public/style.css":        "p{}",
		"public/noext":            "<html><script>alert(1)</script>",
		"public/.env":             "SECRET-DOTFILE",
		"public/sub/.hidden.html": "SECRET-HIDDEN",
		"public/sub/x.txt":        "in sub",
		"outside.txt":             "SECRET-OUTSIDE",
		"outdir/y.txt":            "SECRET-OUTDIR",
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(pub, "empty"), 0o755)
	for link, target := range map[string]string{
		"link-out":   "../outside.txt",
		"abs-out":    filepath.Join(base, "outside.txt"),
		"dir-out":    "../outdir",
		"link-in.js": "app.js",
	} {
		if err := os.Symlink(target, filepath.Join(pub, link)); err != nil {
			t.Fatal(err)
		}
	}
	return pub
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// TestPublicFiles: --public serves the folder's regular files with their
// content types and the headers static files need; an HTML file's
// Content-Security-Policy lets its own inline scripts run and nothing
// injected.
func TestPublicFiles(t *testing.T) {
	ts := newTestServer(t, Config{PublicDir: publicTree(t)})
	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.http.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for path, want := range map[string]struct{ ctype, body string }{
		"/public/":           {"text/html; charset=utf-8", "<p>index</p>"},
		"/public/index.html": {"text/html; charset=utf-8", "<p>index</p>"},
		"/public/app.js":     {"text/javascript; charset=utf-8", "go = () => 1;"},
		"/public/style.css":  {"text/css; charset=utf-8", "p{}"},
		"/public/sub/x.txt":  {"text/plain; charset=utf-8", "in sub"},
		"/public/link-in.js": {"text/javascript; charset=utf-8", "go = () => 1;"},             // a symlink inside
		"/public/noext":      {"application/octet-stream", "<html><script>alert(1)</script>"}, // never sniffed as HTML
	} {
		resp, body := get(path)
		h := resp.Header
		if resp.StatusCode != 200 || body != want.body || h.Get("Content-Type") != want.ctype {
			t.Errorf("%s: %d %q %q, want %q %q", path, resp.StatusCode, h.Get("Content-Type"), body, want.ctype, want.body)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" ||
			h.Get("Cache-Control") != "no-cache" || h.Get("Last-Modified") == "" || h.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: headers %v", path, h)
		}
		if !strings.HasPrefix(want.ctype, "text/html") && h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
			t.Errorf("%s: CSP %q", path, h.Get("Content-Security-Policy"))
		}
	}

	// The page's two inline scripts are allowed by hash, as the browser
	// hashes them (CR LF read as LF); the one with src is not hashed.
	resp, _ := get("/public/page.html")
	csp := resp.Header.Get("Content-Security-Policy")
	wantScript := "script-src 'self' " + sha("\nvar a = '<b>';\n") + " " + sha("go()") + ";"
	if !strings.Contains(csp, wantScript) || strings.Contains(csp, "unsafe-inline' ;") || !strings.Contains(csp, "img-src 'self' data:;") {
		t.Errorf("page CSP %q, want %q in it", csp, wantScript)
	}
	if strings.Count(csp, "sha256-") != 2 || strings.Contains(csp, "script-src 'self' 'unsafe") {
		t.Errorf("page CSP %q", csp)
	}

	// Conditional requests and ranges work as for any static file.
	if resp, _ := get("/public/app.js", "If-Modified-Since", resp.Header.Get("Last-Modified")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", resp.StatusCode)
	}
	if resp, body := get("/public/app.js", "Range", "bytes=0-1"); resp.StatusCode != http.StatusPartialContent || body != "go" {
		t.Errorf("Range: %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", ts.http.URL+"/public/app.js", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	}
}

// TestPublicFilesStayInside: no listings, no dotfiles, nothing outside the
// folder, whatever the path: dot segments, encoded dots and slashes,
// backslashes, symlinks out. Each path goes through the whole server
// (whose mux redirects plain ".." paths) and straight to the handler.
func TestPublicFilesStayInside(t *testing.T) {
	dir := publicTree(t)
	ts := newTestServer(t, Config{PublicDir: dir})
	pf, err := newPublicFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{
		"/public/.env", "/public/sub/.hidden.html", "/public/%2eenv",
		"/public/sub", "/public/sub/", "/public/empty/", // folders: no listing, no index.html
		"/public/../outside.txt", "/public/sub/../../outside.txt",
		"/public/%2e%2e/outside.txt", "/public/%2E%2E/outdir/y.txt",
		"/public/..%2foutside.txt", "/public/sub%2f..%2f..%2foutside.txt", "/public/%2e%2e%2foutside.txt",
		"/public/..%5coutside.txt", "/public/sub%5Cx.txt",
		"/public/link-out", "/public/abs-out", "/public/dir-out/y.txt", "/public/dir-out/",
		"/public/nothing-here.html",
	} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest("GET", ts.http.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 || strings.Contains(string(body), "SECRET") || strings.Contains(string(body), "in sub") {
				t.Errorf("server: %d %q", resp.StatusCode, body)
			}
			// The handler alone, as if no mux had cleaned the path.
			r := httptest.NewRequest("GET", "http://x"+path, nil)
			w := httptest.NewRecorder()
			pf.ServeHTTP(w, r)
			if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "SECRET") {
				t.Errorf("handler: %d %q", w.Code, w.Body.String())
			}
		})
	}
}
