package app

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// Connection states, rendered as data-state on #status.
const (
	stateConnected  = "connected"
	stateConnecting = "connecting"
	stateOffline    = "offline"
)

// Reconnect timing: exponential backoff with full jitter, the first retry
// within backoffBase, never waiting longer than backoffCap.
const (
	backoffBase = time.Second
	backoffCap  = 10 * time.Second
	// dialTimeout bounds the WebSocket handshake plus the Engine.IO open
	// packet.
	dialTimeout = 10 * time.Second
	// offlinePoll is how often the loop looks again while the browser says
	// it is offline and no online event came.
	offlinePoll = 30 * time.Second
	// retryLater is the pause before a message refused with 429 or 500 is
	// sent again.
	retryLater = 2 * time.Second
	// historyLimit is how many messages a conversation loads when it opens.
	historyLimit = 50
)

// backoff returns the pause before reconnect attempt n (0 = the first
// retry): a uniformly random duration in [0, min(cap, base·2ⁿ)) ("full
// jitter"). r returns a float in [0, 1).
func backoff(n int, r func() float64) time.Duration {
	ceil := backoffCap
	if n < 8 {
		ceil = min(backoffCap, backoffBase<<n)
	}
	return time.Duration(r() * float64(ceil))
}

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
}

// Request kinds awaiting an ack.
const (
	reqLogin   = "login"
	reqLogout  = "logout"
	reqRoom    = "room"
	reqMessage = "message"
	reqHistory = "history"
)

type pendingAck struct {
	kind    string
	gen     int64
	cid     string // reqMessage
	roomCmd string // reqRoom
	roomID  string // reqRoom
	conv    string // reqHistory
	offset  bool   // reqLogin: the request carried an offset
}

// Errors that end a connection.
var (
	errDead       = errors.New("no ping from the server within pingInterval+pingTimeout")
	errRetryNow   = errors.New("reconnect at once")
	errServerGone = errors.New("the server closed the connection")
)

// service is the one connection of the app (GOAPP.md §4): it dials the
// server, speaks Engine.IO/Socket.IO through package shared, keeps the
// model, persists what must survive a reload, and publishes a View after
// every change. One service lives for the whole page; components talk to
// it through go-app actions (browser.go).
//
// Goroutines: the run loop owns the connection and handles every frame it
// reads; the public methods run on action goroutines. mu guards every field
// below it; wmu orders writes on the socket (taken before mu, never while
// holding it).
type service struct {
	h host

	kick  chan struct{} // wake the run loop: online, visible, connect
	abort chan struct{} // end the current connection (new target)
	rnd   func() float64

	wmu sync.Mutex

	mu       sync.Mutex
	m        *model
	owner    string // folded id whose data m holds ("" none)
	token    string
	lastID   string
	lang     string
	hostName string
	port     string
	secure   bool // wss

	state   string
	connErr string
	netDown bool            // waiting for the browser to be online
	conn    *websocket.Conn // nil unless a Socket.IO session is open
	gen     int64           // generation of conn
	ready   bool            // CONNECT accepted on conn
	authed  bool            // conn is logged in
	nextAck int64
	acks    map[int64]pendingAck
	notices map[string]notice // area ("connect", "login", "room", "send") → notice
	queued  bool              // a publish is scheduled
	dirty   bool              // the cache must be written
	started bool

	waitingLogin *loginForm // pressed before the socket was up
}

func newService(h host) *service {
	return &service{
		h:       h,
		kick:    make(chan struct{}, 1),
		abort:   make(chan struct{}, 1),
		rnd:     rand.Float64,
		m:       newModel(),
		lang:    langEN,
		state:   stateOffline,
		acks:    map[int64]pendingAck{},
		notices: map[string]notice{},
	}
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
	go s.run(ctx)
}

// changedLocked schedules one publish (and cache write) for any number of
// changes. s.mu must be held.
func (s *service) changedLocked() {
	if s.queued {
		return
	}
	s.queued = true
	s.h.schedule(s.flush)
}

// flush writes the cache if needed and publishes the View.
func (s *service) flush() {
	s.mu.Lock()
	s.queued = false
	if s.dirty {
		s.dirty = false
		s.saveCacheLocked()
	}
	v := s.viewLocked()
	s.mu.Unlock()
	s.h.publish(v)
}

