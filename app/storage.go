package app

import (
	"net"
	"net/url"
	"strings"

	"chatapp/shared"
)

// What the client keeps in localStorage: the language, the server it
// points at when that is not the page's, and per server origin the
// session (token, user, offset), the outbox and the cache of the last
// messages and lists. A token is only ever read back for the origin that
// issued it (issue 18: the Server fields must not hand it to another
// server).

// kv is the part of localStorage the client uses; go-app's
// app.BrowserStorage satisfies it (values are stored as JSON).
type kv interface {
	Set(k string, v any) error
	Get(k string, v any) error
	Del(k string)
}

// localStorage keys; the per-server ones end with " " and the origin.
const (
	keyLang    = "chatapp.lang"
	keyServer  = "chatapp.server"
	keySession = "chatapp.session "
	keyOutbox  = "chatapp.outbox "
	keyCache   = "chatapp.cache "
)

// target is a server: the page's own, or one typed into the Server fields.
type target struct {
	Secure bool   `json:"secure,omitempty"` // https/wss
	Host   string `json:"host"`
	Port   string `json:"port,omitempty"`
}

// origin is the key of what is stored for t: scheme, host and port, as a
// browser names an origin.
func (t target) origin() string {
	scheme := "http"
	if t.Secure {
		scheme = "https"
	}
	return scheme + "://" + t.hostPort()
}

func (t target) hostPort() string {
	if t.Port != "" {
		return net.JoinHostPort(t.Host, t.Port)
	}
	if strings.Contains(t.Host, ":") {
		return "[" + t.Host + "]"
	}
	return t.Host
}

// socketURL is the Engine.IO WebSocket endpoint of t.
func (t target) socketURL() string {
	scheme := "ws"
	if t.Secure {
		scheme = "wss"
	}
	return scheme + "://" + t.hostPort() + "/socket.io/?EIO=4&transport=websocket"
}

// typed returns the target typed into the Server fields of page p: an
// empty host is the page's; "localhost" typed on a page from 127.0.0.1
// (and the like) is the same server, named as the page names it so that
// the WebSocket's Origin and Host stay equal, which the server requires.
func (p target) typed(hostName, port string) target {
	if hostName == "" {
		hostName = p.Host
	}
	if port == p.Port && isLoopback(hostName) && isLoopback(p.Host) {
		hostName = p.Host
	}
	return target{Secure: p.Secure, Host: hostName, Port: port}
}

