package app

import (
	"net"
	"strconv"
	"strings"
	"time"

	"chatapp/shared"
)

// View is what the components render: a snapshot the service builds after
// every change and publishes as the go-app state stateView. A View is never
// modified after it is published (its slices and map are fresh each time).
type View struct {
	Lang    string
	State   string // stateConnected, stateConnecting or stateOffline
	ConnErr string
	NetDown bool // the browser is offline; the client waits for it
	Host    string
	Port    string

	LoggedIn bool
	Me       shared.Profile
	LastID   string

	AllUnread int
	Rooms     []RoomItem
	People    []PersonItem

	Selected string // conversation key
	Title    string
	Subtitle string
	// ToRecipient and ToCommand are what the selected conversation puts in
	// #recepientInput and #chattype.
	ToRecipient string
	ToCommand   string
	NeedJoin    bool // a room is selected and the user is not a member
	SelectedID  string

	Messages []MsgItem
	Pending  []PendingItem
	Notices  map[string]notice
}

// RoomItem is one room of #roomList.
type RoomItem struct {
	ID, Name, Owner string
	Members         int
	Member, Owned   bool
	Unread          int
	Conv            string
}

// PersonItem is one user of the people list.
type PersonItem struct {
	ID, Alias, Today string
	Online, Me       bool
	Unread           int
	Conv             string
}

// MsgItem is one message of #result.
type MsgItem struct {
	Seq    string
	Time   string // short local time
	Stamp  string // RFC 3339, for <time datetime>
	Sender string
	Alias  string
	Text   string
	Where  string // the conversation, shown in the all-messages view
	Mine   bool
}

// PendingItem is one outbox entry, shown as pending.
type PendingItem struct {
	CID, Text, Where string
}

// viewLocked builds the View. s.mu must be held.
func (s *service) viewLocked() View {
	m := s.m
	lang := s.lang
	v := View{
		Lang: lang, State: s.state, ConnErr: s.connErr, NetDown: s.netDown, Host: s.hostName, Port: s.port,
		LoggedIn: m.me != nil, LastID: s.lastID,
		AllUnread: m.unread[convAll],
		Selected:  m.selected,
		Notices:   make(map[string]notice, len(s.notices)),
	}
	for k, n := range s.notices {
		v.Notices[k] = n
	}
	if n, ok := v.Notices["connect"]; ok && !n.Error && s.state == stateOffline && s.connErr != "" && n.Text == tr(lang, "connect.retry") {
		target := s.hostName
		if s.port != "" {
			target = net.JoinHostPort(s.hostName, s.port)
		}
		v.Notices["connect"] = notice{Text: trf(lang, "err.unreachable", target), Error: true}
	}
	me := m.meKey()
	if m.me != nil {
		v.Me = *m.me
	}

	roomName := map[string]string{}
	for _, r := range m.rooms {
		k := shared.Fold(r.ID)
		conv := roomConv(r.ID)
		roomName[k] = r.Name
		v.Rooms = append(v.Rooms, RoomItem{
			ID: r.ID, Name: r.Name, Owner: r.Owner, Members: r.Members,
			Member: m.member[k], Owned: shared.Fold(r.Owner) == me,
			Unread: m.unread[conv], Conv: conv,
		})
	}
	for _, p := range m.sortedPeople() {
		conv := userConv(p.ID)
		v.People = append(v.People, PersonItem{
			ID: p.ID, Alias: p.Alias, Today: p.Today, Online: p.Online,
			Me: shared.Fold(p.ID) == me, Unread: m.unread[conv], Conv: conv,
		})
	}

	switch sel := m.selected; {
	case sel == convEverything:
		v.Title = tr(lang, "everything")
		v.ToRecipient, v.ToCommand = shared.All, shared.CommandChat
	case sel == convAll:
		v.Title, v.Subtitle = tr(lang, "everyone"), tr(lang, "everyone.sub")
		v.ToRecipient, v.ToCommand = shared.All, shared.CommandChat
	case strings.HasPrefix(sel, "r:"):
		id := s.roomIDLocked(sel[2:])
		v.Title = "# " + id
		if name := roomName[sel[2:]]; name != "" {
			v.Title = "# " + name
		}
		v.SelectedID = id
		v.ToRecipient, v.ToCommand = id, shared.CommandGroupchat
		v.NeedJoin = v.LoggedIn && !m.member[sel[2:]]
		for _, r := range v.Rooms {
			if r.Conv == sel {
				v.Subtitle = id + " · " + trf(lang, "members", strconv.Itoa(r.Members))
			}
		}
		if _, ok := roomName[sel[2:]]; !ok && len(m.rooms) > 0 {
			v.Subtitle = tr(lang, "room.gone")
		}
	case strings.HasPrefix(sel, "u:"):
		id := s.userIDLocked(sel[2:])
		v.SelectedID = id
		v.Title = m.alias(id)
		v.ToRecipient, v.ToCommand = id, shared.CommandChat
		if p, ok := m.people[sel[2:]]; ok {
			state := tr(lang, "offline")
			if p.Online {
				state = tr(lang, "online")
			}
			v.Subtitle = p.ID + " · " + state
			if p.Today != "" {
				v.Subtitle += " · " + p.Today
			}
		}
		if sel[2:] == me {
			v.Subtitle = tr(lang, "conv.self")
		}
	}

	now := time.Now()
	everything := m.selected == convEverything
	for _, msg := range m.visible() {
		it := MsgItem{
			Seq: msg.Seq.String(), Stamp: msg.Time, Sender: msg.Sender,
			Alias: m.alias(msg.Sender), Text: msg.Data, Mine: shared.Fold(msg.Sender) == me,
		}
		it.Time = shortTime(lang, msg.Time, now)
		if everything {
			it.Where = s.whereLocked(me, &msg, roomName)
		}
		v.Messages = append(v.Messages, it)
	}
	for _, o := range m.pending() {
		it := PendingItem{CID: o.CID, Text: o.Data}
		if everything {
			msg := shared.Message{Sender: me, Recipient: o.Recipient, Command: o.Command}
			it.Where = s.whereLocked(me, &msg, roomName)
		}
		v.Pending = append(v.Pending, it)
	}
	return v
}

// whereLocked labels the conversation of msg for the all-messages view.
func (s *service) whereLocked(me string, msg *shared.Message, roomName map[string]string) string {
	switch conv := convOf(me, msg); {
	case conv == convAll:
		return shared.All
	case strings.HasPrefix(conv, "r:"):
		if n := roomName[conv[2:]]; n != "" {
			return "# " + n
		}
		return "# " + msg.Recipient
	case shared.Fold(msg.Sender) == me:
		return "→ " + s.m.alias(msg.Recipient)
	}
	return ""
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
