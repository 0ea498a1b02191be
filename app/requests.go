package app

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"chatapp/shared"
)

// The requests the components make (through the actions of browser.go):
// each is checked with the server's own rules first, so a mistake is
// explained at once and nothing is sent.

// loginForm is the value of the login action.
type loginForm struct {
	ID, Password, Alias, Today string
}

// Login sends a login request. Before the socket is up it waits (in
// memory only) and goes out as soon as CONNECT is accepted.
func (s *service) Login(f loginForm) {
	s.mu.Lock()
	f.ID = strings.TrimSpace(f.ID)
	if err := checkLogin(f); err != nil {
		s.notices["login"] = invalid(shared.EventLogin, "", err)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	s.lastID = f.ID
	if s.gen == 0 {
		s.waitingLogin = &f
		s.notices["login"] = info("login.wait")
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	gen, frame := s.loginFrameLocked(f)
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frame)
}

// loginFrameLocked builds the login request. A browser that holds this
// user's data asks for what it missed since (the replay); a new one asks
// for nothing: the answer lists every conversation with its counts, and
// each loads its messages with history when it is shown.
func (s *service) loginFrameLocked(f loginForm) (int64, []byte) {
	req := shared.Login{ID: f.ID, Password: f.Password}
	if f.Alias != "" {
		req.Alias = &f.Alias
	}
	if f.Today != "" {
		req.Today = &f.Today
	}
	var replayFrom shared.Seq
	if s.owner == shared.Fold(f.ID) && s.m.offset > 0 {
		replayFrom = s.m.offset
		req.Offset, _ = json.Marshal(replayFrom)
	}
	s.notices["login"] = info("logging.in")
	return s.requestLocked(shared.EventLogin, req, func(r shared.Response) {
		if r.Code != shared.CodeOK || r.User == nil {
			s.notices["login"] = refusal(shared.EventLogin, "", r)
			return
		}
		u := *r.User
		if s.owner != shared.Fold(u.ID) { // another user's data must not show
			s.m = newModel()
			s.owner = shared.Fold(u.ID)
			s.saveOutboxLocked()
			replayFrom = 0
		}
		if off, err := shared.ParseSeq(r.Offset); err == nil && replayFrom == 0 && off > s.m.offset {
			s.m.offset = off // nothing is replayed: what is older loads with history
		}
		s.m.me = &u
		s.replayFrom = replayFrom
		s.sessionFactsLocked(r.Joined, r.Conversations, replayFrom)
		s.token, s.lastID = r.Token, u.ID
		s.authed = true
		s.notices["login"] = info("logged.in")
		delete(s.notices, "profile")
		s.dirty = true
		s.saveSessionLocked()
		s.outq = append(s.outq, s.afterAuthLocked()...)
		s.outq = append(s.outq, s.readOpenLocked()...)
	})
}

// checkLogin checks a login form with the server's own rules.
func checkLogin(f loginForm) *shared.Error {
	if err := shared.ValidUserID("id", f.ID); err != nil {
		return err
	}
	switch {
	case f.Password == "":
		return shared.BadRequest("password", "required")
	case shared.RuneLen(f.Password) > shared.MaxPassword:
		return shared.BadRequest("password", "longer than 128 characters")
	}
	if err := shared.ValidText("alias", f.Alias, shared.MaxAlias); err != nil {
		return err
	}
	return shared.ValidText("today", f.Today, shared.MaxToday)
}

// profileForm is the value of the profile action.
type profileForm struct{ Password, Alias, Today string }

// Profile changes the display name and status line: PROTOCOL.md 4.1 lets
// a login with the right password update them, so it logs in again on
// this socket (with the offset, so nothing is missed) and switches to the
// token that login returns. Empty fields are sent empty: clearing the
// status line is a change too.
func (s *service) Profile(f profileForm) {
	s.mu.Lock()
	var bad *notice
	switch {
	case s.m.me == nil:
		bad = &notice{Key: "err.login.first", Error: true}
	case s.gen == 0:
		bad = &notice{Key: "err.offline", Error: true}
	default:
		err := shared.ValidText("alias", f.Alias, shared.MaxAlias)
		if err == nil {
			err = shared.ValidText("today", f.Today, shared.MaxToday)
		}
		if f.Password == "" {
			err = shared.BadRequest("password", "required")
		}
		if err != nil {
			n := invalid(shared.EventLogin, "", err)
			bad = &n
		}
	}
	if bad != nil {
		s.notices["profile"] = *bad
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	req := shared.Login{ID: s.m.me.ID, Password: f.Password, Alias: &f.Alias, Today: &f.Today}
	req.Offset, _ = json.Marshal(s.m.offset)
	s.notices["profile"] = info("profile.saving")
	gen, frame := s.requestLocked(shared.EventLogin, req, func(r shared.Response) {
		if r.Code != shared.CodeOK || r.User == nil {
			s.notices["profile"] = refusal(shared.EventLogin, "", r)
			return
		}
		u := *r.User
		s.m.me = &u
		s.token = r.Token
		s.notices["profile"] = info("profile.saved")
		s.done["profile"]++
		s.saveSessionLocked()
	})
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frame)
}

// Logout revokes the session (when connected) and forgets the user's data
// on this browser.
func (s *service) Logout() {
	s.mu.Lock()
	var gen int64
	var frame []byte
	if s.authed {
		gen, frame = s.requestLocked(shared.EventLogout, struct{}{}, func(shared.Response) {})
	}
	s.token, s.authed, s.owner = "", false, ""
	s.m = newModel()
	s.saveSessionLocked()
	s.saveOutboxLocked()
	s.saveCacheLocked()
	s.notices = map[string]notice{}
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frame)
}

