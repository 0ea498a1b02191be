package app

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
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
	if n := checkLogin(s.lang, f); n != "" {
		s.setErrorLocked("login", n)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	s.lastID = f.ID
	if !s.ready {
		s.waitingLogin = &f
		s.setNoticeLocked("login", "login.wait", false)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	gen := s.gen
	frame := s.loginFrameLocked(f)
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frame)
}

// loginFrameLocked builds the login request. s.mu must be held.
func (s *service) loginFrameLocked(f loginForm) []byte {
	req := shared.Login{ID: f.ID, Password: f.Password}
	if f.Alias != "" {
		req.Alias = &f.Alias
	}
	if f.Today != "" {
		req.Today = &f.Today
	}
	a := pendingAck{kind: reqLogin}
	if s.owner != "" && s.owner == shared.Fold(f.ID) {
		// The same user again (after the session ended): get what was missed.
		req.Offset, _ = json.Marshal(s.m.offset)
		a.offset = true
	}
	s.setNoticeLocked("login", "logging.in", false)
	return s.requestLocked(shared.EventLogin, req, a)
}

// checkLogin checks a login form with the server's own rules; "" is fine.
func checkLogin(lang string, f loginForm) string {
	if err := shared.ValidUserID("id", f.ID); err != nil {
		return human(lang, shared.EventLogin, "", err.Code, err.Message)
	}
	switch {
	case f.Password == "":
		return human(lang, shared.EventLogin, "", shared.CodeBadRequest, "invalid password: required")
	case shared.RuneLen(f.Password) > shared.MaxPassword:
		return human(lang, shared.EventLogin, "", shared.CodeBadRequest, "invalid password: longer than 128 characters")
	}
	if err := shared.ValidText("alias", f.Alias, shared.MaxAlias); err != nil {
		return human(lang, shared.EventLogin, "", err.Code, err.Message)
	}
	if err := shared.ValidText("today", f.Today, shared.MaxToday); err != nil {
		return human(lang, shared.EventLogin, "", err.Code, err.Message)
	}
	return ""
}

// Logout revokes the session (when connected) and forgets the user's data
// on this browser.
func (s *service) Logout() {
	s.mu.Lock()
	var frame []byte
	gen := s.gen
	if s.ready && s.authed {
		frame = s.requestLocked(shared.EventLogout, struct{}{}, pendingAck{kind: reqLogout})
	}
	s.token, s.authed, s.owner = "", false, ""
	s.m.reset()
	s.saveSessionLocked()
	s.saveOutboxLocked()
	s.saveCacheLocked()
	s.notices = map[string]notice{}
	s.changedLocked()
	s.mu.Unlock()
	if frame != nil {
		s.write(gen, frame)
	}
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
	n := ""
	switch {
	case s.m.me == nil:
		n = tr(s.lang, "err.login.first")
	case !s.ready:
		n = tr(s.lang, "err.offline")
	default:
		n = checkRoom(s.lang, f)
	}
	if n != "" {
		s.setErrorLocked("room", n)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	delete(s.notices, "room")
	gen := s.gen
	frame := s.requestLocked(shared.EventRoom, shared.RoomRequest{Command: f.Command, RoomID: f.ID, RoomName: f.Name},
		pendingAck{kind: reqRoom, roomCmd: f.Command, roomID: f.ID})
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frame)
}

func checkRoom(lang string, f roomForm) string {
	if err := shared.ValidRoomID("roomId", f.ID); err != nil {
		return human(lang, shared.EventRoom, f.Command, err.Code, err.Message)
	}
	if f.Command == shared.RoomCreate || f.Command == shared.RoomUpdate {
		if f.Name == "" {
			return human(lang, shared.EventRoom, f.Command, shared.CodeBadRequest, "invalid roomName: required")
		}
		if err := shared.ValidText("roomName", f.Name, shared.MaxRoomName); err != nil {
			return human(lang, shared.EventRoom, f.Command, err.Code, err.Message)
		}
	}
	return ""
}

// sendForm is the value of the send action.
type sendForm struct {
	Recipient, Command, Text string
}

// checkSend checks a message with the server's rules and returns it in
// canonical form; the string is the human error, "" when fine.
func checkSend(lang string, f sendForm) (sendForm, string) {
	f.Recipient = strings.TrimSpace(f.Recipient)
	var err *shared.Error
	switch f.Command {
	case shared.CommandChat:
		if shared.Fold(f.Recipient) == shared.Fold(shared.All) {
			f.Recipient = shared.All
		} else {
			err = shared.ValidUserID("recepient", f.Recipient)
		}
	case shared.CommandGroupchat:
		err = shared.ValidRoomID("recepient", f.Recipient)
	default:
		err = shared.BadRequest("command", "expected chat or groupchat")
	}
	if err == nil {
		if strings.TrimSpace(f.Text) == "" {
			err = shared.BadRequest("data", "empty")
		} else {
			err = shared.ValidMessageText(f.Text, shared.DefaultMaxText)
		}
	}
	if err != nil {
		return f, human(lang, shared.EventMessage, "", err.Code, err.Message)
	}
	return f, ""
}

// Send queues a message in the outbox (persisted at once) and sends it if
// the socket is logged in; otherwise it goes out after the reconnect.
func (s *service) Send(f sendForm) {
	s.mu.Lock()
	if s.m.me == nil {
		s.setNoticeLocked("send", "err.login.first", true)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	f, n := checkSend(s.lang, f)
	if n != "" {
		s.setErrorLocked("send", n)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	s.m.outbox = append(s.m.outbox, outgoing{
		CID: newCID(), Recipient: f.Recipient, Command: f.Command, Data: f.Text,
		Created: shared.FormatTime(time.Now()),
	})
	s.saveOutboxLocked()
	if s.ready && s.authed {
		delete(s.notices, "send")
	} else {
		s.setNoticeLocked("send", "queued", false)
	}
	gen := s.gen
	frames := s.outboxFramesLocked()
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frames...)
}

// newCID returns a random client message id.
func newCID() string {
	var b [12]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Select opens a conversation in #result.
func (s *service) Select(conv string) {
	s.mu.Lock()
	s.m.selectConv(conv)
	gen := s.gen
	frame := s.historyFrameLocked(conv)
	s.changedLocked()
	s.mu.Unlock()
	if frame != nil {
		s.write(gen, frame)
	}
}

// Connect points the client at another server (or the same one again).
func (s *service) Connect(hostName, port string) {
	s.mu.Lock()
	hostName = strings.TrimSpace(hostName)
	port = strings.TrimSpace(port)
	if hostName == "" {
		hostName = pageHost
	}
	if port == pagePort && isLoopback(hostName) && isLoopback(pageHost) {
		// "localhost" typed on a page from 127.0.0.1 is the same server; the
		// page's own name keeps the WebSocket's Origin and Host equal, which
		// the server requires.
		hostName = pageHost
	}
	changed := hostName != s.hostName || port != s.port
	s.hostName, s.port = hostName, port
	s.saveSessionLocked()
	if !changed && s.state == stateConnected {
		s.setNoticeLocked("connect", "connect.same", false)
	} else {
		s.setNoticeLocked("connect", "connect.retry", false)
	}
	s.changedLocked()
	s.mu.Unlock()
	if changed {
		select {
		case s.abort <- struct{}{}:
		default:
		}
	}
	s.Kick()
}

func isLoopback(h string) bool {
	h = strings.Trim(strings.ToLower(h), "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
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
	s.notices = map[string]notice{} // their language is the old one
	s.changedLocked()
}
