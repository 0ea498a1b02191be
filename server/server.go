package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"chatapp/server/sio"
	"chatapp/server/store"
	"chatapp/shared"
)

// Config holds the server's settings. Zero values mean the defaults of
// PROTOCOL.md section 7.
type Config struct {
	// SignupClosed refuses logins for unknown ids (401) instead of
	// creating the account.
	SignupClosed bool
	// MaxPayload is the Engine.IO maxPayload, in bytes. Zero means 65536.
	MaxPayload int
	// MaxText is the longest message data, in code points. Zero means 4000.
	MaxText int
	// MsgRate is the requests a second allowed per socket; negative turns
	// the limit off. Zero means 20.
	MsgRate float64
	// MsgBurst is the burst allowed above MsgRate. Zero means 40.
	MsgBurst int
	// HashCost is the bcrypt work factor for new password hashes. Zero
	// means 10.
	HashCost int
	// SendBuffer is the bytes queued to one socket before it is closed as
	// a slow consumer. Zero means 4 MiB.
	SendBuffer int
	// ReplayMax caps the messages replayed on recovery. Zero means 1000.
	ReplayMax int
	// MaxConnsPerIP caps the TCP connections open at once from one
	// address, counted at the listener of Serve: one past it is closed as
	// it is accepted, before it costs a goroutine or a TLS handshake.
	// Negative turns the limit off. Zero means 256.
	MaxConnsPerIP int
	// MaxFile is the largest upload, in bytes. Zero means 25 MiB.
	MaxFile int64
	// FileQuota is what one user's files may take together, in bytes
	// (each counts at least store.MinFileCharge). Zero means 1 GiB.
	FileQuota int64
	// MaxRoomsPerUser caps the rooms one user may own; every room change
	// pushes the whole list to everyone, so it bounds what one user can
	// make the server send. Zero means 100.
	MaxRoomsPerUser int
	// TokenTTL is how long a session token lives. Zero means 30 days.
	TokenTTL time.Duration
	// PingInterval and PingTimeout are the Engine.IO heartbeat. Zero
	// means 25 s and 20 s.
	PingInterval, PingTimeout time.Duration
	// AllowedOrigins are the Origins accepted besides the page's own
	// ("scheme://host[:port]", "*" for any, "null" for pages opened from
	// disk; see sio.Config): for WebSockets, and for polling with CORS and
	// credentials.
	AllowedOrigins []string
	// PublicURL, when set ("https://chat.example.com", see
	// ParsePublicURL), is the address the world uses for this server.
	// Requests for other host names than its own and loopback ones get 421,
	// which defeats DNS rebinding; its origin is allowed like the request's
	// own, which behind a TLS-terminating proxy is plain HTTP.
	PublicURL string
	// PublicDir, when set, is a folder served at /public/ (publicFiles).
	PublicDir string
	// TLS, if set, makes Serve speak HTTPS and WSS on its listener, above
	// the per-address count of MaxConnsPerIP.
	TLS *tls.Config
	// HeaderTimeout bounds the time to receive a request's headers, and
	// IdleTimeout how long a kept-alive connection may wait for its next
	// request: a client that sends nothing or half a request must not
	// hold a file descriptor for ever. Zero means 10 s and 60 s.
	HeaderTimeout, IdleTimeout time.Duration

	// The limits below are the issue 18 defenses that a test server with
	// many accounts from 127.0.0.1 would trip over, so zero turns them
	// off; chatapp serve's flags give their defaults (README).

	// SignupPerIP is the most accounts one address may create per 10
	// minutes (429 past it).
	SignupPerIP int
	// SignupRate is the most accounts created per minute by everyone
	// together (burst: the same number; 429 past it).
	SignupRate float64
	// LoginsPerIP is the most logins per minute from one address (burst:
	// the same number), by password (429 past it) or by token, which has
	// no password check to slow it (the transport is closed and the
	// client retries later).
	LoginsPerIP int
	// LoginTimeout closes a socket that stays anonymous this long after
	// it connected or logged out, with DISCONNECT (41).
	LoginTimeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxPayload, 65536)
	def(&c.MaxText, shared.DefaultMaxText)
	def(&c.MsgBurst, 40)
	def(&c.HashCost, 10)
	def(&c.SendBuffer, 4<<20)
	def(&c.ReplayMax, 1000)
	def(&c.MaxRoomsPerUser, 100)
	def(&c.MaxConnsPerIP, 256)
	if c.MsgRate == 0 {
		c.MsgRate = 20
	}
	if c.MaxFile <= 0 {
		c.MaxFile = defaultMaxFile
	}
	if c.FileQuota <= 0 {
		c.FileQuota = defaultFileQuota
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 30 * 24 * time.Hour
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
}

