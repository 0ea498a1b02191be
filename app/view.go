package app

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"chatapp/shared"
)

// View is what the components render: a snapshot the service builds after
// every change and publishes as the go-app state stateView. A View is never
// modified after it is published (its slices and map are fresh each time).
type View struct {
	Lang    string
	State   string // stateConnected, stateConnecting or stateOffline
	ConnWhy notice // why the last connection attempt failed; Key "" when none
	NetDown bool   // the browser is offline; the client waits for it
	Host    string
	Port    string

	LoggedIn bool
	Me       shared.Profile
	LastID   string

	Unread int // every conversation's unread messages
	// All is the Everyone conversation's counts.
	All   Counts
	Rooms []RoomItem // joined rooms first, newest activity first, then the others to join
	// People: those the user has direct conversations with, newest
	// activity first, then the others, online first.
	People []PersonItem
	Notify bool // the person turned notifications on

	Selected conv
	Title    string
	Subtitle string
	// ToRecipient and ToCommand are what the selected conversation puts in
	// #recepientInput and #chattype; empty for "All messages", where a
	// message needs a conversation picked or a message replied to.
	ToRecipient string
	ToCommand   string
	Room        *RoomItem // the selected room, for its header menu
	NeedJoin    bool      // a room is selected and the user is not a member

	Messages []MsgItem
	Pending  []PendingItem
	// Typing names those typing in the selected conversation.
	Typing []string
	// Focus is a message to scroll to (a quoted one was clicked); FocusN
	// counts the requests, so the same message can be asked for twice.
	Focus  string
	FocusN int
	// Mentions are the users the composer's @ completion offers for
	// MentionQuery, what follows the @ (MentionOpen: one is being typed).
	Mentions     []UserItem
	MentionQuery string
	MentionOpen  bool
	// History is the state of the log's old end: histLoading (a page is
	// on its way), histMore (scrolling up loads more) or histStart (this
	// is the first message). Newer: pages were dropped at the new end.
	History string
	Newer   bool
	Notices map[string]notice
	// Done counts the requests answered 200 by notice area ("room",
	// "profile"): when it moves, the dialog that sent one has done its job.
	Done map[string]int
}

// The states of the log's old end (View.History, #log data-history).
const (
	histLoading = "loading"
	histMore    = "more"
	histStart   = "start"
)

// Counts are a conversation's unread messages and mentions of the user
// among them.
type Counts struct{ Unread, Mentions int }

// RoomItem is one room of #roomList.
type RoomItem struct {
	ID, Name, Owner string
	Members         int
	Member, Owned   bool
	Private         bool
	Counts
	Conv conv
}

// PersonItem is one user of the people list. Presence is "online",
// "offline" or "unknown" (while the client is not connected).
type PersonItem struct {
	ID, Alias, Today string
	Presence         string
	Me               bool
	Counts
	Conv conv
}

// MsgItem is one message of #result.
type MsgItem struct {
	Seq    string
	Time   string // short local time
	Stamp  string // RFC 3339, for <time datetime>
	Sender string
	Alias  string
	Text   string
	Mine   bool
	// First starts a group: another sender, or a pause, before it.
	First bool
	// Day labels the day separator before the message; "" when it is the
	// same day as the one before. NewLine: the "new messages" line goes
	// before it, the first unread one.
	Day     string
	NewLine bool
	// Where labels its conversation in "All messages"; Conv, To and
	// Command address a reply there.
	Where       string
	Conv        conv
	To, Command string

	Edited  string // when it was last edited (RFC 3339); "" never
	Deleted bool
	// Pending: a change the person made waits in the outbox; what shows
	// is the message as it will be.
	Pending bool
	// Mention: it mentions the user; Mentions are the ids it mentions.
	Mention  bool
	Mentions []string
	// CanEdit and CanDelete say which actions the user has: their own
	// messages, and deleting any message in a room they own.
	CanEdit, CanDelete bool
	Reactions          []Reaction
	Reply              *Quote // the message it answers; nil when none
}

// PendingItem is one message of the outbox, shown as pending.
type PendingItem struct {
	CID, Text, Where string
}

// Reaction is one emoji on a message: how many reacted, whether the user
// did, and who (display names, for its label).
type Reaction struct {
	Emoji string
	Count int
	Mine  bool
	Who   string
}

// Quote is the message a reply answers, as the reply shows it. Missing:
// this client does not hold it (it is older than what is loaded).
type Quote struct {
	Seq, Alias, Text string
	Deleted, Missing bool
}

