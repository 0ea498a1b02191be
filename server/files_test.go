package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"chatapp/server/store"
	"chatapp/shared"
)

// uploaded is an answer of POST /files: the file, or the JSON error.
type uploaded struct {
	status int
	header http.Header
	file   shared.FileInfo
	err    struct{ Code, Message string }
}

// uploadReq is a POST /files; nil headers are left out.
type uploadReq struct {
	token, name, ctype *string
	body               io.Reader
	length             int64 // -1: chunked
}

func str(s string) *string { return &s }

// upload posts body as file name with the given Content-Type, with token
// as the bearer token.
func (ts *testServer) upload(token, name, ctype string, body []byte) uploaded {
	ts.t.Helper()
	return ts.post(uploadReq{token: str(token), name: str(url.PathEscape(name)), ctype: str(ctype),
		body: bytes.NewReader(body), length: int64(len(body))})
}

// post sends an upload. It may run on any goroutine: a failure is
// reported with Errorf and returns status 0.
func (ts *testServer) post(u uploadReq) uploaded {
	ts.t.Helper()
	req, err := http.NewRequest("POST", ts.http.URL+"/files", u.body)
	if err != nil {
		ts.t.Error(err)
		return uploaded{}
	}
	req.ContentLength = u.length
	if u.token != nil {
		req.Header.Set("Authorization", "Bearer "+*u.token)
	}
	if u.name != nil {
		req.Header.Set("X-Filename", *u.name)
	}
	if u.ctype != nil {
		req.Header.Set("Content-Type", *u.ctype)
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Errorf("POST /files: %v", err)
		return uploaded{}
	}
	defer resp.Body.Close()
	out := uploaded{status: resp.StatusCode, header: resp.Header}
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "application/json" {
		ts.t.Errorf("POST /files: %d with %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		return uploaded{}
	}
	if resp.StatusCode == http.StatusCreated {
		err = json.Unmarshal(b, &out.file)
	} else {
		err = json.Unmarshal(b, &out.err)
	}
	if err != nil {
		ts.t.Errorf("POST /files: %d %s: %v", resp.StatusCode, b, err)
		return uploaded{}
	}
	return out
}

// mustUpload uploads and fails the test unless 201.
func (ts *testServer) mustUpload(token, name, ctype string, body []byte) shared.FileInfo {
	ts.t.Helper()
	u := ts.upload(token, name, ctype, body)
	if u.status != http.StatusCreated {
		ts.t.Fatalf("upload %s: %d %+v", name, u.status, u.err)
	}
	return u.file
}

// fetch GETs path with the extra request headers.
func (ts *testServer) fetch(path string, header ...string) (*http.Response, []byte) {
	ts.t.Helper()
	req, err := http.NewRequest("GET", ts.http.URL+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// wantGet fails the test unless GET path answers status.
func (ts *testServer) wantGet(path string, status int, what string) {
	ts.t.Helper()
	if resp, _ := ts.fetch(path); resp.StatusCode != status {
		ts.t.Fatalf("%s: GET %s: %d, want %d", what, path, resp.StatusCode, status)
	}
}

// onDisk lists the blobs and the uploads in progress in the data
// directory's files folder.
func (ts *testServer) onDisk() (blobs, tmp []string) {
	ts.t.Helper()
	root := filepath.Join(ts.dir, store.FilesDir)
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" {
			tmp = append(tmp, d.Name())
		} else {
			blobs = append(blobs, d.Name())
		}
		return nil
	})
	return blobs, tmp
}

// waitUploading waits until an upload is being written to a temporary
// file.
func (ts *testServer) waitUploading() {
	ts.t.Helper()
	deadline := time.Now().Add(wait)
	for _, tmp := ts.onDisk(); len(tmp) == 0; _, tmp = ts.onDisk() {
		if time.Now().After(deadline) {
			ts.t.Fatal("no upload in progress")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric reads one sample of /metrics, e.g. `chatapp_uploads_total{result="stored"}`.
func (ts *testServer) metric(name string) string {
	ts.t.Helper()
	_, b := ts.fetch("/metrics")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	ts.t.Fatalf("no %s in /metrics", name)
	return ""
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpHeader is the start of an extended WebP file (a VP8X chunk): all
// that image.DecodeConfig reads of one.
func webpHeader(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+10))
	b.WriteString("WEBPVP8X")
	binary.Write(&b, binary.LittleEndian, uint32(10))
	b.Write([]byte{0, 0, 0, 0})
	for _, v := range []int{w - 1, h - 1} {
		b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16)})
	}
	return b.Bytes()
}

