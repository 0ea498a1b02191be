package server

import (
	"context"
	"errors"
	"time"

	"chatapp/server/sio"
	"chatapp/server/store"
	"chatapp/shared"
)

// now is the clock; tests may replace it.
var now = time.Now

// Event dispatches one request to its handler and answers it.
func (s *Server) Event(so *sio.Socket, nsp string, ev sio.Event) {
	c := s.client(so)
	if c == nil {
		return
	}
	var payload []byte
	if len(ev.Args) > 0 {
		payload = ev.Args[0]
	}
	var r shared.Response
	switch {
	case len(ev.Attachments) > 0:
		r = refuse(shared.Errorf(shared.CodeBadRequest, "binary payloads are not supported"))
	case !c.allow():
		r = refuse(shared.Errorf(shared.CodeTooManyRequests, "too many requests; slow down"))
	default:
		r = s.handle(c, ev.Name, payload)
	}
	r.Command = ev.Name
	s.metrics.answered(r.Code)
	if ev.AckID >= 0 || ev.Name != shared.EventTyping { // typing is answered only with an ack (4.8)
		c.answer(ev.AckID, r)
	}
	if then := c.then; then != nil {
		c.then = nil
		then()
	}
}

func (s *Server) handle(c *client, name string, payload []byte) shared.Response {
	switch name {
	case shared.EventLogin:
		return s.login(c, payload)
	case shared.EventLogout, shared.EventMessage, shared.EventRoom, shared.EventHistory,
		shared.EventTyping, shared.EventRead:
	default:
		return refuse(shared.Errorf(shared.CodeBadRequest, "unknown event %s", name))
	}
	if c.user == nil {
		return refuse(shared.Errorf(shared.CodeUnauthorized, "log in first"))
	}
	switch name {
	case shared.EventLogout:
		return s.logout(c)
	case shared.EventMessage:
		return s.message(c, payload)
	case shared.EventRoom:
		return s.room(c, payload)
	case shared.EventTyping:
		return s.typing(c, payload)
	case shared.EventRead:
		return s.read(c, payload)
	default:
		return s.history(c, payload)
	}
}

func ok(msg string) shared.Response {
	return shared.Response{Code: shared.CodeOK, Message: msg}
}

func refuse(err *shared.Error) shared.Response {
	return shared.Response{Code: err.Code, Message: err.Message}
}

// internal logs a server failure and answers 500.
func (c *client) internal(what string, err error) shared.Response {
	c.log.Error(what, "err", err)
	return shared.Response{Code: shared.CodeInternal, Message: "server error; try again"}
}

func (s *Server) login(c *client, payload []byte) shared.Response {
	var req shared.Login
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if err := shared.ValidUserID("id", req.ID); err != nil {
		return refuse(err)
	}
	if req.Password == "" {
		return refuse(shared.BadRequest("password", "required"))
	}
	if shared.RuneLen(req.Password) > shared.MaxPassword {
		return refuse(shared.BadRequest("password", "longer than 128 characters"))
	}
	if req.Alias != nil {
		if err := shared.ValidText("alias", *req.Alias, shared.MaxAlias); err != nil {
			return refuse(err)
		}
	}
	if req.Today != nil {
		if err := shared.ValidText("today", *req.Today, shared.MaxToday); err != nil {
			return refuse(err)
		}
	}
	offset, replay, err := shared.ParseOffset(req.Offset)
	if err != nil {
		return refuse(shared.BadRequest("offset", "expected a decimal sequence number"))
	}
	key := shared.Fold(req.ID)
	t := now()
	if s.throttle.blocked(key, c.addr, t) {
		return refuse(shared.Errorf(shared.CodeTooManyRequests, "too many failed logins; wait and try again"))
	}
	ctx := c.sock.Context()
	u, err := s.store.User(ctx, req.ID)
	token, th := newToken()
	expires := t.Add(s.cfg.TokenTTL)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if s.cfg.SignupClosed {
			s.throttle.fail(key, c.addr, false, t)
			s.metrics.loginFailed.Add(1)
			return refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password"))
		}
		if n := shared.RuneLen(req.Password); n < shared.MinPassword {
			return refuse(shared.BadRequest("password", "shorter than 6 characters"))
		}
		if u, err = s.signup(ctx, req, th, expires); err != nil {
			if errors.Is(err, store.ErrExists) { // lost a race with another sign-up
				return refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password"))
			}
			return c.internal("sign-up", err)
		}
	case err != nil:
		return c.internal("login: load user", err)
	default:
		if !CheckPassword(u.Hash, req.Password) {
			s.throttle.fail(key, c.addr, true, t)
			s.metrics.loginFailed.Add(1)
			return refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password"))
		}
		s.throttle.succeed(key)
		if changed(u.Alias, req.Alias) || changed(u.Today, req.Today) {
			if u, err = s.store.UpdateProfile(ctx, u.ID, req.Alias, req.Today); err != nil {
				return c.internal("login: update profile", err)
			}
			s.hub.setProfile(profileOf(u))
		}
		if err := s.store.CreateToken(ctx, th, u.ID, expires); err != nil {
			return c.internal("login: create token", err)
		}
	}
	if c.user != nil { // a socket that logs in again first logs out
		if err := s.store.DeleteToken(ctx, c.tokenHash); err != nil {
			c.log.Error("login: revoke old token", "err", err)
		}
		s.leave(c)
	}
	p := profileOf(u)
	facts, err := s.sessionFacts(ctx, p)
	if err != nil {
		return c.internal("login: conversations", err)
	}
	r := ok("logged in")
	r.Token, r.User, r.Offset, r.Joined, r.Conversations = token, &p, facts.offset, facts.joined, facts.conversations
	// The answer goes out before the lists and the replay.
	c.then = func() { s.enter(c, p, th, offset, replay) }
	c.log.Debug("logged in", "user", p.ID)
	return r
}

func changed(old string, v *string) bool { return v != nil && *v != old }

// signup creates the account of a first login, with its session token
// hash th, in one store transaction.
func (s *Server) signup(ctx context.Context, req shared.Login, th []byte, expires time.Time) (store.User, error) {
	hash, err := HashPassword(req.Password, s.cfg.HashCost)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{ID: req.ID, Hash: hash}
	if req.Alias != nil {
		u.Alias = *req.Alias
	}
	if req.Today != nil {
		u.Today = *req.Today
	}
	if err := s.store.CreateUserToken(ctx, u, th, expires); err != nil {
		return store.User{}, err
	}
	s.hub.addUser(profileOf(u))
	s.log.Info("account created", "user", u.ID)
	return u, nil
}

func (s *Server) logout(c *client) shared.Response {
	if err := s.store.DeleteToken(c.sock.Context(), c.tokenHash); err != nil {
		return c.internal("logout: revoke token", err)
	}
	s.leave(c)
	return ok("logged out")
}

// knownUser finds an account in the hub, or in the store for accounts
// added by the admin CLI while the server runs.
func (s *Server) knownUser(ctx context.Context, id string) (shared.Profile, error) {
	if p, ok := s.hub.user(id); ok {
		return p, nil
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return shared.Profile{}, err
	}
	p := profileOf(u)
	s.hub.addUser(p)
	return p, nil
}
