package sio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ConformanceConfig is the configuration the official protocol test
// suites (socketio/engine.io-protocol and socketio/socket.io-protocol,
// SOCKETIO.md §10) assert: pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1000000, and a connectTimeout of 1.5 s: long enough for the
// polling heartbeat test, which sends no CONNECT during its three ping
// rounds (about 1 s), and short enough for mocha's 2 s test timeout.
func ConformanceConfig(logger *slog.Logger) Config {
	return Config{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		MaxPayload:     1000000,
		ConnectTimeout: 1500 * time.Millisecond,
		Namespaces:     []string{"/", "/custom"},
		AllowBinary:    true,
		Logger:         logger,
	}
}

// ConformanceHandler serves the application the official protocol test
// suites expect. It is a test fixture, never part of the chat:
//
//   - /engine.io/: a raw Engine.IO echo; every message comes back as it
//     came, text as text and binary as binary.
//   - /socket.io/: namespaces "/" and "/custom". On connect each emits
//     "auth" with the CONNECT auth ({} without one). On "/", event "message"
//     is emitted back as "message-back" and "message-with-ack" is acked,
//     both with the same arguments and binary attachments byte for byte.
//
// shutdown closes both servers' sessions (see Server.Shutdown).
func ConformanceHandler(logger *slog.Logger) (h http.Handler, shutdown func(ctx context.Context) error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := ConformanceConfig(logger)
	eio := newServer(cfg, echoLayer{})
	sio := NewServer(cfg, &conformanceApp{})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)
	return mux, func(ctx context.Context) error {
		return errors.Join(eio.Shutdown(ctx), sio.Shutdown(ctx))
	}
}

// ServeConformance serves ConformanceHandler on ln until ctx is done, then
// shuts the sessions and the HTTP server down (5 s at most). It returns nil
// after a shutdown, or the error that stopped serving.
func ServeConformance(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h, shutdown := ConformanceHandler(logger)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	logger.Info("conformance server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := errors.Join(shutdown(sctx), hs.Shutdown(sctx))
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// echoLayer is a raw Engine.IO echo: no Socket.IO on top.
type echoLayer struct{}

func (echoLayer) opened(*Socket) {}

func (echoLayer) message(s *Socket, frame []byte) error {
	s.push(frame, 0, false, nil) // frame is this read's own buffer: send it back as is
	return nil
}

func (echoLayer) binary(s *Socket, data []byte) error {
	s.push(data, 0, true, nil)
	return nil
}

func (echoLayer) closed(*Socket, string) {}

// conformanceApp is the Socket.IO application of the socket.io-protocol
// test suite.
type conformanceApp struct {
	auth sync.Map // authKey → json.RawMessage, from Connect to Connected
}

type authKey struct {
	s   *Socket
	nsp string
}

func (a *conformanceApp) Connect(s *Socket, nsp string, auth json.RawMessage) error {
	if auth == nil {
		auth = json.RawMessage(`{}`)
	}
	a.auth.Store(authKey{s, nsp}, auth)
	return nil
}

func (a *conformanceApp) Connected(s *Socket, nsp string) {
	auth, _ := a.auth.LoadAndDelete(authKey{s, nsp})
	raw, _ := auth.(json.RawMessage)
	_ = s.Emit(nsp, "auth", raw) // re-encoded compactly, as Node does
}

func (a *conformanceApp) Event(s *Socket, nsp string, ev Event) {
	if nsp != "/" {
		return
	}
	switch ev.Name {
	case "message":
		_ = s.EmitBinary(nsp, "message-back", ev.Args, ev.Attachments)
	case "message-with-ack":
		if ev.AckID >= 0 {
			_ = s.AckBinary(nsp, ev.AckID, ev.Args, ev.Attachments)
		}
	}
}

func (a *conformanceApp) Disconnect(*Socket, string, string) {}