// pngHeader is a PNG signature and IHDR claiming w×h pixels: what a
// decompression bomb looks like to image.DecodeConfig.
func pngHeader(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	b.Write(bytes.Repeat([]byte{0}, 64))
	return b.Bytes()
}

// TestUploadAndServe: an upload is answered 201 with the file, kept
// once per content, and served to anyone with the URL with the headers
// of section 9: inline for an image, ranges, ETag, caching for good.
func TestUploadAndServe(t *testing.T) {
	ts := newTestServer(t, Config{})
	_, ra := ts.login("alice")
	img := pngBytes(t, 3, 2)
	f := ts.mustUpload(ra.Token, "cat picture.png", "IMAGE/PNG; charset=x", img)
	if len(f.ID) < 22 || f.Name != "cat picture.png" || f.Size != int64(len(img)) || f.Type != "image/png" ||
		f.Width != 3 || f.Height != 2 || f.URL != "/files/"+f.ID+"/cat%20picture.png" {
		t.Fatalf("answer %+v", f)
	}
	resp, body := ts.fetch(f.URL)
	if resp.StatusCode != 200 || !bytes.Equal(body, img) {
		t.Fatalf("GET %d, %d bytes", resp.StatusCode, len(body))
	}
	etag := resp.Header.Get("ETag")
	for h, want := range map[string]string{
		"Content-Type":            "image/png",
		"Content-Disposition":     `inline; filename="cat picture.png"`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Cache-Control":           "private, max-age=31536000, immutable",
		"Accept-Ranges":           "bytes",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if len(etag) < 40 {
		t.Errorf("ETag %q", etag)
	}
	// Ranges, conditional requests, any name part, HEAD.
	if resp, body := ts.fetch(f.URL, "Range", "bytes=1-4"); resp.StatusCode != 206 || !bytes.Equal(body, img[1:5]) {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
	if resp, _ := ts.fetch(f.URL, "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, body := ts.fetch("/files/" + f.ID + "/another/name.png"); resp.StatusCode != 200 || !bytes.Equal(body, img) {
		t.Errorf("other name part: %d", resp.StatusCode)
	}
	if resp, err := ts.http.Client().Head(ts.http.URL + f.URL); err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(img)) {
		t.Errorf("HEAD: %v %v", resp, err)
	}
	for _, path := range []string{"/files/AAAAAAAAAAAAAAAAAAAAAAAA/x", "/files/not.an.id/x", "/files/" + f.ID + "x/cat.png"} {
		if resp, body := ts.fetch(path); resp.StatusCode != 404 || !strings.Contains(string(body), `"code":"404"`) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}

	// The same bytes again: a new file, the same blob.
	g := ts.mustUpload(ra.Token, "copy.png", "image/png", img)
	if g.ID == f.ID {
		t.Fatal("same id twice")
	}
	if blobs, tmp := ts.onDisk(); len(blobs) != 1 || len(tmp) != 0 {
		t.Fatalf("on disk: %v %v", blobs, tmp)
	}
	if got := ts.metric("chatapp_file_bytes"); got != fmt.Sprint(len(img)) {
		t.Errorf("chatapp_file_bytes %s", got)
	}
	if got := ts.metric(`chatapp_uploads_total{result="stored"}`); got != "2" {
		t.Errorf("stored uploads %s", got)
	}
}

// TestUploadTypesFromBytes: whether a file is an image is read from its
// bytes: PNG, JPEG, GIF and WebP are inline with their size whatever the
// client said; HTML sent as image/png, SVG and anything else are
// attachments, and a lie about an image type is not repeated.
func TestUploadTypesFromBytes(t *testing.T) {
	ts := newTestServer(t, Config{})
	_, ra := ts.login("alice")
	html := []byte("<!doctype html><script>alert(document.cookie)</script>")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	for _, tt := range []struct {
		name, ctype string
		body        []byte
		typ         string
		w, h        int
	}{
		{"a.jpg", "text/plain", jpegBytes(t, 16, 9), "image/jpeg", 16, 9},
		{"a.gif", "", gifBytes(t, 5, 4), "image/gif", 5, 4},
		{"a.webp", "application/octet-stream", webpHeader(640, 480), "image/webp", 640, 480},
		{"a.png", "image/png", pngBytes(t, 1, 1), "image/png", 1, 1},
		{"evil.png", "image/png", html, "application/octet-stream", 0, 0},
		{"evil.html", "text/html", html, "text/html", 0, 0},
		{"logo.svg", "image/svg+xml", svg, "image/svg+xml", 0, 0},
		{"report.pdf", "application/pdf", []byte("%PDF-1.4 hello"), "application/pdf", 0, 0},
		{"noname", "", []byte("bytes"), "application/octet-stream", 0, 0},
	} {
		f := ts.mustUpload(ra.Token, tt.name, tt.ctype, tt.body)
		if f.Type != tt.typ || f.Width != tt.w || f.Height != tt.h {
			t.Errorf("%s: %+v, want %s %d×%d", tt.name, f, tt.typ, tt.w, tt.h)
		}
		resp, body := ts.fetch(f.URL)
		disp := resp.Header.Get("Content-Disposition")
		inline := tt.w > 0
		if resp.StatusCode != 200 || !bytes.Equal(body, tt.body) || strings.HasPrefix(disp, "inline") != inline ||
			!strings.HasPrefix(disp, map[bool]string{true: "inline;", false: "attachment;"}[inline]) ||
			resp.Header.Get("Content-Type") != tt.typ || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: GET %d, Content-Disposition %q, Content-Type %q", tt.name, resp.StatusCode, disp, resp.Header.Get("Content-Type"))
		}
	}
	// Names outside ASCII and with quotes survive the header.
	f := ts.mustUpload(ra.Token, `사진 "1".png`, "image/png", pngBytes(t, 2, 2))
	resp, _ := ts.fetch(f.URL)
	if !strings.Contains(resp.Header.Get("Content-Disposition"), "filename*=utf-8''%EC%82%AC%EC%A7%84%20%221%22.png") {
		t.Errorf("Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}
}

// TestUploadBadInput: each bad upload gets its status and a JSON error
// naming the problem, and leaves nothing: no blob, no temporary file,
// nothing counted against the quota.
func TestUploadBadInput(t *testing.T) {
	ts := newTestServer(t, Config{MaxFile: 1000})
	_, ra := ts.login("alice")
	ok := str(ra.Token)
	name := str("a.txt")
	body := func(n int) io.Reader { return bytes.NewReader(bytes.Repeat([]byte("x"), n)) }
	for _, tt := range []struct {
		what   string
		req    uploadReq
		status int
		want   string
	}{
		{"no token", uploadReq{name: name, body: body(5), length: 5}, 401, "log in first"},
		{"not bearer", uploadReq{token: str(""), name: name, body: body(5), length: 5}, 401, "log in first"},
		{"wrong token", uploadReq{token: str("nope"), name: name, body: body(5), length: 5}, 401, "invalid session"},
		{"empty body", uploadReq{token: ok, name: name, body: body(0), length: 0}, 400, "empty body"},
		{"empty chunked body", uploadReq{token: ok, name: name, body: body(0), length: -1}, 400, "empty body"},
		{"over --max-file", uploadReq{token: ok, name: name, body: body(1001), length: 1001}, 413, "larger than 1000 bytes"},
		{"over --max-file, chunked", uploadReq{token: ok, name: name, body: body(5000), length: -1}, 413, "larger than 1000 bytes"},
		{"no name", uploadReq{token: ok, body: body(5), length: 5}, 400, "X-Filename"},
		{"slash", uploadReq{token: ok, name: str("a%2Fb"), body: body(5), length: 5}, 400, "X-Filename"},
		{"raw slash", uploadReq{token: ok, name: str("../etc/passwd"), body: body(5), length: 5}, 400, "X-Filename"},
		{"backslash", uploadReq{token: ok, name: str("a%5Cb"), body: body(5), length: 5}, 400, "X-Filename"},
		{"dot dot", uploadReq{token: ok, name: str(".."), body: body(5), length: 5}, 400, "X-Filename"},
		{"dot dot encoded", uploadReq{token: ok, name: str("%2E%2E"), body: body(5), length: 5}, 400, "X-Filename"},
		{"NUL", uploadReq{token: ok, name: str("a%00.txt"), body: body(5), length: 5}, 400, "control"},
		{"newline", uploadReq{token: ok, name: str("a%0A.txt"), body: body(5), length: 5}, 400, "control"},
		{"DEL", uploadReq{token: ok, name: str("a%7F"), body: body(5), length: 5}, 400, "control"},
		{"C1 control", uploadReq{token: ok, name: str("a%C2%85"), body: body(5), length: 5}, 400, "control"},
		{"RLO", uploadReq{token: ok, name: str("a%E2%80%AEgpj.exe"), body: body(5), length: 5}, 400, "format"},
		{"bad percent", uploadReq{token: ok, name: str("a%zz"), body: body(5), length: 5}, 400, "percent-encoding"},
		{"cut percent", uploadReq{token: ok, name: str("a%4"), body: body(5), length: 5}, 400, "percent-encoding"},
		{"bad UTF-8", uploadReq{token: ok, name: str("a%C3"), body: body(5), length: 5}, 400, "UTF-8"},
		{"256 characters", uploadReq{token: ok, name: str(strings.Repeat("%EA%B0%80", 256)), body: body(5), length: 5}, 400, "255"},
		{"bad Content-Type", uploadReq{token: ok, name: name, ctype: str("text"), body: body(5), length: 5}, 400, "Content-Type"},
		{"bad Content-Type 2", uploadReq{token: ok, name: name, ctype: str("a/b; =x"), body: body(5), length: 5}, 400, "Content-Type"},
	} {
		u := ts.post(tt.req)
		if u.status != tt.status || u.err.Code != fmt.Sprint(tt.status) || !strings.Contains(u.err.Message, tt.want) {
			t.Errorf("%s: %d %+v, want %d with %q", tt.what, u.status, u.err, tt.status, tt.want)
		}
		if tt.status == 401 && u.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tt.what)
		}
	}
	// 255 characters is fine; so are spaces, dots and plus signs.
	if u := ts.upload(ra.Token, strings.Repeat("가", 251)+".txt", "", []byte("x")); u.status != 201 {
		t.Errorf("255 characters: %d %+v", u.status, u.err)
	}
	if u := ts.post(uploadReq{token: ok, name: str("a+b c..d.txt"), body: body(3), length: 3}); u.status != 201 || u.file.Name != "a+b c..d.txt" {
		t.Errorf("plus and dots: %d %+v", u.status, u.file)
	}
	blobs, tmp := ts.onDisk()
	if len(blobs) != 2 || len(tmp) != 0 {
		t.Fatalf("on disk after the refusals: %v %v", blobs, tmp)
	}
	for result, want := range map[string]string{"unauthorized": "3", "bad_request": "19", "too_large": "2", "stored": "2"} {
		if got := ts.metric(`chatapp_uploads_total{result="` + result + `"}`); got != want {
			t.Errorf("uploads %s: %s, want %s", result, got, want)
		}
	}
}

