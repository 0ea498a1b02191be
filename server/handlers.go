package server

import (
	"context"
	"errors"
	"strconv"
	"strings"
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
	c.answer(ev.AckID, r)
	if then := c.then; then != nil {
		c.then = nil
		then()
	}
}

func (s *Server) handle(c *client, name string, payload []byte) shared.Response {
	switch name {
	case shared.EventLogin:
		return s.login(c, payload)
	case shared.EventLogout, shared.EventMessage, shared.EventRoom, shared.EventHistory:
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
	last, err := s.store.LastVisibleSeq(ctx, u.ID)
	if err != nil {
		return c.internal("login: last seq", err)
	}
	p := profileOf(u.User)
	r := ok("logged in")
	r.Token, r.User, r.Offset = u.token, &p, last.String()
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

func (s *Server) message(c *client, payload []byte) shared.Response {
	var req shared.SendMessage
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Sender != "" && shared.Fold(req.Sender) != c.userKey {
		return refuse(shared.Errorf(shared.CodeForbidden, "sender must be your own id"))
	}
	if req.Type == "" {
		req.Type = shared.TypeText
	}
	if req.Type != shared.TypeText {
		return refuse(shared.BadRequest("type", "only text is supported"))
	}
	if err := shared.ValidMessageText(req.Data, s.cfg.MaxText); err != nil {
		return refuse(err)
	}
	if req.CID != "" {
		if err := shared.ValidText("cid", req.CID, shared.MaxCID); err != nil {
			return refuse(err)
		}
	}
	m := shared.Message{Sender: c.user.ID, Command: req.Command, Type: req.Type, Data: req.Data, CID: req.CID}
	switch req.Command {
	case shared.CommandChat:
		if req.Recipient == "" {
			return refuse(shared.BadRequest("recepient", "required"))
		}
		if shared.Fold(req.Recipient) == shared.Fold(shared.All) {
			m.Recipient = shared.All
			break
		}
		p, err := s.knownUser(c.sock.Context(), req.Recipient)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such user %s", req.Recipient))
		} else if err != nil {
			return c.internal("message: load recipient", err)
		}
		m.Recipient = p.ID
	case shared.CommandGroupchat:
		if req.Recipient == "" {
			return refuse(shared.BadRequest("recepient", "required"))
		}
		if shared.Fold(req.Recipient) == shared.Fold(shared.All) {
			// ALL is reserved, never a room: as in the original server,
			// whose default send is groupchat to ALL, it is the broadcast,
			// stored and delivered as chat to ALL.
			m.Command, m.Recipient = shared.CommandChat, shared.All
			break
		}
		id, _, member, found := s.hub.room(shared.Fold(req.Recipient), c.userKey)
		if !found {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.Recipient))
		}
		if !member {
			return refuse(shared.Errorf(shared.CodeForbidden, "join the room first"))
		}
		m.Recipient = id
	default:
		return refuse(shared.BadRequest("command", "expected chat or groupchat"))
	}
	start := time.Now()
	stored, dup, err := s.store.AppendFrom(c.sock.Context(), m, c.sock)
	s.metrics.appendHist.observe(time.Since(start))
	if errors.Is(err, store.ErrNotFound) { // the room was deleted meanwhile
		return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.Recipient))
	}
	if err != nil {
		return c.internal("message: append", err)
	}
	r := ok("sent")
	if dup {
		r.Message = "already sent"
	}
	r.Seq, r.Time = stored.Seq.String(), stored.Time
	return r
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

