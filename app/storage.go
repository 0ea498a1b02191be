package app

import (
	"net/url"

	"chatapp/shared"
)

// What the client keeps in localStorage: the session (token, user, offset,
// a server other than the page's), the outbox, the cache of the last
// messages and lists, and the language choice.

// kv is the part of localStorage the client uses; go-app's
// app.BrowserStorage satisfies it (values are stored as JSON).
type kv interface {
	Set(k string, v any) error
	Get(k string, v any) error
	Del(k string)
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