// TestUploadStopsAtLogout: a token revoked by logout uploads nothing,
// not even an upload that was under way when the user logged out.
func TestUploadStopsAtLogout(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, ra := ts.login("alice")
	pr, pw := io.Pipe()
	done := make(chan uploaded, 1)
	go func() {
		done <- ts.post(uploadReq{token: str(ra.Token), name: str("late.bin"), body: pr, length: -1})
	}()
	pw.Write(bytes.Repeat([]byte("a"), 100<<10))
	ts.waitUploading() // past the session check at its start
	if r := a.req(shared.EventLogout, map[string]any{}); r.Code != "200" {
		t.Fatalf("logout %+v", r)
	}
	pw.Write(bytes.Repeat([]byte("b"), 100<<10))
	pw.Close()
	u := <-done
	if u.status != 401 || !strings.Contains(u.err.Message, "logged out") {
		t.Fatalf("upload across a logout: %d %+v", u.status, u.err)
	}
	if u := ts.upload(ra.Token, "after.bin", "", []byte("x")); u.status != 401 {
		t.Fatalf("upload after logout: %d %+v", u.status, u.err)
	}
	if blobs, tmp := ts.onDisk(); len(blobs)+len(tmp) != 0 {
		t.Fatalf("on disk: %v %v", blobs, tmp)
	}
}