// roomForm is the value of the room action.
type roomForm struct {
	Command, ID, Name string
}

// Room sends a room command.
func (s *service) Room(f roomForm) {
	s.mu.Lock()
	f.ID = strings.TrimSpace(f.ID)
	f.Name = strings.TrimSpace(f.Name)
	switch {
	case s.m.me == nil:
		s.notices["room"] = failure("err.login.first")
	case s.gen == 0:
		s.notices["room"] = failure("err.offline")
	default:
		delete(s.notices, "room")
		if err := checkRoom(f); err != nil {
			s.notices["room"] = invalid(shared.EventRoom, f.Command, err)
		}
	}
	if _, bad := s.notices["room"]; bad {
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	gen, frame := s.requestLocked(shared.EventRoom, shared.RoomRequest{Command: f.Command, RoomID: f.ID, RoomName: f.Name},
		func(r shared.Response) { s.roomAnswerLocked(f, r) })
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frame)
}

func checkRoom(f roomForm) *shared.Error {
	if err := shared.ValidRoomID("roomId", f.ID); err != nil {
		return err
	}
	if f.Command == shared.RoomCreate || f.Command == shared.RoomUpdate {
		if f.Name == "" {
			return shared.BadRequest("roomName", "required")
		}
		return shared.ValidText("roomName", f.Name, shared.MaxRoomName)
	}
	return nil
}

func (s *service) roomAnswerLocked(f roomForm, r shared.Response) {
	if r.Code != shared.CodeOK {
		s.notices["room"] = refusal(shared.EventRoom, f.Command, r)
		return
	}
	s.notices["room"] = info("room.done." + f.Command)
	s.done["room"]++
	c := roomConv(f.ID)
	switch f.Command {
	case shared.RoomCreate, shared.RoomJoin:
		s.m.member[c.key] = true
		if f.Command == shared.RoomCreate {
			s.m.timeline(c).from = 0 // a new room has no history
		}
		s.m.selectConv(c) // open what was just made or joined
		s.outq = append(s.outq, s.historyFrameLocked(c, true))
	case shared.RoomLeave:
		s.m.left(f.ID)
	case shared.RoomDelete:
		s.m.roomDeleted(f.ID)
	}
	s.dirty = true
}

// sendForm is the value of the send action. ReplyTo is the seq of the
// message it answers, or "".
type sendForm struct {
	Recipient, Command, Text string
	ReplyTo                  string
}

