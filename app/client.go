package app

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"sync"
	"time"

	"chatapp/shared"
)

const (
	// retryLater is the pause before a message refused with 429 or 500 is
	// sent again.
	retryLater = 2 * time.Second
	// publishGap is the least time between two Views: a replay of hundreds
	// of messages re-renders the page a few times, not once per message.
	publishGap = 100 * time.Millisecond
)

// host is what the service needs from where it runs: the browser glue in
// browser.go, or a test.
type host interface {
	// schedule runs f soon on the UI goroutine. It must not run f before
	// returning: the service calls it with its lock held.
	schedule(f func())
	// publish hands a new View to the components; called from a scheduled f.
	publish(v View)
	storage() kv
	// online reports navigator.onLine.
	online() bool
	// notify shows a browser notification (if the browser allows them);
	// called from a scheduled f.
	notify(n note)
}

// service is the chat client of the page: it keeps the model of one
// server's chat, sends the requests the components post (requests.go),
// applies what the server sends, persists what must survive a reload
// (storage.go), and publishes a View after every change. The connection
// itself is the link's (link.go), the ack bookkeeping the calls' (calls.go).
// One service lives for the whole page; components talk to it through
// go-app actions (browser.go).
//
// Goroutines: the link's loop calls the linkOwner methods; the public
// methods run on action goroutines. mu guards every field below it. Frames
// are written after unlocking (link.write orders them).
type service struct {
	h    host
	link *link

	mu        sync.Mutex
	m         *model
	calls     calls
	page      target // the page's own server: the default target
	target    target // the server; its origin keys what is stored
	owner     string // folded id whose data m holds ("" none)
	token     string // the session token of owner on target
	lastID    string
	lang      string
	state     string
	connErr   error // why the last connection attempt failed
	netDown   bool  // waiting for the browser to be online
	gen       int64 // the connection CONNECT was accepted on; 0 when none
	authed    bool  // that connection is logged in
	notices   map[string]notice
	done      map[string]int // requests answered 200, by notice area: the page closes the dialog that sent one
	outq      [][]byte       // frames a callback asked to send, written after unlocking
	queued    bool           // a publish is scheduled
	published time.Time      // when the last View was built
	dirty     bool           // the cache must be written
	started   bool
	// replayFrom is the offset the current connection asked to be
	// replayed from (0: none): the session event's conversations count
	// what that replay brings.
	replayFrom shared.Seq
	typingSent map[conv]time.Time // when typing was last sent, per conversation
	notifyOn   bool               // the person turned notifications on
	notes      []note             // notifications to show at the next publish

	waitingLogin *loginForm // pressed before the socket was up
}

func newService(h host) *service {
	s := &service{
		h:          h,
		m:          newModel(),
		lang:       langEN,
		state:      stateOffline,
		notices:    map[string]notice{},
		done:       map[string]int{},
		typingSent: map[conv]time.Time{},
	}
	s.link = newLink(s, h.online)
	return s
}

// start loads what the last page left in localStorage, publishes it, and
// runs the connection loop until ctx ends. pageURL is the page's address
// (the default server); lang is the browser's language. Only the first
// call does anything.
func (s *service) start(ctx context.Context, pageURL *url.URL, lang string) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return
	}
	s.started = true
	s.load(pageURL, lang)
	s.changedLocked()
	s.mu.Unlock()
	go s.link.run(ctx)
}

// Kick makes the link reconnect now if it is waiting.
func (s *service) Kick() { s.link.Kick() }

// changedLocked schedules one publish (and cache write) for any number of
// changes. s.mu must be held.
func (s *service) changedLocked() {
	if s.queued {
		return
	}
	s.queued = true
	if wait := publishGap - time.Since(s.published); wait > 0 {
		time.AfterFunc(wait, func() { s.h.schedule(s.flush) })
		return
	}
	s.h.schedule(s.flush)
}

// flush writes the cache if needed and publishes the View.
func (s *service) flush() {
	s.mu.Lock()
	s.queued = false
	s.published = time.Now()
	if s.dirty {
		s.dirty = false
		s.saveCacheLocked()
	}
	v := s.viewLocked()
	notes := s.notes
	s.notes = nil
	s.mu.Unlock()
	s.h.publish(v)
	for _, n := range notes {
		s.h.notify(n)
	}
}

// requestLocked records a request on the logged-in connection and returns
// its frame and that connection; done runs with s.mu held. With no
// connection the request fails at once with codeLost. s.mu must be held;
// write the frame after unlocking.
func (s *service) requestLocked(name string, payload any, done func(shared.Response)) (int64, []byte) {
	if s.gen == 0 {
		done(shared.Response{Code: codeLost})
		return 0, nil
	}
	return s.gen, s.calls.frame(s.gen, name, payload, done)
}