func (s *service) setNoticeLocked(area, key string, isErr bool) {
	s.notices[area] = notice{Text: tr(s.lang, key), Error: isErr}
}

func (s *service) setErrorLocked(area, text string) {
	s.notices[area] = notice{Text: text, Error: true}
}

// Kick makes the loop reconnect now if it is waiting: the browser came
// back online, or the tab became visible.
func (s *service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run is the connection loop.
func (s *service) run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		if !s.h.online() {
			s.setNetDown(true)
			s.wait(ctx, offlinePoll)
			continue
		}
		s.setNetDown(false)
		s.setState(stateConnecting, "")
		select { // a kick from before this attempt is stale
		case <-s.kick:
		default:
		}
		established, err := s.session(ctx)
		if established {
			attempt = 0
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRetryNow) {
			continue
		}
		s.setState(stateOffline, errText(err))
		s.wait(ctx, backoff(attempt, s.rnd))
		attempt++
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (s *service) wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.kick:
	case <-s.abort:
	case <-ctx.Done():
	}
}

func (s *service) setNetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if down {
		s.state, s.connErr = stateOffline, ""
	}
	if s.netDown != down || down {
		s.netDown = down
		s.changedLocked()
	}
}

func (s *service) setState(st, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == st && s.connErr == why {
		return
	}
	s.state, s.connErr = st, why
	s.changedLocked()
}

// socketURL is the Engine.IO WebSocket endpoint of the target.
func (s *service) socketURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	scheme := "ws"
	if s.secure {
		scheme = "wss"
	}
	host := s.hostName
	if s.port != "" {
		host = net.JoinHostPort(s.hostName, s.port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + "/socket.io/?EIO=4&transport=websocket"
}

// session runs one connection: dial, open packet, CONNECT, then frames
// until it ends. established reports whether CONNECT was accepted.
func (s *service) session(ctx context.Context) (established bool, err error) {
	select { // an abort from before this connection is stale
	case <-s.abort:
	default:
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, _, err := websocket.Dial(dctx, s.socketURL(), nil)
	cancel()
	if err != nil {
		return false, err
	}
	c.SetReadLimit(-1) // history answers can be large; the server bounds them

	// The reader goroutine hands frames over. A browser WebSocket's Close
	// waits for the closing handshake, which a dead link never completes,
	// so this loop never waits for Read or Close: it just leaves.
	frames := make(chan []byte, 64)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		for {
			typ, b, err := c.Read(context.Background())
			if err != nil {
				readErr <- err
				return
			}
			if typ != websocket.MessageText {
				continue
			}
			select {
			case frames <- b:
			case <-done:
				return
			}
		}
	}()

	s.mu.Lock()
	s.gen++
	gen := s.gen
	s.mu.Unlock()
	defer func() {
		close(done)
		s.ended(gen)
		go c.CloseNow()
	}()

	// The open packet gives the heartbeat timing.
	var open shared.EngineOpen
	t := time.NewTimer(dialTimeout)
	defer t.Stop()
	select {
	case b := <-frames:
		if open, err = shared.ParseEngineOpen(b); err != nil {
			return false, err
		}
	case err := <-readErr:
		return false, err
	case <-t.C:
		return false, errors.New("no open packet")
	case <-ctx.Done():
		return false, ctx.Err()
	}
	dead := time.Duration(open.PingInterval+open.PingTimeout) * time.Millisecond
	t.Reset(dead)

	s.mu.Lock()
	s.conn = c
	connect := s.connectFrameLocked()
	s.mu.Unlock()
	s.write(gen, connect)

	for {
		select {
		case b := <-frames:
			if len(b) == 0 {
				continue
			}
			switch b[0] {
			case shared.EIOPing:
				t.Reset(dead)
				s.write(gen, []byte{shared.EIOPong})
			case shared.EIOClose:
				return established, errServerGone
			case shared.EIOMessage:
				ok, err := s.packet(gen, b[1:])
				established = established || ok
				if err != nil {
					return established, err
				}
			}
		case err := <-readErr:
			return established, err
		case <-t.C:
			return established, errDead
		case <-s.abort:
			return established, errRetryNow
		case <-ctx.Done():
			return established, ctx.Err()
		}
	}
}

// connectFrameLocked is the Socket.IO CONNECT, with the session token and
// offset when there is one. s.mu must be held.
func (s *service) connectFrameLocked() []byte {
	if s.token == "" {
		return []byte("40")
	}
	off, _ := json.Marshal(s.m.offset) // a quoted decimal string
	b, _ := json.Marshal(shared.Auth{Token: s.token, Offset: off})
	return append([]byte("40"), b...)
}

// ended forgets connection gen: requests in flight on it are failed or
// will be sent again.
func (s *service) ended(gen int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.conn, s.ready, s.authed = nil, false, false
	}
	for id, a := range s.acks {
		if a.gen != gen {
			continue
		}
		delete(s.acks, id)
		switch a.kind {
		case reqLogin:
			s.setNoticeLocked("login", "err.lost", true)
		case reqRoom:
			s.setNoticeLocked("room", "err.lost", true)
		}
	}
	for i := range s.m.outbox {
		if s.m.outbox[i].sentIn == gen {
			s.m.outbox[i].sentIn = 0
		}
	}
	s.changedLocked()
}

