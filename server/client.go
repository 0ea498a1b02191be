package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"chatapp/server/sio"
	"chatapp/server/store"
	"chatapp/shared"
)

// client is the chat state of one socket. Its fields are owned by the
// socket's read goroutine (every handler runs there).
type client struct {
	sock    *sio.Socket
	log     *slog.Logger
	addr    string
	limiter *rate.Limiter // nil: no limit

	user      *shared.Profile // nil while anonymous
	userKey   string          // folded user id
	tokenHash []byte          // this socket's session token

	// listVer is the version of the presence news its presence list
	// includes (hub.newsVer); guarded by hub.mu, not the read goroutine.
	listVer uint64

	// pending is set between Connect and Connected for a token CONNECT.
	pending *connectAuth
	// then runs after the current request's answer is queued.
	then func()
	// revSeen is the revocation log position when the socket last began
	// to authenticate (see revoke.go).
	revSeen int64

	// authed is set while the socket is logged in; the login timer reads
	// it from its own goroutine. loginTimer, if not nil, closes the
	// socket if it is still anonymous when it fires (Config.LoginTimeout).
	authed     atomic.Bool
	loginTimer *time.Timer
}

type connectAuth struct {
	user      store.User
	tokenHash []byte
	offset    shared.Seq
	replay    bool
}

// CONNECT refusals of PROTOCOL.md section 2.
var (
	errInvalidSession = errors.New("invalid session")
	errInvalidOffset  = errors.New("invalid offset")
	// errTooManyLogins is never seen: the transport is closed first.
	errTooManyLogins = errors.New("too many logins")
)

func (s *Server) client(so *sio.Socket) *client {
	s.clientsMu.RLock()
	defer s.clientsMu.RUnlock()
	return s.clients[so]
}

// Connect checks the CONNECT auth payload: a token logs the socket in, an
// offset asks for a replay.
func (s *Server) Connect(so *sio.Socket, nsp string, auth json.RawMessage) error {
	var a shared.Auth
	if len(auth) > 0 {
		if err := json.Unmarshal(auth, &a); err != nil {
			// A wrong type for offset or token: the offset is the only
			// field a client is told about.
			return errInvalidOffset
		}
	}
	offset, hasOffset, err := shared.ParseOffset(a.Offset)
	if err != nil {
		return errInvalidOffset
	}
	c := &client{sock: so, addr: hostOf(so.RemoteAddr())}
	c.log = s.log.With("conn_id", so.ID(), "remote", c.addr)
	if s.cfg.MsgRate > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(s.cfg.MsgRate), s.cfg.MsgBurst)
	}
	if a.Token != "" {
		if !s.loginsPerAddr.allow(c.addr) {
			// Not CONNECT_ERROR, after which a stock client gives up:
			// closing the transport makes it retry after its backoff.
			c.log.Debug("too many logins from this address; closing")
			so.Close("too many logins from this address")
			return errTooManyLogins
		}
		c.revSeen = s.rev.applied.Load()
		h := tokenHash(a.Token)
		u, err := s.store.TokenUser(so.Context(), h, now())
		if errors.Is(err, store.ErrNotFound) {
			return errInvalidSession
		}
		if err != nil {
			c.log.Error("token lookup", "err", err)
			return errors.New("server error")
		}
		c.pending = &connectAuth{user: u, tokenHash: h, offset: offset, replay: hasOffset}
	} else {
		s.armLoginTimer(c)
	}
	s.clientsMu.Lock()
	s.clients[so] = c
	s.clientsMu.Unlock()
	return nil
}

// Connected runs after the CONNECT reply: a token session is logged in at
// once and gets what a login gets (the session event, then the lists),
// then its replay.
func (s *Server) Connected(so *sio.Socket, nsp string) {
	c := s.client(so)
	if c == nil || c.pending == nil {
		return
	}
	p := c.pending
	c.pending = nil
	// No answer tells a token session what a login answer does: the
	// session event does, before the lists and the replay.
	prof := profileOf(p.user)
	facts, err := s.sessionFacts(so.Context(), prof)
	var frame []byte
	if err == nil {
		frame, err = facts.sessionFrame(prof)
	}
	if err != nil {
		c.log.Error("session: conversations", "err", err)
		so.Close("server error") // the client reconnects with its offset
		return
	}
	so.Send(frame, 0)
	s.enter(c, prof, p.tokenHash, p.offset, p.replay)
	c.log.Debug("session resumed", "user", c.user.ID)
}

// Disconnect forgets the socket; the user goes offline with their last one.
func (s *Server) Disconnect(so *sio.Socket, nsp, reason string) {
	s.clientsMu.Lock()
	c := s.clients[so]
	delete(s.clients, so)
	s.clientsMu.Unlock()
	if c == nil {
		return
	}
	if c.loginTimer != nil {
		c.loginTimer.Stop()
	}
	s.leave(c)
	c.log.Debug("disconnected", "reason", reason)
}

// armLoginTimer starts the login timeout of an anonymous socket: still
// anonymous when it fires, the socket is kicked with DISCONNECT (41).
// The kick, not a transport close, because a stock client reconnects by
// itself after a close: an idle page would hold a connection for ever,
// one LoginTimeout at a time. Our PWA reconnects after 41 with its
// backoff and so does a client that wants to log in.
func (s *Server) armLoginTimer(c *client) {
	if s.cfg.LoginTimeout <= 0 {
		return
	}
	if c.loginTimer != nil {
		c.loginTimer.Reset(s.cfg.LoginTimeout)
		return
	}
	c.loginTimer = time.AfterFunc(s.cfg.LoginTimeout, func() {
		if !c.authed.Load() {
			s.metrics.loginTimeouts.Add(1)
			c.log.Debug("not logged in within the login timeout; disconnecting")
			c.sock.Disconnect("/")
		}
	})
}

