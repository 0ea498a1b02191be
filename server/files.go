package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"chatapp/server/store"
	"chatapp/shared"
)

// Files (PROTOCOL.md section 9): POST /files receives an upload, GET
// /files/<id>/<name> serves it. The bytes and their rows are the store's
// (store/files.go); this file speaks HTTP and decides what a file is.

const (
	defaultMaxFile   = 25 << 20 // bytes (--max-file)
	defaultFileQuota = 1 << 30  // bytes per user (--file-quota)
	// uploadIdle cuts off an upload that sends nothing for this long, so
	// that a stalled client cannot hold a temporary file and a goroutine
	// for ever (the HTTP server has no read timeout: uploads take as long
	// as they take).
	uploadIdle = time.Minute
	// unsentFileTTL is how long a file no message refers to is kept after
	// its upload.
	unsentFileTTL = 24 * time.Hour
	// fileCSP is the policy of every served file: nothing loads, nothing
	// runs, even if a browser were to render it as a page.
	fileCSP = "default-src 'none'; sandbox"
	// fileCache: a file's bytes never change for its id. private: the
	// URL is a capability, and an erased file must not outlive its
	// erasure in a shared cache.
	fileCache = "private, max-age=31536000, immutable"
)

// Results of uploads, the label of chatapp_uploads_total.
const (
	uploadStored = iota
	uploadUnauthorized
	uploadBadRequest
	uploadTooLarge
	uploadOverQuota
	uploadAborted
	uploadFailed
)

var uploadResults = [...]string{"stored", "unauthorized", "bad_request", "too_large", "over_quota", "aborted", "failed"}

// httpError is a refused HTTP request: its status, and the JSON body
// {"code", "message"} with the protocol's code for it (section 3).
type httpError struct {
	status int
	msg    string
	result int // uploadResults index, for uploads
}

func (e *httpError) Error() string { return e.msg }

func refuseHTTP(status, result int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...), result: result}
}