// groupGap is the pause after which a sender's next message starts a new
// group.
const groupGap = 5 * time.Minute

// viewLocked builds the View. s.mu must be held.
func (s *service) viewLocked() View {
	m := s.m
	lang := s.lang
	v := View{
		Lang: lang, State: s.state, NetDown: s.netDown, Host: s.target.Host, Port: s.target.Port,
		LoggedIn: m.me != nil, LastID: s.lastID,
		Unread: m.unreadTotal(), All: m.counts(allConv), Notify: s.notifyOn,
		Selected: m.selected,
		Notices:  make(map[string]notice, len(s.notices)),
		Done:     map[string]int{"room": s.done["room"], "profile": s.done["profile"]},
	}
	for k, n := range s.notices {
		v.Notices[k] = n
	}
	if s.connErr != nil {
		v.ConnWhy = connWhy(s.connErr, s.target)
		if n, ok := v.Notices["connect"]; ok && n.Key == "connect.retry" {
			v.Notices["connect"] = v.ConnWhy
		}
	}
	if m.me != nil {
		v.Me = *m.me
	}

	s.sidebarLocked(&v)
	s.headerLocked(&v)
	now := time.Now()
	s.messagesLocked(&v, now)
	if m.selected != everything {
		v.Typing = m.typists(m.selected, now)
	}
	if m.focus > 0 {
		v.Focus, v.FocusN = m.focus.String(), m.focusN
	}
	if m.mentionOpen {
		v.MentionOpen, v.MentionQuery = true, m.mentionQuery
		v.Mentions = m.candidates(m.mentionQuery)
	}
	s.historyStateLocked(&v)
	return v
}

// sidebarLocked fills the room and people lists. s.mu must be held.
func (s *service) sidebarLocked(v *View) {
	m := s.m
	me := m.meKey()
	rooms := slices.Clone(m.rooms)
	for _, k := range slices.Sorted(maps.Keys(m.private)) {
		rooms = append(rooms, m.private[k])
	}
	for _, r := range rooms {
		k := shared.Fold(r.ID)
		c := roomConv(r.ID)
		_, private := m.private[k]
		v.Rooms = append(v.Rooms, RoomItem{
			ID: r.ID, Name: r.Name, Owner: r.Owner, Members: r.Members,
			Member: m.member[k], Owned: shared.Fold(r.Owner) == me, Private: private,
			Counts: m.counts(c), Conv: c,
		})
	}
	// Joined rooms first, newest activity first; the others keep the
	// server's order.
	slices.SortStableFunc(v.Rooms, func(a, b RoomItem) int {
		switch {
		case a.Member != b.Member && a.Member:
			return -1
		case a.Member != b.Member:
			return 1
		case a.Member:
			return cmpSeq(m.meta[b.Conv].Last, m.meta[a.Conv].Last)
		}
		return 0
	})

	people := m.sortedPeople()
	listed := map[string]bool{}
	for _, p := range people {
		listed[shared.Fold(p.ID)] = true
	}
	for c, meta := range m.meta { // direct conversations with someone not in the presence list
		if c.kind == kindUser && meta.Last > 0 && !listed[c.key] {
			people = append(people, shared.PresenceUser{ID: m.userID(c.key)})
			listed[c.key] = true
		}
	}
	for _, p := range people {
		presence := "offline"
		switch {
		case s.state != stateConnected, m.people[shared.Fold(p.ID)].ID == "":
			presence = "unknown"
		case p.Online:
			presence = "online"
		}
		c := userConv(p.ID)
		v.People = append(v.People, PersonItem{
			ID: p.ID, Alias: p.Alias, Today: p.Today, Presence: presence,
			Me: shared.Fold(p.ID) == me, Counts: m.counts(c), Conv: c,
		})
	}
	// Direct conversations first, newest activity first; the others stay
	// online first, then by id.
	slices.SortStableFunc(v.People, func(a, b PersonItem) int {
		return cmpSeq(m.meta[b.Conv].Last, m.meta[a.Conv].Last)
	})
}

// counts returns the unread counts of c.
func (m *model) counts(c conv) Counts {
	meta := m.meta[c]
	return Counts{Unread: meta.Unread, Mentions: meta.Mentions}
}