// write sends frames on connection gen, if it is still the current one.
func (s *service) write(gen int64, frames ...[]byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	c := s.conn
	if s.gen != gen {
		c = nil
	}
	s.mu.Unlock()
	if c == nil {
		return
	}
	for _, f := range frames {
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		err := c.Write(ctx, websocket.MessageText, f)
		cancel()
		if err != nil {
			return // the read side notices the end
		}
	}
}

// request builds the frame of a request with an ack id and records what to
// do with the answer. s.mu must be held; write the frame after unlocking.
func (s *service) requestLocked(name string, payload any, a pendingAck) []byte {
	s.nextAck++
	id := s.nextAck
	a.gen = s.gen
	s.acks[id] = a
	data, err := json.Marshal([]any{name, payload})
	if err != nil { // plain structs of strings: cannot fail
		panic("chatapp: encode request: " + err.Error())
	}
	return append([]byte{shared.EIOMessage}, shared.AppendPacket(nil, shared.Packet{
		Type: shared.PacketEvent, ID: id, Data: data,
	})...)
}

// packet handles one Socket.IO packet. connected reports an accepted
// CONNECT; an error ends the connection.
func (s *service) packet(gen int64, data []byte) (connected bool, err error) {
	p, err := shared.DecodePacket(data)
	if err != nil || p.Nsp != "/" {
		return false, nil // not ours to judge; the server is the authority
	}
	switch p.Type {
	case shared.PacketConnect:
		s.connected(gen)
		return true, nil
	case shared.PacketConnectError:
		return false, s.connectError(p.Data)
	case shared.PacketDisconnect:
		return false, errServerGone
	case shared.PacketEvent:
		name, args, err := shared.EventArgs(p.Data)
		if err != nil || len(args) == 0 {
			return false, nil
		}
		s.event(gen, name, args[0])
	case shared.PacketAck:
		var args []shared.Response
		if json.Unmarshal(p.Data, &args) != nil || len(args) == 0 {
			return false, nil
		}
		s.answer(gen, p.ID, args[0])
	}
	return false, nil
}

// connected: CONNECT accepted. With a token the socket is logged in and the
// server follows with the lists and the replay.
func (s *service) connected(gen int64) {
	s.mu.Lock()
	s.ready = true
	s.state, s.connErr = stateConnected, ""
	delete(s.notices, "connect")
	s.authed = s.token != "" && s.m.me != nil
	var frames [][]byte
	switch {
	case s.authed:
		frames = s.afterAuthLocked()
	case s.waitingLogin != nil:
		frames = append(frames, s.loginFrameLocked(*s.waitingLogin))
	}
	s.waitingLogin = nil
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frames...)
}

// afterAuthLocked returns the frames to send once the socket is logged
// in: the outbox, then the history of the open conversation. The
// all-messages view loads no history: it shows what this browser received
// and sent (the cache keeps it across reloads, the replay fills gaps).
func (s *service) afterAuthLocked() [][]byte {
	frames := s.outboxFramesLocked()
	if f := s.historyFrameLocked(s.m.selected); f != nil {
		frames = append(frames, f)
	}
	return frames
}