// TestUploadCutOff: a client that goes away halfway through its body
// leaves nothing behind.
func TestUploadCutOff(t *testing.T) {
	ts := newTestServer(t, Config{})
	_, ra := ts.login("alice")
	conn, err := net.Dial("tcp", ts.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Filename: half.bin\r\nContent-Length: 200000\r\n\r\n", ra.Token)
	conn.Write(bytes.Repeat([]byte("h"), 100000))
	ts.waitUploading() // the body is on its way to a temporary file...
	conn.Close()       // ...and the client is gone.
	deadline := time.Now().Add(wait)
	for ts.metric(`chatapp_uploads_total{result="aborted"}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the cut-off upload was not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if blobs, tmp := ts.onDisk(); len(blobs)+len(tmp) != 0 {
		t.Fatalf("on disk: %v %v", blobs, tmp)
	}
	if used, err := ts.st.FileUsage(t.Context(), "alice"); err != nil || used != 0 {
		t.Fatalf("usage %d %v", used, err)
	}
}

// TestUploadQuota: uploads that together pass --file-quota, at the same
// time, get 413 each beyond what fits, and leave nothing; what was
// stored counts until its message is deleted.
func TestUploadQuota(t *testing.T) {
	ts := newTestServer(t, Config{MaxFile: 10000, FileQuota: 20000})
	_, ra := ts.login("alice")
	var wg sync.WaitGroup
	results := make([]uploaded, 6)
	for i := range results {
		wg.Go(func() {
			results[i] = ts.upload(ra.Token, fmt.Sprint(i), "", bytes.Repeat([]byte{byte('a' + i)}, 8000))
		})
	}
	wg.Wait()
	var stored, refused int
	for _, u := range results {
		switch {
		case u.status == 201:
			stored++
		case u.status == 413 && u.err.Code == "413" && strings.Contains(u.err.Message, "quota"):
			refused++
		default:
			t.Errorf("upload: %d %+v", u.status, u.err)
		}
	}
	if stored != 2 || refused != 4 {
		t.Fatalf("%d stored, %d refused; want 2 and 4", stored, refused)
	}
	if blobs, tmp := ts.onDisk(); len(blobs) != 2 || len(tmp) != 0 {
		t.Fatalf("on disk: %v %v", blobs, tmp)
	}
	// Known in advance from Content-Length: refused before the body.
	if u := ts.upload(ra.Token, "more", "", bytes.Repeat([]byte("z"), 5000)); u.status != 413 || !strings.Contains(u.err.Message, "quota") {
		t.Fatalf("over quota: %d %+v", u.status, u.err)
	}
	if used, _ := ts.st.FileUsage(t.Context(), "alice"); used != 16000 {
		t.Fatalf("usage %d", used)
	}
	// Another user has a quota of their own.
	_, rb := ts.login("bob")
	ts.mustUpload(rb.Token, "b", "", bytes.Repeat([]byte("b"), 8000))
}

// TestImageBombRefused: an image whose header claims more pixels than
// maxImagePixels is refused before anyone's browser tries it.
func TestImageBombRefused(t *testing.T) {
	ts := newTestServer(t, Config{})
	_, ra := ts.login("alice")
	for name, body := range map[string][]byte{"bomb.png": pngHeader(20000, 20000), "bomb.webp": webpHeader(16000, 16000)} {
		u := ts.upload(ra.Token, name, "image/png", body)
		if u.status != 413 || !strings.Contains(u.err.Message, "pixels") {
			t.Errorf("%s: %d %+v", name, u.status, u.err)
		}
	}
	if f := ts.mustUpload(ra.Token, "big.png", "", pngHeader(10000, 10000)); f.Width != 10000 || f.Type != "image/png" {
		t.Errorf("100 million pixels: %+v", f)
	}
	if blobs, tmp := ts.onDisk(); len(blobs) != 1 || len(tmp) != 0 {
		t.Fatalf("on disk: %v %v", blobs, tmp)
	}
}

func fileMsg(to, command, id, data string) map[string]any {
	return map[string]any{"recepient": to, "command": command, "type": "file", "file": id, "data": data}
}

// TestFileMessages: a message of type file names an upload of its
// sender's and is delivered, replayed and listed with the file; the
// file's name is the text when there is no caption; others' files,
// unknown ones and a file on a text message are refused.
func TestFileMessages(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, ra := ts.login("alice")
	bob, rb := ts.login("bob")
	mustRoom(t, "r", alice, bob)
	f := ts.mustUpload(ra.Token, "holiday.png", "image/png", pngBytes(t, 4, 3))
	bobs := ts.mustUpload(rb.Token, "bob.txt", "text/plain", []byte("bob's"))

	r := send(t, alice, fileMsg("bob", "chat", f.ID, ""))
	got := bob.message()
	if got.Seq.String() != r.Seq || got.Type != "file" || got.Data != "holiday.png" || got.File == nil || *got.File != f {
		t.Fatalf("delivered %+v (file %+v), want file %+v", got, got.File, f)
	}
	send(t, alice, fileMsg("r", "groupchat", f.ID, "our trip"))
	for _, c := range []*tc{alice, bob} {
		if m := c.message(); m.Data != "our trip" || *m.File != f {
			t.Fatalf("%s: room message %+v", c.name, m)
		}
	}
	h := bob.req(shared.EventHistory, map[string]any{"target": "alice", "command": "chat"})
	if len(h.Messages) != 1 || *h.Messages[0].File != f {
		t.Fatalf("history %+v", h.Messages)
	}
	bob.close()
	b2 := ts.dial("bob2", map[string]any{"token": rb.Token, "offset": "0"})
	for range 2 {
		if m := b2.message(); m.File == nil || *m.File != f {
			t.Fatalf("replayed %+v", m)
		}
	}

	for _, tt := range []struct {
		what string
		req  map[string]any
		code string
	}{
		{"someone else's file", fileMsg("bob", "chat", bobs.ID, ""), "404"},
		{"unknown file", fileMsg("bob", "chat", "AAAAAAAAAAAAAAAAAAAAAAAA", "x"), "404"},
		{"no file", fileMsg("bob", "chat", "", "x"), "400"},
		{"not a file id", fileMsg("bob", "chat", "../x", "x"), "400"},
		{"file on a text message", map[string]any{"recepient": "bob", "command": "chat", "type": "text", "file": f.ID, "data": "x"}, "400"},
		{"unknown type", map[string]any{"recepient": "bob", "command": "chat", "type": "image", "data": "x"}, "400"},
		{"caption too long", fileMsg("bob", "chat", f.ID, strings.Repeat("x", 4001)), "413"},
		{"to nobody", fileMsg("nobody", "chat", f.ID, ""), "404"},
	} {
		if r := alice.req(shared.EventMessage, tt.req); r.Code != tt.code {
			t.Errorf("%s: %+v, want %s", tt.what, r, tt.code)
		}
	}
}

// TestDeleteErasesFile: deleting the last message that has a file
// erases it (the URL answers 404 and its bytes leave the disk); while
// another message has it, it stays.
func TestDeleteErasesFile(t *testing.T) {
	ts := newTestServer(t, Config{MsgRate: -1})
	alice, ra := ts.login("alice")
	ts.login("bob")
	f := ts.mustUpload(ra.Token, "doc.pdf", "application/pdf", []byte("%PDF the document"))
	m1 := send(t, alice, fileMsg("bob", "chat", f.ID, ""))
	m2 := send(t, alice, fileMsg("ALL", "chat", f.ID, "for everyone"))
	send(t, alice, changeReq("delete", m1.Seq, ""))
	ts.wantGet(f.URL, 200, "one message left")
	send(t, alice, changeReq("delete", m2.Seq, ""))
	ts.wantGet(f.URL, 404, "after the last delete")
	if blobs, _ := ts.onDisk(); len(blobs) != 0 {
		t.Fatalf("blobs left: %v", blobs)
	}
	if r := alice.req(shared.EventMessage, fileMsg("bob", "chat", f.ID, "")); r.Code != "404" {
		t.Fatalf("sending an erased file: %+v", r)
	}
	if got := ts.metric("chatapp_file_bytes"); got != "0" {
		t.Fatalf("chatapp_file_bytes %s", got)
	}
}

// TestUnsentFilesSwept: a file no message refers to is erased once it is
// older than 24 hours; a sent one stays. The sweep's clock is its
// argument.
func TestUnsentFilesSwept(t *testing.T) {
	ts := newTestServer(t, Config{})
	alice, ra := ts.login("alice")
	ts.login("bob")
	sent := ts.mustUpload(ra.Token, "sent.txt", "", []byte("sent"))
	unsent := ts.mustUpload(ra.Token, "unsent.txt", "", []byte("never sent"))
	send(t, alice, fileMsg("bob", "chat", sent.ID, ""))
	ts.srv.sweepUnsentFiles(t.Context(), time.Now().Add(23*time.Hour))
	ts.wantGet(sent.URL, 200, "sent, after 23 hours")
	ts.wantGet(unsent.URL, 200, "unsent, after 23 hours")
	ts.srv.sweepUnsentFiles(t.Context(), time.Now().Add(25*time.Hour))
	ts.wantGet(unsent.URL, 404, "unsent, after 25 hours")
	ts.wantGet(sent.URL, 200, "sent, after 25 hours")
	if blobs, _ := ts.onDisk(); len(blobs) != 1 {
		t.Fatalf("blobs %v", blobs)
	}
	if r := alice.req(shared.EventMessage, fileMsg("bob", "chat", unsent.ID, "")); r.Code != "404" {
		t.Fatalf("sending a swept file: %+v", r)
	}
}