func (s *Server) room(c *client, payload []byte) shared.Response {
	var req shared.RoomRequest
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Command == shared.RoomList {
		c.sock.Send(s.hub.roomFrame(), 0)
		return ok("room list sent")
	}
	switch req.Command {
	case shared.RoomCreate, shared.RoomUpdate, shared.RoomDelete, shared.RoomJoin, shared.RoomLeave:
	default:
		return refuse(shared.BadRequest("command", "expected create, update, delete, join, leave or list"))
	}
	if err := shared.ValidRoomID("roomId", req.RoomID); err != nil {
		return refuse(err)
	}
	if req.Command == shared.RoomCreate || req.Command == shared.RoomUpdate {
		if req.RoomName == "" {
			return refuse(shared.BadRequest("roomName", "required"))
		}
		if err := shared.ValidName("roomName", req.RoomName, shared.MaxRoomName); err != nil {
			return refuse(err)
		}
	}
	ctx := c.sock.Context()
	key := shared.Fold(req.RoomID)
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	id, owner, _, found := s.hub.room(key, c.userKey)
	if req.Command == shared.RoomCreate {
		if found {
			return refuse(shared.Errorf(shared.CodeConflict, "room %s already exists", id))
		}
		if s.hub.roomsOwned(c.userKey) >= s.cfg.MaxRoomsPerUser {
			return refuse(shared.Errorf(shared.CodeForbidden, "you own %d rooms, the most allowed; delete one first", s.cfg.MaxRoomsPerUser))
		}
		if err := s.store.CreateRoom(ctx, req.RoomID, req.RoomName, c.user.ID); err != nil {
			if errors.Is(err, store.ErrExists) {
				return refuse(shared.Errorf(shared.CodeConflict, "room %s already exists", req.RoomID))
			}
			return c.internal("room: create", err)
		}
		s.hub.setRoom(req.RoomID, req.RoomName, c.user.ID, []string{c.user.ID})
		s.broadcastRooms()
		return ok("room created")
	}
	if !found {
		return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.RoomID))
	}
	isOwner := shared.Fold(owner) == c.userKey
	changed := true
	var err error
	switch req.Command {
	case shared.RoomUpdate:
		if !isOwner {
			return refuse(shared.Errorf(shared.CodeForbidden, "only the owner may rename the room"))
		}
		if err = s.store.RenameRoom(ctx, id, req.RoomName); err == nil {
			s.hub.renameRoom(key, req.RoomName)
		}
	case shared.RoomDelete:
		if !isOwner {
			return refuse(shared.Errorf(shared.CodeForbidden, "only the owner may delete the room"))
		}
		if err = s.store.DeleteRoom(ctx, id); err == nil {
			s.roomDeleted(key, id)
		}
	case shared.RoomJoin:
		if err = s.store.Join(ctx, id, c.user.ID); err == nil {
			changed = s.hub.setMember(key, c.userKey, true)
		}
	case shared.RoomLeave:
		if err = s.store.Leave(ctx, id, c.user.ID); err == nil {
			changed = s.hub.setMember(key, c.userKey, false)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.RoomID))
	}
	if err != nil {
		return c.internal("room: "+req.Command, err)
	}
	if changed { // a repeated join or leave changes nothing and pushes nothing
		s.broadcastRooms()
	}
	return ok("room " + req.Command + " done")
}

// roomDeleted tells the members, then forgets the room.
func (s *Server) roomDeleted(key, id string) {
	frame, err := shared.EventFrame(shared.EventRoom, shared.RoomEvent{Command: shared.RoomDeleted, RoomID: id})
	if err == nil {
		targets := getSockets()
		*targets = s.hub.roomSockets(*targets, key)
		for _, so := range *targets {
			so.Send(frame, 0)
		}
		putSockets(targets)
	}
	s.hub.deleteRoom(key)
}

func (s *Server) history(c *client, payload []byte) shared.Response {
	var req shared.HistoryRequest
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Target == "" {
		return refuse(shared.BadRequest("target", "required"))
	}
	before, _, err := shared.ParseOffset(req.Before)
	if err != nil {
		return refuse(shared.BadRequest("before", "expected a decimal sequence number"))
	}
	limit := shared.DefaultLimit
	if l := strings.Trim(strings.TrimSpace(string(req.Limit)), `"`); l != "" && l != "null" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > shared.MaxLimit {
			return refuse(shared.BadRequest("limit", "expected a number from 1 to 100"))
		}
		limit = n
	}
	key := shared.Fold(req.Target)
	cmd := req.Command
	if cmd == "" {
		cmd = shared.CommandChat
		if _, _, _, found := s.hub.room(key, c.userKey); found {
			cmd = shared.CommandGroupchat
		}
	}
	q := store.HistoryQuery{User: c.user.ID, Command: cmd, Target: req.Target, Before: before, Limit: limit}
	switch cmd {
	case shared.CommandGroupchat:
		id, _, member, found := s.hub.room(key, c.userKey)
		if !found {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.Target))
		}
		if !member {
			return refuse(shared.Errorf(shared.CodeForbidden, "join the room first"))
		}
		q.Target = id
	case shared.CommandChat:
		if key == shared.Fold(shared.All) {
			q.Target = shared.All
			break
		}
		p, err := s.knownUser(c.sock.Context(), req.Target)
		switch {
		case errors.Is(err, store.ErrDeleted):
			// A deleted account's messages stay in its partners' history.
			q.Target = req.Target
		case errors.Is(err, store.ErrNotFound):
			return refuse(shared.Errorf(shared.CodeNotFound, "no such user %s", req.Target))
		case err != nil:
			return c.internal("history: load user", err)
		default:
			q.Target = p.ID
		}
	default:
		return refuse(shared.BadRequest("command", "expected chat or groupchat"))
	}
	msgs, err := s.store.History(c.sock.Context(), q)
	if err != nil {
		return c.internal("history", err)
	}
	r := ok("history")
	r.Messages = msgs
	return r
}