// Deps are what main hands the server.
type Deps struct {
	Store  *store.Store
	Logger *slog.Logger // nil discards
	// UI serves every path that is not the protocol (the go-app handler).
	// Nil answers 404.
	UI http.Handler
}

// Server is the chat server. Create it with New.
type Server struct {
	cfg      Config
	store    *store.Store
	log      *slog.Logger
	hub      *hub
	metrics  metrics
	sio      *sio.Server
	mux      *http.ServeMux
	handler  http.Handler // mux, behind the Host check of PublicURL
	throttle *throttle

	// signupsPerAddr, signups and loginsPerAddr are the limits of
	// Config.SignupPerIP, SignupRate and LoginsPerIP (nil: off).
	signupsPerAddr, loginsPerAddr *addrLimiter
	signups                       *rate.Limiter
	// dummyHash is checked for unknown ids with sign-up closed, so that
	// they cost what a wrong password costs.
	dummyHash []byte
	// rev applies the revocation log; see revoke.go.
	rev revoker

	clientsMu sync.RWMutex
	clients   map[*sio.Socket]*client

	// roomMu serializes room changes across their store write, hub update
	// and list broadcast, so lists go out in the order changes were made.
	// It is never held by the fan-out path.
	roomMu sync.Mutex

	rooms roomPusher

	// fanMu orders fan-out against session recovery: Fanout holds it for
	// each batch, enter while it joins a socket and queues its replay.
	fanMu sync.Mutex
	// trim returns the memory of a burst of logins once it is over.
	trim *trimmer

	// typingGate throttles typing events (PROTOCOL.md 4.8).
	typingGate typingGate

	// inflight counts the bytes of uploads in progress (files.go).
	inflight inflight
}

// A burst of logins is over when none has come for trimQuiet; then the
// heap beyond the live heap goes back to the OS if it exceeds trimMin.
const (
	trimQuiet = 2 * time.Second
	trimMin   = 8 << 20
)

// New builds a Server on an open store and loads accounts and rooms into
// the hub. The store's Options.OnCommitFrom must call s.FanoutFrom, as main
// wires it.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	var public string
	if cfg.PublicURL != "" {
		var err error
		if public, err = ParsePublicURL(cfg.PublicURL); err != nil {
			return nil, fmt.Errorf("server: public URL: %w", err)
		}
	}
	var files *publicFiles
	if cfg.PublicDir != "" {
		var err error
		if files, err = newPublicFiles(cfg.PublicDir); err != nil {
			return nil, fmt.Errorf("server: public folder: %w", err)
		}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:            cfg,
		store:          deps.Store,
		log:            log,
		hub:            newHub(),
		throttle:       newThrottle(),
		signupsPerAddr: newAddrLimiter(cfg.SignupPerIP, 10*time.Minute),
		signups:        newRateLimiter(cfg.SignupRate, time.Minute),
		loginsPerAddr:  newAddrLimiter(cfg.LoginsPerIP, time.Minute),
		clients:        map[*sio.Socket]*client{},
	}
	s.mux = http.NewServeMux()
	s.handler = s.mux
	s.hub.wakeNews = func() { go s.sendNews() }
	s.trim = newTrimmer(trimQuiet, trimMin, log)
	if cfg.SignupClosed {
		h, err := HashPassword(newTokenString(), cfg.HashCost)
		if err != nil {
			return nil, fmt.Errorf("server: dummy hash: %w", err)
		}
		s.dummyHash = h
	}
	ctx := context.Background()
	// The log position first: a revocation logged while the state loads
	// is applied again after, which does no harm.
	last, err := s.store.LastRevocation(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: revocation log: %w", err)
	}
	s.rev.applied.Store(last)
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: load users: %w", err)
	}
	for _, u := range users {
		s.hub.addUser(profileOf(u))
	}
	rooms, err := s.store.Rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: load rooms: %w", err)
	}
	for _, r := range rooms {
		s.hub.setRoom(r.ID, r.Name, r.Owner, r.Members)
	}
	origins := cfg.AllowedOrigins
	if public != "" {
		origins = append(slices.Clip(origins), public)
		s.handler = newHostCheck(public).wrap(s.mux)
	}
	s.sio = sio.NewServer(sio.Config{
		PingInterval:       cfg.PingInterval,
		PingTimeout:        cfg.PingTimeout,
		MaxPayload:         cfg.MaxPayload,
		SendBuffer:         cfg.SendBuffer,
		AllowedOrigins:     origins,
		MaxSessionsPerAddr: 0, // TCP connections are counted at the listener (Serve)
		Logger:             log,
	}, s)
	go s.pollRevocations()
	s.mux.Handle("/socket.io/", s.sio)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.mux.HandleFunc("POST /files", s.uploadFile)
	s.mux.HandleFunc("GET /files/{id}/{name...}", s.serveFile)
	if deps.UI != nil {
		s.mux.Handle("/", securityHeaders(deps.UI))
	}
	if files != nil {
		s.mux.Handle("/public/", files)
	}
	return s, nil
}

