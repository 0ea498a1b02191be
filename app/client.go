package app

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
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

// kv is the part of localStorage the client uses; go-app's
// app.BrowserStorage satisfies it (values are stored as JSON).
type kv interface {
	Set(k string, v any) error
	Get(k string, v any) error
	Del(k string)
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

// localStorage keys.
const (
	keySession = "chatapp.session"
	keyOutbox  = "chatapp.outbox"
	keyCache   = "chatapp.cache"
	keyLang    = "chatapp.lang"
)

// savedSession is what survives a reload besides the outbox and the cache.
type savedSession struct {
	Token  string          `json:"token,omitempty"`
	User   *shared.Profile `json:"user,omitempty"`
	Offset shared.Seq      `json:"offset,omitempty"`
	LastID string          `json:"lastId,omitempty"`
	Host   string          `json:"host,omitempty"`
	Port   string          `json:"port,omitempty"`
}

// savedCache is the local copy of the last messages of each conversation
// and of the lists, so the app shows them offline. It is in localStorage,
// not in the service worker's cache, which go-app empties on every update.
type savedCache struct {
	Owner  string                      `json:"owner"` // folded user id
	Convs  map[string][]shared.Message `json:"convs,omitempty"`
	Rooms  []shared.RoomInfo           `json:"rooms,omitempty"`
	Member map[string]bool             `json:"member,omitempty"`
	People []shared.PresenceUser       `json:"people,omitempty"`
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

	state    string
	connErr  string
	conn     *websocket.Conn // nil unless a Socket.IO session is open
	gen      int64           // generation of conn
	ready    bool            // CONNECT accepted on conn
	authed   bool            // conn is logged in
	nextAck  int64
	acks     map[int64]pendingAck
	notices  map[string]notice // area ("connect", "login", "room", "send") → notice
	queued   bool              // a publish is scheduled
	dirty    bool              // the cache must be written
	started  bool
	loginFor string // id of the login request in flight
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

// load reads localStorage. s.mu must be held.
func (s *service) load(pageURL *url.URL, lang string) {
	st := s.h.storage()
	s.lang = pickLang(lang)
	var l string
	if st.Get(keyLang, &l) == nil && (l == langEN || l == langKO) {
		s.lang = l
	}
	if pageURL != nil {
		s.secure = pageURL.Scheme == "https"
		s.hostName, s.port = pageURL.Hostname(), pageURL.Port()
	}
	var ss savedSession
	if err := st.Get(keySession, &ss); err == nil {
		s.token, s.lastID = ss.Token, ss.LastID
		if ss.Host != "" {
			s.hostName, s.port = ss.Host, ss.Port
		}
		if ss.User != nil && ss.Token != "" {
			u := *ss.User
			s.m.me = &u
			s.owner = shared.Fold(u.ID)
		}
		s.m.offset = ss.Offset
	}
	var c savedCache
	if err := st.Get(keyCache, &c); err == nil && c.Owner != "" && (s.owner == "" || s.owner == c.Owner) {
		s.owner = c.Owner
		me := s.m.me
		if me == nil { // the session ended but the data is kept for the same user
			s.m.me = &shared.Profile{ID: c.Owner}
		}
		s.m.restoreCache(c.Convs)
		s.m.me = me
		s.m.rooms = c.Rooms
		if c.Member != nil {
			s.m.member = c.Member
		}
		for _, p := range c.People {
			p.Online = false // unknown until the server says
			s.m.people[shared.Fold(p.ID)] = p
		}
	}
	var out []outgoing
	if err := st.Get(keyOutbox, &out); err == nil && s.owner != "" {
		s.m.outbox = out
	}
}

// saveSessionLocked writes the session. s.mu must be held.
func (s *service) saveSessionLocked() {
	ss := savedSession{Token: s.token, LastID: s.lastID, Offset: s.m.offset}
	if s.token != "" {
		ss.User = s.m.me
	}
	if !s.isPageTarget() {
		ss.Host, ss.Port = s.hostName, s.port
	}
	s.h.storage().Set(keySession, ss)
}

// pageHost and pagePort are the page's own origin, set by the browser glue;
// a target equal to them is not stored, so a moved server is followed.
var pageHost, pagePort string

func (s *service) isPageTarget() bool { return s.hostName == pageHost && s.port == pagePort }

func (s *service) saveOutboxLocked() {
	if len(s.m.outbox) == 0 {
		s.h.storage().Del(keyOutbox)
		return
	}
	s.h.storage().Set(keyOutbox, s.m.outbox)
}

func (s *service) saveCacheLocked() {
	if s.owner == "" {
		s.h.storage().Del(keyCache)
		return
	}
	s.h.storage().Set(keyCache, savedCache{
		Owner:  s.owner,
		Convs:  s.m.cacheSnapshot(),
		Rooms:  s.m.rooms,
		Member: s.m.member,
		People: s.m.sortedPeople(),
	})
	// The offset goes with the messages it covers, after them.
	s.saveSessionLocked()
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
			s.setState(stateOffline, "")
			s.wait(ctx, offlinePoll)
			continue
		}
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
			s.loginFor = ""
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
	if s.authed {
		frames = s.afterAuthLocked()
	}
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frames...)
}

// afterAuthLocked returns the frames to send once the socket is logged
// in: the outbox, then the history of the open conversations.
func (s *service) afterAuthLocked() [][]byte {
	frames := s.outboxFramesLocked()
	for _, conv := range []string{convAll, s.m.selected} {
		if f := s.historyFrameLocked(conv); f != nil {
			frames = append(frames, f)
		}
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
	s.loginFor = ""
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

// loginForm is the value of the login action.
type loginForm struct {
	ID, Password, Alias, Today string
}

// Login sends a login request.
func (s *service) Login(f loginForm) {
	s.mu.Lock()
	f.ID = strings.TrimSpace(f.ID)
	if n := checkLogin(s.lang, f); n != "" {
		s.setErrorLocked("login", n)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
	if !s.ready {
		s.setNoticeLocked("login", "err.offline", true)
		s.changedLocked()
		s.mu.Unlock()
		return
	}
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
	s.loginFor = f.ID
	s.lastID = f.ID
	s.setNoticeLocked("login", "logging.in", false)
	gen := s.gen
	frame := s.requestLocked(shared.EventLogin, req, a)
	s.changedLocked()
	s.mu.Unlock()
	s.write(gen, frame)
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