// outboxFramesLocked marks every waiting outbox entry as sent on the
// current connection and returns their frames, oldest first.
func (s *service) outboxFramesLocked() [][]byte {
	if !s.ready || !s.authed {
		return nil
	}
	var frames [][]byte
	for i := range s.m.outbox {
		o := &s.m.outbox[i]
		if o.sentIn == s.gen {
			continue
		}
		o.sentIn = s.gen
		frames = append(frames, s.requestLocked(shared.EventMessage, shared.SendMessage{
			Recipient: o.Recipient, Command: o.Command, Type: shared.TypeText, Data: o.Data, CID: o.CID,
		}, pendingAck{kind: reqMessage, cid: o.CID}))
	}
	return frames
}

// historyFrameLocked asks for the newest messages of conv once per page
// load; nil when there is nothing to ask.
func (s *service) historyFrameLocked(conv string) []byte {
	if conv == convEverything || s.m.fetched[conv] || !s.authed {
		return nil
	}
	req := shared.HistoryRequest{Limit: json.RawMessage(strconv.Itoa(historyLimit))}
	switch {
	case conv == convAll:
		req.Target, req.Command = shared.All, shared.CommandChat
	case strings.HasPrefix(conv, "r:"):
		req.Target, req.Command = s.roomIDLocked(conv[2:]), shared.CommandGroupchat
	case strings.HasPrefix(conv, "u:"):
		req.Target, req.Command = s.userIDLocked(conv[2:]), shared.CommandChat
	default:
		return nil
	}
	s.m.fetched[conv] = true // at most one request in flight
	return s.requestLocked(shared.EventHistory, req, pendingAck{kind: reqHistory, conv: conv})
}

func (s *service) roomIDLocked(key string) string {
	for _, r := range s.m.rooms {
		if shared.Fold(r.ID) == key {
			return r.ID
		}
	}
	return key
}

func (s *service) userIDLocked(key string) string {
	if p, ok := s.m.people[key]; ok {
		return p.ID
	}
	return key
}

// connectError: the server refused CONNECT.
func (s *service) connectError(data json.RawMessage) error {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) != nil {
		json.Unmarshal(data, &e.Message) // a plain string
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Message {
	case "invalid session":
		// The token is unknown, expired or revoked: forget it and connect
		// without. The messages stay for when the same user logs in again.
		s.token = ""
		s.m.me = nil
		s.saveSessionLocked()
		s.setNoticeLocked("login", "err.session", true)
	case "invalid offset":
		s.m.offset = 0
	default:
		s.connErr = e.Message
		s.changedLocked()
		return errors.New("connect refused: " + e.Message)
	}
	s.changedLocked()
	return errRetryNow
}

// event handles a server event.
func (s *service) event(gen int64, name string, arg json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case shared.EventMessage:
		var msg shared.Message
		if json.Unmarshal(arg, &msg) != nil || s.m.me == nil {
			return
		}
		n := len(s.m.outbox)
		s.m.received(msg)
		s.dirty = true
		if len(s.m.outbox) != n {
			s.saveOutboxLocked()
		}
	case shared.EventRoom:
		var ev shared.RoomEvent
		if json.Unmarshal(arg, &ev) != nil {
			return
		}
		switch ev.Command {
		case shared.RoomList:
			s.m.setRooms(ev.Rooms)
		case shared.RoomDeleted:
			s.m.roomDeleted(ev.RoomID)
		}
		s.dirty = true
	case shared.EventPresence:
		var p shared.Presence
		if json.Unmarshal(arg, &p) != nil {
			return
		}
		s.m.presence(p)
		s.dirty = true
	default: // "response" without an ack id: a 206 before a capped replay; nothing to do
		return
	}
	s.changedLocked()
}