// contentSecurityPolicy lets go-app's WebAssembly run ('wasm-unsafe-eval')
// and nothing but the page's own scripts. connect-src allows other hosts
// because the app can be pointed at another chatapp server.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; " +
	"connect-src 'self' ws: wss: http: https:; manifest-src 'self'; worker-src 'self'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders adds the headers every page and asset gets.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func profileOf(u store.User) shared.Profile {
	return shared.Profile{ID: u.ID, Alias: u.Alias, Today: u.Today}
}

// ServeHTTP serves the protocol at /socket.io/ and /files, /healthz,
// /metrics, the UI and /public/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Serve serves on ln until ctx is done, then shuts down gracefully: stop
// accepting, tell every socket the server is going away, wait for them
// (at most a few seconds). The caller closes the store afterwards, which
// flushes it.
//
// ln is the plain TCP listener: Serve counts connections per address on it
// (Config.MaxConnsPerIP) and adds TLS above (Config.TLS).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ln = s.limitListener(ln)
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go s.sweepTokens(ctx)
	go s.sweepFiles(ctx)
	defer s.trim.stop()
	s.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The transport first: new handshakes get 503, sockets are told the
	// server is going away, and a polling client between two polls can
	// still come back to collect that. Then http.Server stops accepting
	// and closes what it tracks (hijacked WebSockets it does not).
	err := s.sio.Shutdown(sctx)
	hs.SetKeepAlivesEnabled(false)
	if herr := hs.Shutdown(sctx); err == nil {
		err = herr
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// sweepTokens deletes expired session tokens, and revocations a day old,
// every hour until ctx is done. Expired tokens are refused anyway, and
// every server has read the revocations long ago: this only reclaims
// their rows.
func (s *Server) sweepTokens(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.store.DeleteExpiredTokens(ctx, now()); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep expired tokens", "err", err)
		} else if n > 0 {
			s.log.Debug("swept expired tokens", "count", n)
		}
		if _, err := s.store.DeleteRevocationsBefore(ctx, now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.Warn("prune revocations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Fanout delivers newly stored messages, in seq order, to every socket
// that should see them; see FanoutFrom.
func (s *Server) Fanout(msgs []shared.Message) { s.FanoutFrom(msgs, nil) }

// FanoutFrom delivers newly stored events, in seq order, to every socket
// that should see them. The store's committer calls it after each group
// commit (Options.OnCommitFrom); origins[i], if any, is the socket that sent
// msgs[i] (a *changeOrigin for a change to a direct message): a direct
// message, or a change to one, goes to the sender's other sockets only,
// since the sending one has its answer. A change reaches its message's
// audience (PROTOCOL.md 4.6): a room's members, everyone for ALL, or the
// two users of a direct conversation, whichever of them made it. Each
// frame is encoded once and the same bytes are queued on every target.
func (s *Server) FanoutFrom(msgs []shared.Message, origins []any) {
	s.fanMu.Lock()
	defer s.fanMu.Unlock()
	targets := getSockets()
	defer putSockets(targets)
	for i := range msgs {
		m := &msgs[i]
		frame, err := shared.EventFrame(shared.EventMessage, m)
		if err != nil {
			s.log.Error("encode message", "seq", m.Seq, "err", err)
			continue
		}
		var origin any
		if i < len(origins) {
			origin = origins[i]
		}
		list := (*targets)[:0]
		switch to := shared.Fold(m.Recipient); {
		case m.Command == shared.CommandGroupchat || m.Of == shared.CommandGroupchat:
			list = s.hub.roomSockets(list, to)
		case to == shared.Fold(shared.All):
			list = s.hub.allSockets(list)
		case shared.IsChange(m.Command):
			co, _ := origin.(*changeOrigin)
			if co == nil { // not from a handler: the two ids the event names
				co = &changeOrigin{users: [2]string{to, shared.Fold(m.Sender)}}
			}
			list = s.hub.userSockets(list, co.users[0], co.users[1])
			list = slices.DeleteFunc(list, func(so *sio.Socket) bool { return so == co.sock })
		case to == shared.Fold(m.Sender):
			list = s.hub.userSockets(list, to)
		default:
			list = s.hub.userSockets(list, to, shared.Fold(m.Sender))
			origin, _ := origin.(*sio.Socket)
			list = slices.DeleteFunc(list, func(so *sio.Socket) bool { return so == origin })
		}
		for _, so := range list {
			so.Send(frame, int64(m.Seq))
		}
		clear(list)
		*targets = list[:0]
	}
}

// sendNews sends presence news in batches until there are none. The hub
// starts it (wakeNews) when news come and no sender runs; news added
// meanwhile join the next batch.
func (s *Server) sendNews() {
	var news []presenceNews
	for {
		// Let the logins that are about to happen add theirs first: with
		// one P (GOMAXPROCS=1) a storm of logins would otherwise get a
		// batch each, like the store's committer without its yield.
		runtime.Gosched()
		news = s.hub.takeNews(news)
		if len(news) == 0 {
			return
		}
		s.hub.deliverNews(news, func(c *client, frame []byte) { c.sock.Send(frame, 0) })
		clear(news) // drop the frames
	}
}

// Room lists are pushed to every socket after every change. A small list
// goes out at once; a large one (many rooms) is paced so that list pushes
// stay under roomListRate bytes a second per socket: changes that come
// faster are folded into the next push, which carries the newest list.
// Without this, one user renaming a room at the request rate limit would
// make the server push megabytes a second to every socket and drop every
// phone on a slow link as a slow consumer.
const (
	roomListSmall = 16 << 10 // bytes: lists up to this size are never delayed
	roomListRate  = 64 << 10 // bytes a second per socket for larger lists
)

// roomPusher paces room list pushes; see roomListRate.
type roomPusher struct {
	mu      sync.Mutex
	next    time.Time   // no push before this
	pending *time.Timer // a push is scheduled and will send the newest list
}

// broadcastRooms pushes the room list to every logged-in socket, now or,
// for a large list pushed a moment ago, a little later.
func (s *Server) broadcastRooms() {
	p := &s.rooms
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending != nil {
		return
	}
	if wait := time.Until(p.next); wait > 0 {
		p.pending = time.AfterFunc(wait, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.pending = nil
			s.pushRoomsLocked()
		})
		return
	}
	s.pushRoomsLocked()
}

// s.rooms.mu must be held.
func (s *Server) pushRoomsLocked() {
	frame := s.hub.roomFrame()
	targets := getSockets()
	defer putSockets(targets)
	*targets = s.hub.allSockets(*targets)
	for _, so := range *targets {
		so.Send(frame, 0)
	}
	s.rooms.next = time.Now()
	if len(frame) > roomListSmall {
		s.rooms.next = s.rooms.next.Add(time.Duration(len(frame)) * time.Second / roomListRate)
	}
}
