package app

import (
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

	Unread    int // every conversation's unread messages
	AllUnread int
	Rooms     []RoomItem // joined rooms first, then the others to join
	People    []PersonItem

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

// RoomItem is one room of #roomList.
type RoomItem struct {
	ID, Name, Owner string
	Members         int
	Member, Owned   bool
	Unread          int
	Conv            conv
}

// PersonItem is one user of the people list. Presence is "online",
// "offline" or "unknown" (while the client is not connected).
type PersonItem struct {
	ID, Alias, Today string
	Presence         string
	Me               bool
	Unread           int
	Conv             conv
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
	// same day as the one before.
	Day string
	// Where labels its conversation in "All messages"; Conv, To and
	// Command address a reply there.
	Where       string
	Conv        conv
	To, Command string
}

// PendingItem is one outbox entry, shown as pending.
type PendingItem struct {
	CID, Text, Where string
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
		Unread: m.unreadTotal(), AllUnread: m.unread[allConv],
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
	me := m.meKey()
	if m.me != nil {
		v.Me = *m.me
	}

	for _, r := range m.rooms {
		k := shared.Fold(r.ID)
		c := roomConv(r.ID)
		v.Rooms = append(v.Rooms, RoomItem{
			ID: r.ID, Name: r.Name, Owner: r.Owner, Members: r.Members,
			Member: m.member[k], Owned: shared.Fold(r.Owner) == me,
			Unread: m.unread[c], Conv: c,
		})
	}
	slices.SortStableFunc(v.Rooms, func(a, b RoomItem) int { // joined first; each part keeps the server's order
		switch {
		case a.Member == b.Member:
			return 0
		case a.Member:
			return -1
		}
		return 1
	})
	for _, p := range m.sortedPeople() {
		presence := "offline"
		switch {
		case s.state != stateConnected:
			presence = "unknown"
		case p.Online:
			presence = "online"
		}
		c := userConv(p.ID)
		v.People = append(v.People, PersonItem{
			ID: p.ID, Alias: p.Alias, Today: p.Today, Presence: presence,
			Me: shared.Fold(p.ID) == me, Unread: m.unread[c], Conv: c,
		})
	}

	s.headerLocked(&v)

	now := time.Now()
	var prev *shared.Message
	for _, msg := range m.visible() {
		it := MsgItem{
			Seq: msg.Seq.String(), Stamp: msg.Time, Sender: msg.Sender,
			Alias: m.alias(msg.Sender), Text: msg.Data, Mine: shared.Fold(msg.Sender) == me,
		}
		it.Time = shortTime(lang, msg.Time, now)
		t, _ := time.Parse(time.RFC3339Nano, msg.Time)
		it.First, it.Day = true, dayLabel(lang, t, now)
		if prev != nil {
			pt, _ := time.Parse(time.RFC3339Nano, prev.Time)
			if sameDay(pt, t) {
				it.Day = ""
				it.First = shared.Fold(prev.Sender) != shared.Fold(msg.Sender) || t.Sub(pt) > groupGap
			}
		}
		if m.selected == everything {
			it.Conv = convOf(me, &msg)
			it.Where = s.whereLocked(it.Conv)
			it.To, it.Command = s.idOfLocked(it.Conv), it.Conv.command()
			if it.Conv.kind == kindAll {
				it.To = shared.All
			}
			it.First = it.First || prev == nil || convOf(me, prev) != it.Conv
		}
		v.Messages = append(v.Messages, it)
		prev = &msg
	}
	for _, o := range m.pending() {
		it := PendingItem{CID: o.CID, Text: o.Data}
		if m.selected == everything {
			msg := shared.Message{Sender: me, Recipient: o.Recipient, Command: o.Command}
			it.Where = s.whereLocked(convOf(me, &msg))
		}
		v.Pending = append(v.Pending, it)
	}
	s.historyStateLocked(&v)
	return v
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
		for _, t := range m.convs {
			loading = loading || t.loading
			more = more || t.older() && len(t.msgs) > 0
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
