package shared

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event names of PROTOCOL.md sections 4 and 5.
const (
	EventLogin    = "login"
	EventLogout   = "logout"
	EventMessage  = "message"
	EventRoom     = "room"
	EventHistory  = "history"
	EventResponse = "response"
	EventPresence = "presence"
)

// Answer codes (PROTOCOL.md section 3). They travel as strings.
const (
	CodeOK              = "200"
	CodePartial         = "206" // replay capped; page older messages with history
	CodeBadRequest      = "400"
	CodeUnauthorized    = "401"
	CodeForbidden       = "403"
	CodeNotFound        = "404"
	CodeConflict        = "409"
	CodeTooLarge        = "413"
	CodeTooManyRequests = "429"
	CodeInternal        = "500"
)

// Message and room commands.
const (
	CommandChat      = "chat"
	CommandGroupchat = "groupchat"

	RoomCreate  = "create"
	RoomUpdate  = "update"
	RoomDelete  = "delete"
	RoomJoin    = "join"
	RoomLeave   = "leave"
	RoomList    = "list"
	RoomDeleted = "deleted" // server → members of a deleted room

	PresenceList    = "list"
	PresenceOnline  = "online"
	PresenceOffline = "offline"
	PresenceProfile = "profile"

	// CommandRecover is the command of the 206 response sent before a
	// capped replay.
	CommandRecover = "recover"

	// All is the reserved recipient that means every logged-in user.
	All = "ALL"

	TypeText = "text"
)

// Seq is a message sequence number. On the wire it is a decimal string
// ("1234"); decoding also accepts a JSON number, as lenient clients send.
type Seq int64

// MarshalJSON writes s as a quoted decimal string.
func (s Seq) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(s), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a decimal string or a non-negative JSON integer.
func (s *Seq) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	str := string(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		str = str[1 : len(b)-1]
	}
	v, err := ParseSeq(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// String returns the decimal form of s.
func (s Seq) String() string { return strconv.FormatInt(int64(s), 10) }

// ParseSeq parses a decimal sequence number: digits only, no sign, at most
// 18 digits.
func ParseSeq(str string) (Seq, error) {
	if str == "" || len(str) > 18 {
		return 0, errBadSeq
	}
	for i := 0; i < len(str); i++ {
		if str[i] < '0' || str[i] > '9' {
			return 0, errBadSeq
		}
	}
	v, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return 0, errBadSeq
	}
	return Seq(v), nil
}

// TimeFormat is RFC 3339 UTC with milliseconds, the format of Message.Time.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTime formats t as a message time.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Auth is the CONNECT auth payload (PROTOCOL.md section 2).
type Auth struct {
	Token  string          `json:"token,omitempty"`
	Offset json.RawMessage `json:"offset,omitempty"` // string or number; parsed by ParseOffset
}

// Login is the login request. Alias and Today are pointers because only a
// field that is present updates the profile.
type Login struct {
	ID       string          `json:"id"`
	Password string          `json:"password"`
	Alias    *string         `json:"alias,omitempty"`
	Today    *string         `json:"today,omitempty"`
	Offset   json.RawMessage `json:"offset,omitempty"`
}

// Profile is a user as others see it.
type Profile struct {
	ID    string `json:"id"`
	Alias string `json:"alias"`
	Today string `json:"today"`
}

// PresenceUser is one entry of the presence list.
type PresenceUser struct {
	ID     string `json:"id"`
	Alias  string `json:"alias"`
	Today  string `json:"today"`
	Online bool   `json:"online"`
}

// Presence is the presence event: a list after login, then changes.
type Presence struct {
	Command string         `json:"command"`
	Users   []PresenceUser `json:"users,omitzero"`
	User    *PresenceUser  `json:"user,omitempty"`
}

// SendMessage is the message request.
type SendMessage struct {
	Sender    string `json:"sender,omitempty"`
	Recipient string `json:"recepient"`
	Command   string `json:"command"`
	Type      string `json:"type"`
	Data      string `json:"data"`
	CID       string `json:"cid,omitempty"`
}

// Message is a stored and delivered message.
type Message struct {
	Seq       Seq    `json:"seq"`
	Time      string `json:"time"`
	Sender    string `json:"sender"`
	Recipient string `json:"recepient"`
	Command   string `json:"command"`
	Type      string `json:"type"`
	Data      string `json:"data"`
	CID       string `json:"cid,omitempty"`
}

// RoomRequest is the room request. RoomOwner from old clients is ignored.
type RoomRequest struct {
	Command  string `json:"command"`
	RoomID   string `json:"roomId"`
	RoomName string `json:"roomName"`
}

// RoomInfo is one room of the room list. Members is a count.
type RoomInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Members int    `json:"members"`
}

// RoomEvent is the room event the server sends: the list, or "deleted".
type RoomEvent struct {
	Command string     `json:"command"`
	Rooms   []RoomInfo `json:"rooms,omitzero"`
	RoomID  string     `json:"roomId,omitempty"`
}

// HistoryRequest is the history request.
type HistoryRequest struct {
	Target  string          `json:"target"`
	Command string          `json:"command,omitempty"`
	Before  json.RawMessage `json:"before,omitempty"` // string or number
	Limit   json.RawMessage `json:"limit,omitempty"`  // number or numeric string
}

// Response is the answer to every request (PROTOCOL.md section 3) with the
// extra fields of each command. Zero extras are omitted.
type Response struct {
	Command  string    `json:"command"`
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Token    string    `json:"token,omitempty"`
	User     *Profile  `json:"user,omitempty"`
	Offset   string    `json:"offset,omitempty"`
	Seq      string    `json:"seq,omitempty"`
	Time     string    `json:"time,omitempty"`
	Before   string    `json:"before,omitempty"`
	Messages []Message `json:"messages,omitzero"`
}