// The linkOwner side: what the connection reports.

func (s *service) dialTarget() (string, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replayFrom = 0
	if s.token == "" {
		return s.target.socketURL(), []byte("40")
	}
	s.replayFrom = s.m.offset
	off, _ := json.Marshal(s.m.offset) // a quoted decimal string
	b, _ := json.Marshal(shared.Auth{Token: s.token, Offset: off})
	return s.target.socketURL(), append([]byte("40"), b...)
}

func (s *service) linkState(state string, why error, netDown bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == state && s.connErr == why && s.netDown == netDown {
		return
	}
	s.state, s.connErr, s.netDown = state, why, netDown
	if state == stateConnected {
		delete(s.notices, "connect")
	}
	s.changedLocked()
}

// connected: CONNECT accepted. With a token the socket is logged in and the
// server follows with the lists and the replay.
func (s *service) connected(gen int64) {
	s.mu.Lock()
	s.gen = gen
	s.authed = s.token != "" && s.m.me != nil
	var frames [][]byte
	switch {
	case s.authed:
		frames = s.afterAuthLocked()
	case s.waitingLogin != nil:
		_, f := s.loginFrameLocked(*s.waitingLogin)
		frames = append(frames, f)
	}
	s.waitingLogin = nil
	s.changedLocked()
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// refused: the server refused CONNECT.
func (s *service) refused(gen int64, message string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedLocked()
	switch message {
	case "invalid session":
		// The token is unknown, expired or revoked: forget it and connect
		// without. The messages stay for when the same user logs in again.
		s.token = ""
		s.m.me = nil
		s.saveSessionLocked()
		s.notices["login"] = failure("err.session")
		return true
	case "invalid offset":
		s.m.offset = 0
		return true
	}
	return false
}

// ended forgets connection gen: requests in flight on it fail with
// codeLost, and the outbox waits for the next one.
func (s *service) ended(gen int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.gen, s.authed = 0, false
	}
	for _, done := range s.calls.lost(gen) {
		done(shared.Response{Code: codeLost})
	}
	for i := range s.m.outbox {
		if s.m.outbox[i].sentIn == gen {
			s.m.outbox[i].sentIn = 0
		}
	}
	for _, t := range s.m.convs {
		t.loading = false
	}
	s.changedLocked()
}

