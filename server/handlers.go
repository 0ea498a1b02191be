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
		if err := shared.ValidName("alias", *req.Alias, shared.MaxAlias); err != nil {
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
	if !s.loginsPerAddr.allow(c.addr) {
		return refuse(shared.Errorf(shared.CodeTooManyRequests, "too many logins from your address; wait and try again"))
	}
	key := shared.Fold(req.ID)
	ctx := c.sock.Context()
	if !s.throttle.begin(ctx, key, c.addr, now) {
		return refuse(shared.Errorf(shared.CodeTooManyRequests, "too many failed logins; wait and try again"))
	}
	c.revSeen = s.rev.applied.Load()
	u, res, o := s.authenticate(c, req)
	s.throttle.end(key, c.addr, o, now())
	if res != nil {
		return *res
	}
	if c.user != nil { // a socket that logs in again first logs out
		if err := s.revoke(c); err != nil {
			c.log.Error("login: revoke old token", "err", err)
			s.leave(c)
		}
	}
	p := profileOf(u.User)
	facts, err := s.sessionFacts(ctx, p)
	if err != nil {
		return c.internal("login: conversations", err)
	}
	r := ok("logged in")
	r.Token, r.User, r.Offset, r.Joined, r.Conversations = u.token, &p, facts.offset, facts.joined, facts.conversations
	// The answer goes out before the lists and the replay.
	c.then = func() { s.enter(c, p, tokenHash(u.token), offset, replay) }
	c.log.Debug("logged in", "user", p.ID)
	return r
}

// session is an account a login authenticated, with its new token.
type session struct {
	store.User
	token string
}

// authenticate checks a login's password, or signs the id up, and stores
// a new session token. It runs within the throttle's reservation and says
// how the attempt ended; res is the refusal, if any.
func (s *Server) authenticate(c *client, req shared.Login) (u session, res *shared.Response, o verdict) {
	fail := func(r shared.Response) (session, *shared.Response, verdict) { return session{}, &r, o }
	ctx := c.sock.Context()
	token, th := newToken()
	u.token = token
	expires := now().Add(s.cfg.TokenTTL)
	var err error
	u.User, err = s.store.User(ctx, req.ID)
	switch {
	case errors.Is(err, store.ErrDeleted):
		return fail(refuse(shared.Errorf(shared.CodeForbidden, "this id was deleted")))
	case errors.Is(err, store.ErrNotFound) && s.cfg.SignupClosed:
		// Cost and count what a wrong password costs and counts, so that
		// neither the time nor the 429 tells which ids exist.
		s.checkPassword(s.dummyHash, req.Password)
		o = checkWrong
		s.metrics.loginFailed.Add(1)
		return fail(refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password")))
	case errors.Is(err, store.ErrNotFound):
		if n := shared.RuneLen(req.Password); n < shared.MinPassword {
			return fail(refuse(shared.BadRequest("password", "shorter than 6 characters")))
		}
		if !s.signupsPerAddr.allow(c.addr) || s.signups != nil && !s.signups.Allow() {
			return fail(refuse(shared.Errorf(shared.CodeTooManyRequests, "too many new accounts; try again later")))
		}
		if u.User, err = s.signup(ctx, req, th, expires); err != nil {
			switch {
			case errors.Is(err, store.ErrExists): // lost a race with another sign-up
				return fail(refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password")))
			case errors.Is(err, store.ErrDeleted): // deleted meanwhile
				return fail(refuse(shared.Errorf(shared.CodeForbidden, "this id was deleted")))
			}
			return fail(c.internal("sign-up", err))
		}
		return u, nil, noCheck
	case err != nil:
		return fail(c.internal("login: load user", err))
	}
	if !s.checkPassword(u.Hash, req.Password) {
		o = checkWrong
		s.metrics.loginFailed.Add(1)
		return fail(refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password")))
	}
	o = checkOK
	if changed(u.Alias, req.Alias) || changed(u.Today, req.Today) {
		if u.User, err = s.store.UpdateProfile(ctx, u.ID, req.Alias, req.Today); err != nil {
			return fail(c.internal("login: update profile", err))
		}
		s.hub.setProfile(profileOf(u.User))
	}
	// Only while the hash just checked is the account's: a password
	// changed meanwhile revoked every session, this one included.
	switch err := s.store.CreateTokenIfHash(ctx, th, u.ID, u.Hash, expires); {
	case errors.Is(err, store.ErrNotFound):
		return fail(refuse(shared.Errorf(shared.CodeUnauthorized, "unknown id or wrong password")))
	case err != nil:
		return fail(c.internal("login: create token", err))
	}
	return u, nil, o
}

// checkPassword is CheckPassword, counted (chatapp_password_checks_total).
func (s *Server) checkPassword(hash []byte, password string) bool {
	s.metrics.passwordChecks.Add(1)
	return CheckPassword(hash, password)
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
	if err := s.revoke(c); err != nil {
		return c.internal("logout: revoke token", err)
	}
	s.armLoginTimer(c)
	return ok("logged out")
}

// revoke revokes c's session token and makes c anonymous; every other
// socket that logged in with the same token is kicked (DISCONNECT 41),
// here at once and on other nodes through the revocation log.
func (s *Server) revoke(c *client) error {
	th, key := c.tokenHash, c.userKey
	if err := s.store.DeleteToken(c.sock.Context(), th); err != nil {
		return err
	}
	s.leave(c)
	kick(s.hub.sessions(nil, key, th))
	return nil
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
