package sio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server. Every field has a usable zero value.
type Config struct {
	// PingInterval is how often the server sends the Engine.IO ping `2`.
	// Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong `3` before it
	// closes the session. Zero means 20s.
	PingTimeout time.Duration
	// MaxPayload is the largest WebSocket message accepted, in bytes, and
	// the maxPayload of the open packet. Zero means 65536.
	MaxPayload int
	// ConnectTimeout closes a session that has not connected to any
	// namespace this long after it opened. Zero means 45s.
	ConnectTimeout time.Duration
	// SendBuffer is the most bytes queued to one socket (replays aside)
	// before it is closed as a slow consumer; a frame that finds nothing
	// queued is accepted whatever its size. Zero means 4 MiB.
	SendBuffer int
	// WriteTimeout bounds each WebSocket write, and how long frames may
	// wait for a polling GET once the poll buffer is full; it is checked
	// every WriteTimeout/4. Zero means 10s.
	WriteTimeout time.Duration
	// UpgradeTimeout is how long a WebSocket opened to upgrade a polling
	// session may take to send `5`; then it is closed and the session goes
	// on polling. Zero means 10s.
	UpgradeTimeout time.Duration
	// AllowedOrigins lists the page origins allowed besides the server's
	// own, each "scheme://host[:port]" (see ParseOrigin), or "*" for any
	// origin, or "null" for the opaque origin of pages opened from disk
	// (and of sandboxed frames, on any site). Requests without Origin
	// (non-browser clients) and same-origin requests (the Origin's scheme,
	// host and port are the request's own: its TLS and Host header) are
	// always allowed; any other Origin gets HTTP 403. Polling responses to
	// an allowed Origin carry CORS headers that echo it and allow
	// credentials (never "*", which browsers refuse with credentials);
	// preflight OPTIONS requests get 204. Invalid entries are logged and
	// ignored: validate them with ParseOrigin first.
	AllowedOrigins []string
	// Namespaces lists the namespaces that exist. Nil means just "/". A
	// CONNECT to any other gets CONNECT_ERROR {"message":"Invalid namespace"}.
	Namespaces []string
	// AllowBinary accepts BINARY_EVENT and BINARY_ACK packets; their
	// attachments reach the Handler in Event.Attachments. False (the chat,
	// PROTOCOL.md §1) closes a connection that sends one.
	AllowBinary bool
	// MaxSessionsPerAddr caps the sessions open at once from one remote
	// address; a handshake past it gets HTTP 429. Zero means no limit.
	MaxSessionsPerAddr int
	// Logger receives the server's logs. Nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 65536
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 4 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.Namespaces == nil {
		c.Namespaces = []string{"/"}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats are counters of a Server.
type Stats struct {
	Connections       int64 // sessions open now
	Accepted          int64 // sessions opened since start
	Rejected          int64 // requests refused with an HTTP error
	SlowConsumerKicks int64 // sessions closed because SendBuffer overflowed
	WriteTimeouts     int64 // sessions closed because a write took longer than WriteTimeout
	PingTimeouts      int64 // sessions closed because no pong came within PingTimeout
	ConnectTimeouts   int64 // sessions closed because no CONNECT came within ConnectTimeout
	ProtocolErrors    int64 // sessions closed for invalid client input
	Polling           int64 // sessions opened by a polling handshake since start
	Upgrades          int64 // polling sessions upgraded to WebSocket since start
}

// Server serves Engine.IO sessions over WebSocket and HTTP long-polling.
// Mount it at /socket.io/ (with the trailing slash). Its methods are safe
// for concurrent use. A session lives in the memory of the process that
// opened it: behind a load balancer, polling requests need sticky sessions.
type Server struct {
	cfg     Config
	eh      engineHandler
	log     *slog.Logger
	origins map[string]bool // normalized AllowedOrigins
	// anyOrigin and nullOrigin are the "*" and "null" opt-ins of
	// AllowedOrigins.
	anyOrigin, nullOrigin bool
	nsps                  map[string]bool

	mu       sync.Mutex
	sessions map[string]*Socket // by Engine.IO sid; guarded by mu
	tombs    map[string]*Socket // polling sessions closed less than tombTTL ago; guarded by mu
	perAddr  map[string]int     // open sessions by remote address; guarded by mu
	closing  bool               // Shutdown called; guarded by mu
	wg       sync.WaitGroup     // one per session goroutine pair

	sweepTimer *time.Timer // sweepWrites

	connections, accepted, rejected        atomic.Int64
	slowKicks, writeTimeouts, pingTimeouts atomic.Int64
	connectTimeouts, protocolErrors        atomic.Int64
	polling, upgrades                      atomic.Int64
}

// NewServer returns a Server that runs the Socket.IO protocol and calls h.
func NewServer(cfg Config, h Handler) *Server {
	srv := newServer(cfg, nil)
	srv.eh = &sioLayer{srv: srv, h: h}
	return srv
}

// newServer returns a Server with the Engine.IO layer eh on top.
func newServer(cfg Config, eh engineHandler) *Server {
	cfg = cfg.withDefaults()
	srv := &Server{
		cfg:      cfg,
		eh:       eh,
		log:      cfg.Logger,
		origins:  make(map[string]bool),
		nsps:     make(map[string]bool),
		sessions: make(map[string]*Socket),
		tombs:    make(map[string]*Socket),
		perAddr:  make(map[string]int),
	}
	for _, o := range cfg.AllowedOrigins {
		switch o = strings.TrimSpace(o); o {
		case "*":
			srv.anyOrigin = true
			srv.log.Warn("sio: allowed origins include *: web pages on any site may connect from their visitors' browsers")
		case "null":
			srv.nullOrigin = true
			srv.log.Warn("sio: allowed origins include null: pages opened from disk, and sandboxed frames on any site, may connect")
		default:
			norm, err := ParseOrigin(o)
			if err != nil {
				srv.log.Warn("sio: ignoring invalid allowed origin", "origin", o, "err", err)
				continue
			}
			srv.origins[norm] = true
		}
	}
	for _, n := range cfg.Namespaces {
		srv.nsps[n] = true
	}
	// Armed only once assigned: sweepWrites reads sweepTimer, and a timer
	// made already running could fire before the assignment (a data race
	// that make test's -race caught under load).
	srv.sweepTimer = time.AfterFunc(time.Duration(math.MaxInt64), srv.sweepWrites)
	srv.sweepTimer.Reset(srv.sweepEvery())
	return srv
}

func (srv *Server) sweepEvery() time.Duration { return srv.cfg.WriteTimeout / 4 }

// sweepWrites closes the sessions whose write has taken longer than
// WriteTimeout, so a write times out within 1¼ WriteTimeout. One timer
// for the server, rather than a timer operation per session and batch.
func (srv *Server) sweepWrites() {
	now := time.Now()
	var late []*Socket
	srv.mu.Lock()
	for _, s := range srv.sessions {
		if d := s.writeDeadline.Load(); d != 0 && now.Sub(s.start) > time.Duration(d) {
			late = append(late, s)
		}
	}
	over := srv.closing && len(srv.sessions) == 0 // after Shutdown
	srv.mu.Unlock()
	for _, s := range late {
		s.writeTimedOut(now)
	}
	if !over {
		srv.sweepTimer.Reset(srv.sweepEvery())
	}
}

// Stats returns a snapshot of the counters.
func (srv *Server) Stats() Stats {
	return Stats{
		Connections:       srv.connections.Load(),
		Accepted:          srv.accepted.Load(),
		Rejected:          srv.rejected.Load(),
		SlowConsumerKicks: srv.slowKicks.Load(),
		WriteTimeouts:     srv.writeTimeouts.Load(),
		PingTimeouts:      srv.pingTimeouts.Load(),
		ConnectTimeouts:   srv.connectTimeouts.Load(),
		ProtocolErrors:    srv.protocolErrors.Load(),
		Polling:           srv.polling.Load(),
		Upgrades:          srv.upgrades.Load(),
	}
}

// httpError is an Engine.IO bad-request answer (SOCKETIO.md §2.8).
type httpError struct {
	status int
	body   string
}

var (
	errTransportUnknown   = httpError{http.StatusBadRequest, `{"code":0,"message":"Transport unknown"}`}
	errUnknownSID         = httpError{http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`}
	errBadHandshakeMethod = httpError{http.StatusBadRequest, `{"code":2,"message":"Bad handshake method"}`}
	errBadRequest         = httpError{http.StatusBadRequest, `{"code":3,"message":"Bad request"}`}
	errForbidden          = httpError{http.StatusForbidden, `{"code":4,"message":"Forbidden"}`}
	errBadVersion         = httpError{http.StatusBadRequest, `{"code":5,"message":"Unsupported protocol version"}`}
	errShuttingDown       = httpError{http.StatusServiceUnavailable, `{"code":3,"message":"Server shutting down"}`}
	errTooManySessions    = httpError{http.StatusTooManyRequests, `{"code":4,"message":"Too many connections from this address"}`}
)

func (srv *Server) reject(w http.ResponseWriter, e httpError) {
	srv.rejected.Add(1)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(e.body))
}

// ServeHTTP validates the Engine.IO query (SOCKETIO.md §2.8, in Node's
// order) and the Origin, then serves the request: a polling handshake,
// GET or POST, a WebSocket (for a new session, or the upgrade of a polling
// one, run on the request's goroutine until it ends), or a CORS preflight.
// Bad requests get a JSON 400 ({"code":N,"message":…}), a foreign Origin a
// 403 with code 4, and a new session after Shutdown a 503.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		srv.preflight(w, r)
		return
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	if transport != "websocket" && transport != "polling" {
		srv.reject(w, errTransportUnknown)
		return
	}
	if transport == "polling" && !srv.cors(w, r) {
		srv.reject(w, errForbidden)
		return
	}
	if sid := q.Get("sid"); sid != "" {
		s, live := srv.lookup(sid)
		switch {
		case s == nil:
			srv.reject(w, errUnknownSID)
		case q.Get("EIO") != "4":
			srv.reject(w, errBadRequest) // protocol mismatch
		case transport == "polling":
			srv.servePolling(w, r, s)
		case !live || s.ctx.Err() != nil: // closed, or ending
			srv.reject(w, errUnknownSID)
		case !isUpgrade(r):
			srv.reject(w, errBadRequest)
		case !srv.originAllowed(r):
			srv.reject(w, errForbidden)
		default:
			srv.serveWebSocketSID(w, r, s)
		}
		return
	}
	if r.Method != http.MethodGet {
		srv.reject(w, errBadHandshakeMethod)
		return
	}
	if transport == "websocket" && !isUpgrade(r) {
		srv.reject(w, errBadRequest)
		return
	}
	if !srv.originAllowed(r) {
		srv.reject(w, errForbidden)
		return
	}
	if q.Get("EIO") != "4" {
		srv.reject(w, errBadVersion)
		return
	}
	srv.mu.Lock()
	closing := srv.closing
	full := srv.cfg.MaxSessionsPerAddr > 0 && srv.perAddr[remoteHost(r)] >= srv.cfg.MaxSessionsPerAddr
	srv.mu.Unlock()
	if closing {
		srv.reject(w, errShuttingDown)
		return
	}
	if full {
		srv.reject(w, errTooManySessions)
		return
	}
	if transport == "polling" {
		srv.handshakePolling(w, r)
		return
	}

	c, err := acceptWS(w, r, srv.cfg.MaxPayload)
	if err != nil { // acceptWS has answered the request
		srv.rejected.Add(1)
		srv.log.Debug("sio: websocket accept", "remote", remoteHost(r), "err", err)
		return
	}
	s := newSocket(srv, wsTransport{c}, r)
	if !srv.register(s) {
		c.reject(statusGoingAway, "")
		return
	}
	go s.run(c) // the handler returns: net/http frees its buffers for the connection
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// lookup finds the session sid: live, or closed less than tombTTL ago.
func (srv *Server) lookup(sid string) (s *Socket, live bool) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if s := srv.sessions[sid]; s != nil {
		return s, true
	}
	return srv.tombs[sid], false
}

// register adds s to the session table, unless Shutdown has begun.
func (srv *Server) register(s *Socket) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	srv.sessions[s.eid] = s
	srv.perAddr[s.remote]++
	srv.wg.Add(1)
	srv.connections.Add(1)
	srv.accepted.Add(1)
	return true
}

// unregister removes s from the session table. A polling sid stays known
// for tombTTL: a GET that raced the client's close still gets its noop,
// and later requests get 400 code 1.
func (srv *Server) unregister(s *Socket) {
	srv.mu.Lock()
	delete(srv.sessions, s.eid)
	if srv.perAddr[s.remote]--; srv.perAddr[s.remote] <= 0 {
		delete(srv.perAddr, s.remote)
	}
	if s.poll != nil {
		srv.tombs[s.eid] = s
		time.AfterFunc(tombTTL, func() {
			srv.mu.Lock()
			delete(srv.tombs, s.eid)
			srv.mu.Unlock()
		})
	}
	srv.mu.Unlock()
	srv.connections.Add(-1)
}

// Shutdown stops accepting sessions and closes every session at the
// transport level: what is queued goes out, then a WebSocket is closed
// with StatusGoingAway and a polling client's next GET gets the close
// packet. No DISCONNECT (41) is sent, so stock clients reconnect by
// themselves (Socket.Disconnect is the kick that stops them).
// It returns when every session goroutine has ended, or when ctx is done;
// then the remaining connections are cut and ctx's error is returned.
// http.Server.Shutdown does not close hijacked connections: call this too
// (e.g. from http.Server.RegisterOnShutdown).
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing = true
	all := make([]*Socket, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		all = append(all, s)
	}
	srv.mu.Unlock()

	for _, s := range all {
		s.shutdown()
	}
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range all {
			s.tr.closeNow()
		}
		return ctx.Err()
	}
}

// cors applies the Origin policy to a polling request and reports whether
// it may go on. An allowed cross-origin request gets the CORS headers: the
// exact Origin (never "*", which browsers refuse with credentials, even
// when AllowedOrigins has "*") and Access-Control-Allow-Credentials.
func (srv *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !srv.originAllowed(r) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	return true
}

// preflight answers a CORS preflight (OPTIONS) with 204: a page that sets
// extraHeaders triggers one before each polling request.
func (srv *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if !srv.cors(w, r) {
		srv.reject(w, errForbidden)
		return
	}
	h := w.Header()
	if r.Header.Get("Origin") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "86400")
	}
	w.WriteHeader(http.StatusNoContent)
}

// originAllowed applies the Origin policy of Config.AllowedOrigins. The
// server's own origin is the request's scheme, Host and port: an Origin
// that names the same host under another scheme is another site.
func (srv *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "" || srv.anyOrigin:
		return true
	case origin == "null":
		return srv.nullOrigin
	}
	norm, err := ParseOrigin(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return norm == normOrigin(scheme, r.Host) || srv.origins[norm]
}

// ParseOrigin checks that s is a web origin, "scheme://host[:port]" with
// nothing after it but an optional "/", and returns it normalized: scheme
// and host in lower case, without the scheme's default port.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", err
	case u.Scheme == "" || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("%q is not scheme://host[:port]", s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q has more than scheme://host[:port]", s)
	}
	return normOrigin(u.Scheme, u.Host), nil
}

func normOrigin(scheme, host string) string {
	return strings.ToLower(scheme) + "://" + strings.ToLower(stripDefaultPort(scheme, host))
}

// stripDefaultPort removes the scheme's default port from host.
func stripDefaultPort(scheme, host string) string {
	switch strings.ToLower(scheme) {
	case "http", "ws":
		return strings.TrimSuffix(host, ":80")
	case "https", "wss":
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// headerHasToken reports whether a comma-separated header has token
// (case-insensitive), as in "Connection: keep-alive, Upgrade".
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// remoteHost is the host of r.RemoteAddr, without the port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newID returns a random 20-character URL-safe id (120 bits).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