// answer handles the ack of one of our requests.
func (s *service) answer(gen int64, id int64, r shared.Response) {
	s.mu.Lock()
	a, ok := s.acks[id]
	delete(s.acks, id)
	if !ok {
		s.mu.Unlock()
		return
	}
	var frames [][]byte
	switch a.kind {
	case reqLogin:
		frames = s.loginAnswerLocked(a, r)
	case reqLogout:
		// Local state was cleared when the request was sent.
	case reqRoom:
		s.roomAnswerLocked(a, r)
	case reqMessage:
		s.messageAnswerLocked(a, r)
	case reqHistory:
		switch r.Code {
		case shared.CodeOK:
			for _, msg := range r.Messages {
				s.m.addMessage(msg, false)
			}
			s.dirty = true
		case shared.CodeForbidden:
			if strings.HasPrefix(a.conv, "r:") {
				s.m.member[a.conv[2:]] = false
			}
			s.m.fetched[a.conv] = false
		default:
			s.m.fetched[a.conv] = false
		}
	}
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frames...)
}

func (s *service) loginAnswerLocked(a pendingAck, r shared.Response) [][]byte {
	if r.Code != shared.CodeOK || r.User == nil {
		s.setErrorLocked("login", human(s.lang, shared.EventLogin, "", r.Code, r.Message))
		return nil
	}
	u := *r.User
	key := shared.Fold(u.ID)
	if s.owner != key { // another user's data must not show
		s.m.reset()
		s.owner = key
		s.saveOutboxLocked()
	}
	s.m.me = &u
	s.token, s.lastID = r.Token, u.ID
	if off, err := shared.ParseSeq(r.Offset); err == nil && !a.offset && off > s.m.offset {
		s.m.offset = off // nothing is replayed; start from now
	}
	s.authed = true
	s.setNoticeLocked("login", "logged.in", false)
	s.dirty = true
	s.saveSessionLocked()
	return s.afterAuthLocked()
}

func (s *service) roomAnswerLocked(a pendingAck, r shared.Response) {
	if r.Code != shared.CodeOK {
		s.setErrorLocked("room", human(s.lang, shared.EventRoom, a.roomCmd, r.Code, r.Message))
		return
	}
	s.setNoticeLocked("room", "room.done."+a.roomCmd, false)
	k := shared.Fold(a.roomID)
	switch a.roomCmd {
	case shared.RoomCreate, shared.RoomJoin:
		s.m.member[k] = true
		delete(s.m.fetched, roomConv(a.roomID)) // readable now
	case shared.RoomLeave:
		s.m.member[k] = false
	case shared.RoomDelete:
		s.m.roomDeleted(a.roomID)
	}
	s.dirty = true
}

func (s *service) messageAnswerLocked(a pendingAck, r shared.Response) {
	switch r.Code {
	case shared.CodeOK:
		seq, err := shared.ParseSeq(r.Seq)
		if err != nil {
			return
		}
		s.m.acked(a.cid, seq, r.Time)
		s.saveOutboxLocked()
		s.dirty = true
		if n, ok := s.notices["send"]; ok && !n.Error {
			delete(s.notices, "send")
		}
	case shared.CodeTooManyRequests, shared.CodeInternal, shared.CodeUnauthorized:
		// Kept; sent again after a pause or after the next login.
		for i := range s.m.outbox {
			if s.m.outbox[i].CID == a.cid {
				s.m.outbox[i].sentIn = 0
			}
		}
		if r.Code != shared.CodeUnauthorized {
			s.setErrorLocked("send", human(s.lang, shared.EventMessage, "", r.Code, r.Message))
			time.AfterFunc(retryLater, s.flushOutbox)
		}
	default:
		o, _ := s.m.findOutgoing(a.cid)
		s.m.dropOutgoing(a.cid)
		s.saveOutboxLocked()
		text := human(s.lang, shared.EventMessage, "", r.Code, r.Message)
		if o.Data != "" {
			text += " — “" + clip(o.Data, 40) + "”"
		}
		s.setErrorLocked("send", text)
		if r.Code == shared.CodeForbidden && o.Command == shared.CommandGroupchat {
			s.m.member[shared.Fold(o.Recipient)] = false
		}
	}
}

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// flushOutbox sends what waits in the outbox, if the socket is logged in.
func (s *service) flushOutbox() {
	s.mu.Lock()
	gen := s.gen
	frames := s.outboxFramesLocked()
	s.mu.Unlock()
	s.write(gen, frames...)
}