// writeError answers a refused request with its JSON error.
func writeError(w http.ResponseWriter, e *httpError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="chatapp"`)
	}
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{fmt.Sprint(e.status), e.msg})
}

// uploadFile is POST /files.
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) {
	info, e := s.receive(w, r)
	if e != nil {
		s.metrics.uploads[e.result].Add(1)
		writeError(w, e)
		return
	}
	s.metrics.uploads[uploadStored].Add(1)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Location", info.URL)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(info)
}

// receive checks an upload's session, name and type, streams its body to
// a temporary file within the limits, finds out whether it is an image,
// and has the store keep it. Whatever it refuses leaves nothing behind.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) (shared.FileInfo, *httpError) {
	ctx := r.Context()
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return shared.FileInfo{}, refuseHTTP(http.StatusUnauthorized, uploadUnauthorized, "log in first: Authorization: Bearer <token> is required")
	}
	th := tokenHash(token)
	u, err := s.store.TokenUser(ctx, th, now())
	if errors.Is(err, store.ErrNotFound) {
		return shared.FileInfo{}, refuseHTTP(http.StatusUnauthorized, uploadUnauthorized, "invalid session: log in again")
	}
	if err != nil {
		return shared.FileInfo{}, s.uploadFailed("upload: token lookup", err)
	}
	name, bad := decodeFileName(r.Header.Get("X-Filename"))
	if bad != nil {
		return shared.FileInfo{}, refuseHTTP(http.StatusBadRequest, uploadBadRequest, "%s", bad.Message)
	}
	typ, bad := declaredType(r.Header.Get("Content-Type"))
	if bad != nil {
		return shared.FileInfo{}, refuseHTTP(http.StatusBadRequest, uploadBadRequest, "%s", bad.Message)
	}
	key := shared.Fold(u.ID)
	used, err := s.store.FileUsage(ctx, key)
	if err != nil {
		return shared.FileInfo{}, s.uploadFailed("upload: file usage", err)
	}
	room := s.cfg.FileQuota - used
	switch n := r.ContentLength; {
	case n == 0:
		return shared.FileInfo{}, refuseHTTP(http.StatusBadRequest, uploadBadRequest, "empty body: the file is the request body")
	case n > s.cfg.MaxFile:
		return shared.FileInfo{}, tooLarge(s.cfg.MaxFile)
	case n > 0 && max(n, store.MinFileCharge) > room:
		return shared.FileInfo{}, overQuota(s.cfg.FileQuota, used)
	}

	up, err := s.store.StartUpload()
	if err != nil {
		return shared.FileInfo{}, s.uploadFailed("upload: start", err)
	}
	defer up.Discard()
	// The bytes stay reserved until the file is stored or refused.
	var reserved int64
	defer func() { s.inflight.release(key, reserved) }()
	if e := s.readBody(w, r, up, key, room, used, &reserved); e != nil {
		return shared.FileInfo{}, e
	}
	img, err := inspectImage(up.Reader())
	var big *imageTooLarge
	switch {
	case errors.As(err, &big):
		return shared.FileInfo{}, refuseHTTP(http.StatusRequestEntityTooLarge, uploadTooLarge,
			"the image is %d×%d pixels; at most %d million are accepted", big.width, big.height, maxImagePixels/1_000_000)
	case err != nil:
		return shared.FileInfo{}, s.uploadFailed("upload: read back", err)
	case img.typ != "":
		typ = img.typ // the bytes say what it is, whatever the client said
	case inlineTypes[typ]:
		typ = "application/octet-stream" // it said image; its bytes say otherwise
	}
	f, err := s.store.AddFile(ctx, up, store.NewFile{Owner: key, TokenHash: th, Name: name, Type: typ,
		Width: img.width, Height: img.height, Quota: s.cfg.FileQuota, Now: now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return shared.FileInfo{}, refuseHTTP(http.StatusUnauthorized, uploadUnauthorized, "invalid session: logged out during the upload")
	case errors.Is(err, store.ErrLimit):
		used, _ := s.store.FileUsage(ctx, key)
		return shared.FileInfo{}, overQuota(s.cfg.FileQuota, used)
	case err != nil:
		return shared.FileInfo{}, s.uploadFailed("upload: store", err)
	}
	s.log.Debug("file stored", "user", u.ID, "file_id", f.ID, "size", f.Size)
	return f.Info(), nil
}

// readBody copies the request body into up. It cuts the client off after
// uploadIdle without a byte, refuses a body past the file limit or the
// user's room in the quota, and refuses an empty one. The bytes it reads
// are added to *reserved, the user's bytes in flight (inflight), so that
// concurrent uploads cannot together pass the quota; the caller releases
// them.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, up *store.Upload, user string, room, used int64, reserved *int64) *httpError {
	rc := http.NewResponseController(w)
	defer rc.SetReadDeadline(time.Time{})
	buf := make([]byte, 64<<10)
	for {
		rc.SetReadDeadline(time.Now().Add(uploadIdle))
		n, err := r.Body.Read(buf)
		if n > 0 {
			if up.Size()+int64(n) > s.cfg.MaxFile {
				return tooLarge(s.cfg.MaxFile)
			}
			if !s.inflight.reserve(user, int64(n), room) {
				return overQuota(s.cfg.FileQuota, used)
			}
			*reserved += int64(n)
			if _, err := up.Write(buf[:n]); err != nil {
				return s.uploadFailed("upload: write", err)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.log.Debug("upload cut off", "err", err)
			return refuseHTTP(http.StatusBadRequest, uploadAborted, "the upload was cut off")
		}
	}
	if up.Size() == 0 {
		return refuseHTTP(http.StatusBadRequest, uploadBadRequest, "empty body: the file is the request body")
	}
	return nil
}

func tooLarge(limit int64) *httpError {
	return refuseHTTP(http.StatusRequestEntityTooLarge, uploadTooLarge, "the file is larger than %s", byteSize(limit))
}

func overQuota(quota, used int64) *httpError {
	return refuseHTTP(http.StatusRequestEntityTooLarge, uploadOverQuota,
		"over your quota: your files take %s of %s (each counts at least %s); delete some messages with files",
		byteSize(used), byteSize(quota), byteSize(store.MinFileCharge))
}

// uploadFailed logs a server failure of an upload and answers 500.
func (s *Server) uploadFailed(what string, err error) *httpError {
	s.log.Error(what, "err", err)
	return refuseHTTP(http.StatusInternalServerError, uploadFailed, "server error; try again")
}

// byteSize writes n bytes for people: 25 MiB, 1 GiB, 4 KiB, 1000 bytes.
func byteSize(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%(u.size/10) == 0 {
			return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/float64(u.size)), ".0") + " " + u.unit
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// decodeFileName decodes and checks the X-Filename header: percent-encoded
// UTF-8 (encodeURIComponent's output; "+" is a plus), a file name of
// 1–255 characters without "/", "\", control or format characters, and
// not "." or "..". The name is only ever shown and sent back in headers
// and URLs, never used as a path: the bytes are stored under their hash.
func decodeFileName(h string) (string, *shared.Error) {
	if h == "" {
		return "", shared.BadRequest("X-Filename", "required: the file's name, percent-encoded")
	}
	name, err := url.PathUnescape(h)
	if err != nil {
		return "", shared.BadRequest("X-Filename", "bad percent-encoding")
	}
	if err := shared.ValidFileName("X-Filename", name); err != nil {
		return "", err
	}
	return name, nil
}

// declaredType is the media type of a Content-Type header, lower case
// without parameters; application/octet-stream when there is none.
func declaredType(h string) (string, *shared.Error) {
	if strings.TrimSpace(h) == "" {
		return "application/octet-stream", nil
	}
	t, _, err := mime.ParseMediaType(h)
	if err != nil || len(t) > 255 || strings.Count(t, "/") != 1 || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") {
		return "", shared.BadRequest("Content-Type", "not a media type")
	}
	return t, nil
}

// inflight counts, per user (folded id), the bytes of uploads being
// received, so that concurrent uploads cannot together pass the user's
// quota before any of them is stored (the store checks the stored ones).
type inflight struct {
	mu    sync.Mutex
	bytes map[string]int64
}

// reserve adds n to user's bytes in flight unless that makes them pass
// room.
func (f *inflight) reserve(user string, n, room int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes[user]+n > room {
		return false
	}
	if f.bytes == nil {
		f.bytes = map[string]int64{}
	}
	f.bytes[user] += n
	return true
}

func (f *inflight) release(user string, n int64) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes[user] -= n; f.bytes[user] <= 0 {
		delete(f.bytes, user)
	}
}

// serveFile is GET /files/<id>/<name>: the file to anyone who has the
// URL, as a download unless it is an image whose bytes are PNG, JPEG,
// GIF or WebP; ranges and conditional requests by http.ServeContent.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	notFound := refuseHTTP(http.StatusNotFound, 0, "no such file")
	if shared.ValidFileID("id", id) != nil {
		writeError(w, notFound)
		return
	}
	f, err := s.store.File(r.Context(), id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("file: lookup", "err", err)
			writeError(w, refuseHTTP(http.StatusInternalServerError, 0, "server error; try again"))
			return
		}
		writeError(w, notFound)
		return
	}
	blob, err := s.store.OpenFile(f)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) { // erased meanwhile, or lost with a backup
			s.log.Warn("file: bytes missing", "file_id", f.ID)
		} else {
			s.log.Error("file: open", "file_id", f.ID, "err", err)
		}
		writeError(w, notFound)
		return
	}
	defer blob.Close()
	disposition := "attachment"
	if inlineTypes[f.Type] && f.Width > 0 {
		disposition = "inline"
	}
	if d := mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}); d != "" {
		disposition = d
	}
	h := w.Header()
	h.Set("Content-Type", f.Type)
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", fileCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", fileCache)
	h.Set("ETag", `"`+f.Hash+`"`)
	http.ServeContent(w, r, "", f.Created, blob)
}

// messageFile checks the file a message of type file names (section 9):
// an upload of the sender's (404 otherwise, as for one that does not
// exist), and gives a message without a caption the file's name as its
// data, cut to the text limit. A refusal comes as res.
func (s *Server) messageFile(c *client, req *shared.SendMessage) (info *shared.FileInfo, res *shared.Response) {
	if err := shared.ValidFileID("file", req.File); err != nil {
		r := refuse(err)
		return nil, &r
	}
	f, err := s.store.File(c.sock.Context(), req.File)
	if errors.Is(err, store.ErrNotFound) || err == nil && f.Owner != c.userKey {
		r := refuse(shared.Errorf(shared.CodeNotFound, "no such file %s of yours", req.File))
		return nil, &r
	}
	if err != nil {
		r := c.internal("message: load file", err)
		return nil, &r
	}
	if req.Data == "" {
		req.Data = truncateRunes(f.Name, s.cfg.MaxText)
	}
	fi := f.Info()
	return &fi, nil
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// sweepFiles removes, once at start, what a crash left in the files
// folder, then every hour erases the files no message refers to that are
// older than unsentFileTTL, until ctx is done.
func (s *Server) sweepFiles(ctx context.Context) {
	if _, err := s.store.SweepDisk(ctx, time.Now().Add(-time.Hour)); err != nil && ctx.Err() == nil {
		s.log.Warn("sweep files folder", "err", err)
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		s.sweepUnsentFiles(ctx, now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepUnsentFiles erases the files no message refers to that were
// uploaded more than unsentFileTTL before at.
func (s *Server) sweepUnsentFiles(ctx context.Context, at time.Time) {
	n, err := s.store.SweepFiles(ctx, at.Add(-unsentFileTTL))
	if err != nil && ctx.Err() == nil {
		s.log.Warn("sweep unsent files", "err", err)
	} else if n > 0 {
		s.log.Info("erased files never sent", "count", n)
	}
}
