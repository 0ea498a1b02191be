package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
)

// publicFiles serves a folder at /public/ (--public), as the original
// server served its client pages, so that a reader of the book drops the
// pages, jQuery and socket.io.js in one folder and opens them from chatapp:
// same origin, nothing to allow. Only regular files inside the folder are
// served: no listings, no dotfiles, no encoded slashes, and os.Root refuses
// ".." and symlinks that lead out of it.
type publicFiles struct {
	root *os.Root // open for the life of the process
}

func newPublicFiles(dir string) (*publicFiles, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &publicFiles{root: root}, nil
}

// maxInlineHTML is the largest HTML file whose inline scripts are hashed
// into its Content-Security-Policy; a larger one is served without them,
// so its inline scripts do not run.
const maxInlineHTML = 1 << 20

func (p *publicFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := publicName(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, st, err := p.open(name, strings.HasSuffix(r.URL.Path, "/"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	ctype := mime.TypeByExtension(path.Ext(st.Name())) // name may be a folder, st its index.html
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache") // revalidate: readers edit these files
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	var content io.ReadSeeker = f
	csp := "default-src 'none'; sandbox"
	if strings.HasPrefix(ctype, "text/html") {
		var page []byte
		if st.Size() <= maxInlineHTML {
			if page, err = io.ReadAll(f); err != nil {
				http.Error(w, "read error", http.StatusInternalServerError)
				return
			}
			content = bytes.NewReader(page)
		}
		csp = pageCSP(page)
	}
	h.Set("Content-Security-Policy", csp)
	http.ServeContent(w, r, st.Name(), st.ModTime(), content)
}

// open opens the regular file name, or with dirIndex the index.html of
// the folder name. Anything else is fs.ErrNotExist: folders are not listed.
func (p *publicFiles) open(name string, dirIndex bool) (*os.File, fs.FileInfo, error) {
	f, err := p.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() && dirIndex {
		f.Close()
		return p.open(path.Join(name, "index.html"), false)
	}
	if err == nil && !st.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// publicName returns the file name a /public/ request asks for, relative
// to the folder ("." for the folder itself), or false for a path that is
// never served: a dot segment (dotfiles, "..") or an encoded slash or
// backslash, which would name something else than the path shows.
func publicName(r *http.Request) (string, bool) {
	raw := strings.ToLower(r.URL.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/public/")
	if !ok || strings.ContainsAny(rest, "\\\x00") {
		return "", false
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	if rest = strings.Trim(rest, "/"); rest == "" {
		return ".", true
	}
	return rest, true
}

// pageCSP is the Content-Security-Policy of an HTML file: its own inline
// <script> blocks (by hash) and scripts from this server run; nothing
// else does. The book's pages print what they receive as HTML
// ($('#result').append('<p>' + data + '</p>')), so without it any chat
// message could run script on the chat's origin, where the app keeps its
// session token. Inline event handlers and injected scripts are blocked,
// images come only from here (no leaks through their URLs), and the pages
// may connect to any chat server, as they let the reader choose one.
func pageCSP(page []byte) string {
	script := "script-src 'self'"
	for _, h := range inlineScriptHashes(page) {
		script += " '" + h + "'"
	}
	return "default-src 'self'; " + script + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

var (
	scriptOpen  = regexp.MustCompile(`(?i)<script\b([^>]*)>`)
	scriptClose = regexp.MustCompile(`(?i)</script`)
	srcAttr     = regexp.MustCompile(`(?i)\ssrc\s*=`)
)

// inlineScriptHashes returns the CSP hashes ("sha256-…") of the inline
// <script> blocks of page. A script's text is raw in HTML (no entities),
// but the parser turns CR LF and CR into LF before the browser hashes it.
func inlineScriptHashes(page []byte) []string {
	var out []string
	for len(page) > 0 {
		m := scriptOpen.FindSubmatchIndex(page)
		if m == nil {
			break
		}
		body := page[m[1]:]
		end := scriptClose.FindIndex(body)
		if end == nil {
			break
		}
		if !srcAttr.Match(page[m[2]:m[3]]) {
			text := bytes.ReplaceAll(body[:end[0]], []byte("\r\n"), []byte("\n"))
			text = bytes.ReplaceAll(text, []byte("\r"), []byte("\n"))
			sum := sha256.Sum256(text)
			out = append(out, "sha256-"+base64.StdEncoding.EncodeToString(sum[:]))
		}
		page = body[end[1]:]
	}
	return out
}