// enter logs c in as p with session token hash th: it joins the hub, gets
// the room and presence lists, and everyone else hears the user is online
// (with the next batch of presence news, see hub.news). With replay, every message visible to the user after offset follows
// (PROTOCOL.md section 6) before any live message.
//
// Joining the hub, reading the last seq and queuing the replay happen under
// fanMu, which Fanout holds for each batch: a message stored up to that
// seq is in the replay (its live copy, queued behind, is dropped by seq),
// and any later one is fanned out to c after the replay.
//
// A socket whose session was revoked while it authenticated is kicked
// instead (see revoke.go).
func (s *Server) enter(c *client, p shared.Profile, th []byte, offset shared.Seq, replay bool) {
	s.rev.mu.RLock()
	defer s.rev.mu.RUnlock()
	if !s.admitted(c.sock.Context(), th, c.revSeen) {
		c.log.Info("session revoked while logging in; disconnecting", "user", p.ID)
		c.sock.Disconnect("/")
		return
	}
	c.authed.Store(true)
	if c.loginTimer != nil {
		c.loginTimer.Stop()
	}
	c.user = &p
	c.userKey = shared.Fold(p.ID)
	c.tokenHash = th
	if replay {
		s.fanMu.Lock()
		defer s.fanMu.Unlock()
	}
	s.hub.login(c, p, func(frame []byte) { c.sock.Send(frame, 0) })
	s.trim.poke()
	if replay {
		// LastSeq is the newest committed seq; the store advances it
		// after the commit and before calling Fanout.
		if upto := s.store.LastSeq(); upto > offset {
			c.sock.Replay(&replayer{s: s, user: c.userKey, after: offset, upto: upto}, int64(upto))
		}
	}
}

// leave makes c anonymous; the user goes offline with their last socket.
func (s *Server) leave(c *client) {
	if c.user == nil {
		return
	}
	s.hub.logout(c)
	c.user, c.userKey, c.tokenHash = nil, "", nil
	c.authed.Store(false)
}

// replayer pages a user's missed events in (after, upto] out of the
// store as the socket's writer drains: messages as they are now, and the
// changes to them in their own places (PROTOCOL.md section 6). Past
// ReplayMax it first yields the 206 response and then only the newest
// ReplayMax.
type replayer struct {
	s           *Server
	user        string
	after, upto shared.Seq
	buf         []shared.Message
	more        bool
	started     bool
}

const replayPage = 256

func (r *replayer) Next(ctx context.Context) ([]byte, int64, error) {
	if !r.started {
		r.started = true
		if frame, err := r.capped(ctx); frame != nil || err != nil {
			return frame, 0, err
		}
	}
	if len(r.buf) == 0 {
		if r.after >= r.upto || r.buf != nil && !r.more {
			return nil, 0, io.EOF
		}
		msgs, more, err := r.s.store.Since(ctx, r.user, r.after, r.upto, replayPage)
		if err != nil {
			return nil, 0, err
		}
		if len(msgs) == 0 {
			return nil, 0, io.EOF
		}
		r.buf, r.more = msgs, more
	}
	m := &r.buf[0]
	r.buf = r.buf[1:]
	r.after = m.Seq
	frame, err := shared.EventFrame(shared.EventMessage, m)
	return frame, int64(m.Seq), err
}

// capped applies ReplayMax: if more messages were missed, it moves the
// start to the newest ReplayMax and returns the 206 response frame.
// Otherwise it leaves the first page in buf.
func (r *replayer) capped(ctx context.Context) ([]byte, error) {
	max := r.s.cfg.ReplayMax
	// Most replays fit in their first page, which then needs no count.
	msgs, more, err := r.s.store.Since(ctx, r.user, r.after, r.upto, replayPage)
	if err != nil {
		return nil, err
	}
	if !more && len(msgs) <= max {
		r.buf = msgs
		return nil, nil
	}
	n, err := r.s.store.CountSince(ctx, r.user, r.after, r.upto, max)
	if err != nil || n <= max {
		r.buf, r.more = msgs, more
		return nil, err
	}
	first, err := r.s.store.NthNewest(ctx, r.user, r.after, r.upto, max)
	if err != nil {
		return nil, err
	}
	r.after = first - 1
	return shared.EventFrame(shared.EventResponse, shared.Response{Command: shared.CommandRecover, Code: shared.CodePartial,
		Message: "more messages were missed than are replayed; page older ones with history", Before: first.String()})
}

// answer sends the response to a request: an ACK when the request carried
// an ack id, else a response event.
func (c *client) answer(ackID int64, r shared.Response) {
	if r.Code != shared.CodeOK && r.Code != shared.CodePartial {
		c.log.Debug("request refused", "command", r.Command, "code", r.Code, "msg", r.Message)
	}
	var frame []byte
	var err error
	if ackID >= 0 {
		frame, err = shared.AckFrame(ackID, r)
	} else {
		frame, err = shared.EventFrame(shared.EventResponse, r)
	}
	if err != nil {
		c.log.Error("encode response", "err", err)
		return
	}
	c.sock.Send(frame, 0)
}

// allow applies the per-socket request rate.
func (c *client) allow() bool {
	return c.limiter == nil || c.limiter.Allow()
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