func (s *service) ack(gen int64, id int64, r shared.Response) {
	s.mu.Lock()
	done, ok := s.calls.answer(id)
	if ok {
		done(r)
		s.changedLocked()
	}
	frames := s.outq
	s.outq = nil
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// event handles a server event.
func (s *service) event(gen int64, name string, arg json.RawMessage) {
	s.mu.Lock()
	if s.eventLocked(name, arg) {
		s.dirty = true
		s.changedLocked()
	}
	frames := s.outq
	s.outq = nil
	s.mu.Unlock()
	s.link.write(gen, frames...)
}

// eventLocked applies a server event and reports whether it changed
// anything. Frames to send go to s.outq. s.mu must be held.
func (s *service) eventLocked(name string, arg json.RawMessage) bool {
	switch name {
	case shared.EventMessage:
		var msg shared.Message
		if json.Unmarshal(arg, &msg) != nil || s.m.me == nil {
			return false
		}
		n := len(s.m.outbox)
		c, ok, fresh := s.m.received(msg)
		if len(s.m.outbox) != n {
			s.saveOutboxLocked()
		}
		if ok && fresh {
			s.noteLocked(c, &msg)
		}
		s.outq = append(s.outq, s.readOpenLocked()...)
	case shared.EventSession:
		var ss shared.Session
		if json.Unmarshal(arg, &ss) != nil || s.m.me == nil {
			return false
		}
		if ss.User != nil && shared.Fold(ss.User.ID) == s.m.meKey() {
			u := *ss.User
			s.m.me = &u
		}
		s.sessionFactsLocked(ss.Joined, ss.Conversations, s.replayFrom)
	case shared.EventRead:
		var rd shared.Read
		if json.Unmarshal(arg, &rd) != nil {
			return false
		}
		s.m.markRead(convNamed(rd.Target, rd.Command), rd.Seq)
	case shared.EventTyping:
		var ev shared.Typing
		if json.Unmarshal(arg, &ev) != nil {
			return false
		}
		s.typingEventLocked(ev)
		s.changedLocked()
		return false // nothing to store
	case shared.EventRoom:
		var ev shared.RoomEvent
		if json.Unmarshal(arg, &ev) != nil {
			return false
		}
		switch ev.Command {
		case shared.RoomList:
			s.m.setRooms(ev.Rooms)
		case shared.RoomDeleted:
			s.m.roomDeleted(ev.RoomID)
		case shared.RoomJoined:
			if ev.Room != nil {
				s.m.joined(*ev.Room)
			}
		case shared.RoomLeft:
			s.m.left(ev.RoomID)
		}
	case shared.EventPresence:
		var p shared.Presence
		if json.Unmarshal(arg, &p) != nil {
			return false
		}
		s.m.presence(p)
	case shared.EventResponse:
		// Without an ack id the server only sends the 206 before a capped
		// replay: the messages before it are not coming.
		var r shared.Response
		if json.Unmarshal(arg, &r) != nil || r.Command != shared.CommandRecover || r.Code != shared.CodePartial {
			return false
		}
		before, err := shared.ParseSeq(r.Before)
		if err != nil {
			return false
		}
		s.m.capped(before)
	default:
		return false
	}
	return true
}

// sessionFactsLocked applies what a login answer or the session event
// tells of the user's rooms and conversations (either may be missing from
// an older server). s.mu must be held.
func (s *service) sessionFactsLocked(joined []shared.JoinedRoom, convs []shared.Conversation, replayFrom shared.Seq) {
	if joined != nil {
		s.m.setJoined(joined)
	}
	if convs != nil {
		s.m.setConversations(convs, replayFrom)
		if s.m.newFrom == 0 {
			s.m.markNewFrom()
		}
	}
}

// readOpenLocked marks the conversation on screen read up to its newest
// event, when someone else's message arrived since its mark (the user's
// own messages and changes are never unread: a mark for them would only
// spend the request rate), and returns the frames to send. s.mu must be
// held.
func (s *service) readOpenLocked() [][]byte {
	c := s.m.selected
	meta := s.m.meta[c]
	if !s.m.open(c) || s.m.me == nil || meta.Last <= meta.Read || meta.Unread == 0 && !s.m.othersAfter(c, meta.Read) {
		return nil
	}
	s.m.markRead(c, meta.Last)
	target := c.target()
	if c.kind != kindAll {
		target = s.idOfLocked(c)
	}
	return s.enqueueLocked(outgoing{Op: opRead, CID: newCID(), Recipient: target, Command: c.command(), Seq: meta.Last})
}

// afterAuthLocked returns the frames to send once the socket is logged
// in: the outbox, then the first page of the open conversation.
func (s *service) afterAuthLocked() [][]byte {
	frames := s.outboxFramesLocked()
	if f := s.historyFrameLocked(s.m.selected, true); f != nil {
		frames = append(frames, f)
	}
	return frames
}

// historyFrameLocked asks for the next page of c: older (before its
// window) or newer (the first dropped page at the new end); nil when there
// is none to ask for or one is on its way.
func (s *service) historyFrameLocked(c conv, older bool) []byte {
	if c == everything {
		if older && s.m.allHidden() {
			s.m.allShown += pageSize // what is in memory first
			s.changedLocked()
			return nil
		}
		return s.horizonFrameLocked(older)
	}
	if !s.authed || (c.kind == kindRoom && !s.m.member[c.key]) {
		return nil
	}
	t := s.m.timeline(c)
	var before shared.Seq
	switch {
	case t.loading, older && !t.older(), !older && t.atLive():
		return nil
	case older:
		before = t.from
	default:
		before = t.newer[0]
	}
	req := shared.HistoryRequest{Target: c.target(), Command: c.command(), Limit: json.RawMessage(strconv.Itoa(pageSize))}
	if c.kind != kindAll {
		req.Target = s.idOfLocked(c)
	}
	if before > 0 {
		req.Before, _ = json.Marshal(before)
	}
	t.loading = true
	_, f := s.requestLocked(shared.EventHistory, req, func(r shared.Response) {
		t.loading = false
		switch {
		case r.Code == shared.CodeOK && s.m.convs[c] == t && t.continues(before, older):
			t.page(r.Messages, pageSize, older)
			s.dirty = true
			s.seekLocked()
		case r.Code == shared.CodeForbidden && c.kind == kindRoom:
			s.m.member[c.key] = false
		}
	})
	return f
}

// horizonFrameLocked pages "All messages": an older page of the
// conversation that sets the horizon's low end, or a newer one of the
// conversation that sets its high end.
func (s *service) horizonFrameLocked(older bool) []byte {
	low, high := s.m.horizon()
	for c, t := range s.m.convs {
		switch {
		case older && s.m.pageable(c, t) && t.from == low,
			!older && len(t.msgs) > 0 && !t.atLive() && t.msgs[len(t.msgs)-1].Seq == high:
			return s.historyFrameLocked(c, older)
		}
	}
	return nil
}

// idOfLocked returns the id of a room or user conversation as created.
func (s *service) idOfLocked(c conv) string {
	if c.kind == kindRoom {
		return s.m.roomID(c.key)
	}
	return s.m.userID(c.key)
}

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