// checkSend checks a message with the server's rules and returns it in
// canonical form.
func checkSend(f sendForm) (sendForm, *shared.Error) {
	f.Recipient = strings.TrimSpace(f.Recipient)
	var err *shared.Error
	switch {
	case f.Recipient == "":
		return f, shared.BadRequest("recepient", "required")
	case f.Command == shared.CommandChat:
		if shared.Fold(f.Recipient) == shared.Fold(shared.All) {
			f.Recipient = shared.All
		} else {
			err = shared.ValidUserID("recepient", f.Recipient)
		}
	case f.Command == shared.CommandGroupchat:
		err = shared.ValidRoomID("recepient", f.Recipient)
	default:
		err = shared.BadRequest("command", "expected chat or groupchat")
	}
	if err == nil && f.ReplyTo != "" {
		if _, perr := shared.ParseSeq(f.ReplyTo); perr != nil {
			err = shared.BadRequest("replyTo", "not a seq")
		}
	}
	if err == nil {
		if strings.TrimSpace(f.Text) == "" {
			err = shared.BadRequest("data", "empty")
		} else {
			err = shared.ValidMessageText(f.Text, shared.DefaultMaxText)
		}
	}
	return f, err
}

// Send queues a message in the outbox (persisted at once) and sends it if
// the socket is logged in; otherwise it goes out after the reconnect.
func (s *service) Send(f sendForm) {
	s.mu.Lock()
	if s.m.me == nil {
		s.notices["send"] = failure("err.login.first")
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	f, err := checkSend(f)
	if err != nil {
		s.notices["send"] = sendRefusal(err)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	replyTo, _ := shared.ParseSeq(f.ReplyTo)
	frames := s.enqueueLocked(outgoing{
		CID: newCID(), Recipient: f.Recipient, Command: f.Command, Data: f.Text, ReplyTo: replyTo,
		Created: shared.FormatTime(time.Now()),
	})
	if s.authed {
		if n := s.notices["send"]; n.Answer == nil || n.Answer.Code != shared.CodeTooManyRequests {
			delete(s.notices, "send") // a 429 stays until the queue drained
		}
	} else {
		s.notices["send"] = info("queued")
	}
	gen := s.gen
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// sendRefusal words a message that failed the local checks; a missing
// recipient means no conversation was picked.
func sendRefusal(err *shared.Error) notice {
	if err.Message == "invalid recepient: required" {
		return failure("err.pick")
	}
	return invalid(shared.EventMessage, "", err)
}

// newCID returns a random client message id.
func newCID() string {
	var b [12]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Select opens a conversation in #result, asks for its first page and
// marks it read.
func (s *service) Select(c conv) {
	s.mu.Lock()
	s.m.selectConv(c)
	gen := s.gen
	var frames [][]byte
	if t := s.m.convs[c]; c != everything && (t == nil || len(t.msgs) < pageSize) {
		frames = append(frames, s.historyFrameLocked(c, true))
	}
	frames = append(frames, s.readOpenLocked()...)
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// Visible tells whether the page is visible: what arrives in the open
// conversation while it is hidden stays unread (and may notify), and is
// read when the person comes back.
func (s *service) Visible(visible bool) {
	s.mu.Lock()
	s.m.hidden = !visible
	var frames [][]byte
	if visible {
		if s.m.newFrom == 0 {
			s.m.markNewFrom()
		}
		frames = s.readOpenLocked()
		s.changedLocked()
	}
	gen := s.gen
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// Page loads the next page of the open conversation: older when its log
// is scrolled to the top, newer at the bottom of a window that dropped
// its newest pages.
func (s *service) Page(older bool) {
	s.mu.Lock()
	gen := s.gen
	frame := s.historyFrameLocked(s.m.selected, older)
	if frame != nil {
		s.changedLocked()
	}
	s.mu.Unlock()
	s.link.write(gen, frame)
}

// Following tells whether the log is scrolled to its newest message.
func (s *service) Following(at bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.following = at
}

// Connect points the client at another server (or the same one again).
// Each server has its own session, outbox and cache, stored under its
// origin: a token never goes to a server that did not issue it.
func (s *service) Connect(hostName, port string) {
	s.mu.Lock()
	t := s.page.typed(strings.TrimSpace(hostName), strings.TrimSpace(port))
	changed := t != s.target
	if changed {
		s.switchTargetLocked(t)
	}
	if !changed && s.state == stateConnected {
		s.notices["connect"] = info("connect.same")
	} else {
		s.notices["connect"] = info("connect.retry")
	}
	s.changedLocked()
	s.mu.Unlock()
	if changed {
		s.link.Redial()
	} else {
		s.link.Kick()
	}
}

// SetLang switches the UI language and remembers the choice.
func (s *service) SetLang(lang string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lang != langKO {
		lang = langEN
	}
	s.lang = lang
	s.h.storage().Set(keyLang, lang)
	s.changedLocked()
}