func isLoopback(h string) bool {
	h = strings.Trim(strings.ToLower(h), "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// savedSession is what survives a reload besides the outbox and the cache.
type savedSession struct {
	Token  string          `json:"token,omitempty"`
	User   *shared.Profile `json:"user,omitempty"`
	Offset shared.Seq      `json:"offset,omitempty"`
	LastID string          `json:"lastId,omitempty"`
}

// savedCache is the local copy of the last messages of each conversation
// and of the lists, so the app shows them offline. It is in localStorage,
// not in the service worker's cache, which go-app empties on every update.
type savedCache struct {
	Owner   string                `json:"owner"` // folded user id
	Known   shared.Seq            `json:"known,omitempty"`
	Convs   []cachedConv          `json:"convs,omitempty"`
	Meta    []cachedMeta          `json:"meta,omitempty"`
	Rooms   []shared.RoomInfo     `json:"rooms,omitempty"`
	Private []shared.RoomInfo     `json:"private,omitempty"`
	Member  map[string]bool       `json:"member,omitempty"`
	People  []shared.PresenceUser `json:"people,omitempty"`
}

// load reads the language and the target, then the target's data. s.mu
// must be held.
func (s *service) load(pageURL *url.URL, lang string) {
	st := s.h.storage()
	s.lang = pickLang(lang)
	var l string
	if st.Get(keyLang, &l) == nil && (l == langEN || l == langKO) {
		s.lang = l
	}
	var n string
	s.notifyOn = st.Get(keyNotify, &n) == nil && n == "on"
	if pageURL != nil {
		s.page = target{Secure: pageURL.Scheme == "https", Host: pageURL.Hostname(), Port: pageURL.Port()}
	}
	s.target = s.page
	var t target
	if st.Get(keyServer, &t) == nil && t.Host != "" {
		s.target = t
	}
	s.migrateLocked()
	s.loadTargetLocked()
}

// migrateLocked moves what an earlier version stored under one key for
// whatever server it pointed at to the keys of that server's origin.
// s.mu must be held.
func (s *service) migrateLocked() {
	st := s.h.storage()
	const oldSession, oldOutbox, oldCache = "chatapp.session", "chatapp.outbox", "chatapp.cache"
	var old struct {
		savedSession
		Host, Port string
	}
	if st.Get(oldSession, &old) != nil || (old.Token == "" && old.LastID == "" && old.Host == "") {
		return
	}
	t := s.page
	if old.Host != "" {
		t = target{Secure: s.page.Secure, Host: old.Host, Port: old.Port}
		s.target = t
		st.Set(keyServer, t)
	}
	o := t.origin()
	st.Set(keySession+o, old.savedSession)
	var out []outgoing
	if st.Get(oldOutbox, &out) == nil && len(out) > 0 {
		st.Set(keyOutbox+o, out)
	}
	// The old cache keyed conversations by strings; its messages are
	// dropped (they are replayed or loaded again), its lists kept.
	var c savedCache
	if st.Get(oldCache, &struct {
		Owner  *string                `json:"owner"`
		Rooms  *[]shared.RoomInfo     `json:"rooms"`
		Member *map[string]bool       `json:"member"`
		People *[]shared.PresenceUser `json:"people"`
	}{&c.Owner, &c.Rooms, &c.Member, &c.People}) == nil && c.Owner != "" {
		st.Set(keyCache+o, c)
	}
	for _, k := range []string{oldSession, oldOutbox, oldCache} {
		st.Del(k)
	}
}

// loadTargetLocked reads what is stored for s.target into a fresh model.
// s.mu must be held.
func (s *service) loadTargetLocked() {
	st := s.h.storage()
	o := s.target.origin()
	s.m = newModel()
	s.token, s.owner, s.lastID = "", "", ""
	var ss savedSession
	if st.Get(keySession+o, &ss) == nil {
		s.token, s.lastID = ss.Token, ss.LastID
		if ss.User != nil && ss.Token != "" {
			u := *ss.User
			s.m.me = &u
			s.owner = shared.Fold(u.ID)
		}
		s.m.offset = ss.Offset
	}
	var c savedCache
	if st.Get(keyCache+o, &c) == nil && c.Owner != "" && (s.owner == "" || s.owner == c.Owner) {
		s.owner = c.Owner
		me := s.m.me
		s.m.me = &shared.Profile{ID: c.Owner} // the session may have ended; the data is kept for the same user
		s.m.known = c.Known
		s.m.restoreCache(c.Convs)
		s.m.me = me
		s.m.rooms = c.Rooms
		if c.Member != nil {
			s.m.member = c.Member
		}
		for _, r := range c.Private {
			s.m.private[shared.Fold(r.ID)] = r
		}
		for _, cm := range c.Meta {
			s.m.meta[conv{kind: cm.Kind, key: cm.Key}] = cm.convMeta
		}
		for _, p := range c.People {
			s.m.people[shared.Fold(p.ID)] = p
		}
	}
	var out []outgoing
	if st.Get(keyOutbox+o, &out) == nil && s.owner != "" {
		s.m.outbox = out
	}
}

// switchTargetLocked points the service at t: the current server's data
// is already stored, t's is loaded. s.mu must be held.
func (s *service) switchTargetLocked(t target) {
	s.target = t
	if t == s.page {
		s.h.storage().Del(keyServer)
	} else {
		s.h.storage().Set(keyServer, t)
	}
	s.waitingLogin = nil // typed for the other server
	s.gen, s.authed = 0, false
	s.loadTargetLocked()
	for k := range s.notices {
		if k != "connect" {
			delete(s.notices, k)
		}
	}
}

// saveSessionLocked writes the session. s.mu must be held.
func (s *service) saveSessionLocked() {
	ss := savedSession{Token: s.token, LastID: s.lastID, Offset: s.m.offset}
	if s.token != "" {
		ss.User = s.m.me
	}
	s.h.storage().Set(keySession+s.target.origin(), ss)
}

func (s *service) saveOutboxLocked() {
	k := keyOutbox + s.target.origin()
	if len(s.m.outbox) == 0 {
		s.h.storage().Del(k)
		return
	}
	s.h.storage().Set(k, s.m.outbox)
}

func (s *service) saveCacheLocked() {
	k := keyCache + s.target.origin()
	if s.owner == "" {
		s.h.storage().Del(k)
		return
	}
	c := savedCache{
		Owner:  s.owner,
		Known:  s.m.known,
		Convs:  s.m.cacheSnapshot(),
		Rooms:  s.m.rooms,
		Member: s.m.member,
		People: s.m.sortedPeople(),
	}
	for _, r := range s.m.private {
		c.Private = append(c.Private, r)
	}
	for cv, meta := range s.m.meta {
		c.Meta = append(c.Meta, cachedMeta{Kind: cv.kind, Key: cv.key, convMeta: meta})
	}
	s.h.storage().Set(k, c)
	// The offset goes with the messages it covers, after them.
	s.saveSessionLocked()
}