// headerLocked fills the pane header and the composer's address of the
// selected conversation. s.mu must be held.
func (s *service) headerLocked(v *View) {
	m, lang := s.m, s.lang
	switch sel := m.selected; sel.kind {
	case kindNone:
		v.Title = tr(lang, "everything")
		v.Subtitle = tr(lang, "everything.sub")
	case kindAll:
		v.Title, v.Subtitle = tr(lang, "everyone"), tr(lang, "everyone.sub")
		v.ToRecipient, v.ToCommand = shared.All, shared.CommandChat
	case kindRoom:
		id := m.roomID(sel.key)
		v.Title = "# " + id
		v.ToRecipient, v.ToCommand = id, shared.CommandGroupchat
		v.NeedJoin = v.LoggedIn && !m.member[sel.key]
		v.Subtitle = tr(lang, "room.gone")
		for i, r := range v.Rooms {
			if r.Conv == sel {
				v.Title = "# " + r.Name
				v.Subtitle = id + " · " + members(lang, r.Members)
				v.Room = &v.Rooms[i]
			}
		}
	case kindUser:
		id := m.userID(sel.key)
		v.Title = m.alias(id)
		v.ToRecipient, v.ToCommand = id, shared.CommandChat
		for _, p := range v.People {
			if p.Conv == sel {
				v.Subtitle = p.ID + " · " + tr(lang, p.Presence) + ifNotEmpty(" · ", p.Today)
			}
		}
		if sel.key == m.meKey() {
			v.Subtitle = tr(lang, "conv.self")
		}
	}
}

// historyStateLocked sets what the log shows at its ends. s.mu must be
// held.
func (s *service) historyStateLocked(v *View) {
	m := s.m
	more, loading := false, false
	if m.selected == everything {
		for c, t := range m.convs {
			loading = loading || t.loading
			more = more || m.pageable(c, t)
			v.Newer = v.Newer || !t.atLive()
		}
		more = more || m.allHidden()
	} else if t := m.convs[m.selected]; t != nil {
		loading = t.loading
		more = t.older()
		v.Newer = !t.atLive()
	} else {
		more = !v.NeedJoin && v.LoggedIn
	}
	switch {
	case loading:
		v.History = histLoading
	case more && !v.NeedJoin:
		v.History = histMore
	default:
		v.History = histStart
	}
}

// connWhy words why the connection to t failed.
func connWhy(err error, t target) notice {
	switch e := err.(type) {
	case refusedError:
		return failure("conn.refused", e.message)
	}
	switch err {
	case errDead:
		return failure("conn.dead")
	case errServerGone:
		return failure("conn.closed")
	}
	return failure("err.unreachable", t.hostPort())
}

// members is "1 member", "2 members" (Korean has one form).
func members(lang string, n int) string {
	if n == 1 {
		return tr(lang, "member.one")
	}
	return trf(lang, "members", strconv.Itoa(n))
}

func ifNotEmpty(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// whereLocked labels conversation c for "All messages". s.mu must be held.
func (s *service) whereLocked(c conv) string {
	switch c.kind {
	case kindAll:
		return shared.All
	case kindRoom:
		for _, r := range s.m.rooms {
			if shared.Fold(r.ID) == c.key {
				return "# " + r.Name
			}
		}
		return "# " + c.key
	}
	return "@" + s.m.userID(c.key)
}

func sameDay(a, b time.Time) bool {
	a, b = a.Local(), b.Local()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// dayLabel names the day of t for a separator: today, yesterday or the
// date.
func dayLabel(lang string, t, now time.Time) string {
	switch {
	case t.IsZero():
		return ""
	case sameDay(t, now):
		return tr(lang, "today.day")
	case sameDay(t, now.AddDate(0, 0, -1)):
		return tr(lang, "yesterday")
	}
	t = t.Local()
	if lang == langKO {
		return strconv.Itoa(t.Year()) + "년 " + strconv.Itoa(int(t.Month())) + "월 " + strconv.Itoa(t.Day()) + "일"
	}
	return t.Format("Monday, January 2, 2006")
}

// shortTime formats a message time in the browser's time zone: the clock
// for today, the date and clock before that.
func shortTime(lang, stamp string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return ""
	}
	t = t.Local()
	now = now.Local()
	y, mo, d := t.Date()
	ny, nmo, nd := now.Date()
	clock := t.Format("15:04")
	switch {
	case y == ny && mo == nmo && d == nd:
		return clock
	case lang == langKO && y == ny:
		return strconv.Itoa(int(mo)) + "월 " + strconv.Itoa(d) + "일 " + clock
	case lang == langKO:
		return strconv.Itoa(y) + "년 " + strconv.Itoa(int(mo)) + "월 " + strconv.Itoa(d) + "일 " + clock
	case y == ny:
		return t.Format("Jan 2, 15:04")
	}
	return t.Format("Jan 2 2006, 15:04")
}
