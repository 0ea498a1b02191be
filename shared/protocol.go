package shared

import (
	"encoding/json"
	"reflect"
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

	// Version 2 (PROTOCOL.md 4.1, 4.8–4.11).
	EventTyping  = "typing"  // client → server and server → client
	EventRead    = "read"    // client → server and server → client
	EventSession = "session" // server → client, after a token reconnect
	EventUsers   = "users"   // the directory
	EventSearch  = "search"
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

	// Version 2 message commands (4.6): changes to an earlier message.
	CommandEdit   = "edit"
	CommandDelete = "delete"
	CommandReact  = "react"

	// Version 2 room commands (4.4).
	RoomInvite  = "invite"
	RoomRemove  = "remove"
	RoomMembers = "members"
	RoomJoined  = "joined" // server → the user's sockets: a membership began or a private room changed
	RoomLeft    = "left"   // server → the user's sockets: a membership ended

	PresenceList    = "list"
	PresenceOnline  = "online"
	PresenceOffline = "offline"
	PresenceProfile = "profile"
	PresenceWatch   = "watch" // version 2 (4.10)

	// CommandRecover is the command of the 206 response sent before a
	// capped replay.
	CommandRecover = "recover"

	// All is the reserved recipient that means every logged-in user.
	All = "ALL"

	TypeText = "text"
	TypeFile = "file" // version 2 (section 9)
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
// Anything else is a *json.UnmarshalTypeError, which encoding/json fills
// with the field's name, so that Decode's 400 names the field (replyTo,
// ref, seq) rather than saying only that the payload is invalid.
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
		return &json.UnmarshalTypeError{Value: "not a sequence number", Type: seqType}
	}
	*s = v
	return nil
}

var seqType = reflect.TypeFor[Seq]()

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

// SendMessage is the message request: a new message (command chat or
// groupchat, 4.3) or, version 2, a change to an earlier one (command edit,
// delete or react with Ref, 4.6). ReplyTo and Ref are pointers so that an
// absent field and "0" differ.
type SendMessage struct {
	Sender    string `json:"sender,omitempty"`
	Recipient string `json:"recepient"`
	Command   string `json:"command"`
	Type      string `json:"type"`
	Data      string `json:"data"`
	CID       string `json:"cid,omitempty"`
	ReplyTo   *Seq   `json:"replyTo,omitempty"` // version 2: the message answered
	Ref       *Seq   `json:"ref,omitempty"`     // version 2: the message changed
	File      string `json:"file,omitempty"`    // version 2: an uploaded file's id (type file)
}

// Message is a stored and delivered sequenced event: a message, or
// (version 2) a change to one.
//
// A message is {seq, time, sender, recepient, command, type, data, cid,
// replyTo, mentions, file}; history, replay and search show it as it is
// now, with Edited, Reactions and Snippet, or, deleted, as {seq, time,
// sender, recepient, command, deleted} with no type and no data. A change
// (command edit, delete or react) is {seq, time, sender, recepient,
// command, ref, of, data, on}. Every version 2 field is omitted when
// absent, and type and data are never empty on a version 1 message, so a
// version 1 message encodes byte for byte as it did in version 1.
type Message struct {
	Seq       Seq       `json:"seq"`
	Time      string    `json:"time"`
	Sender    string    `json:"sender"`
	Recipient string    `json:"recepient"`
	Command   string    `json:"command"`
	Type      string    `json:"type,omitempty"`
	Data      string    `json:"data,omitempty"`
	CID       string    `json:"cid,omitempty"`
	ReplyTo   Seq       `json:"replyTo,omitzero"`
	Mentions  []string  `json:"mentions,omitempty"` // display ids, in order of first appearance
	File      *FileInfo `json:"file,omitempty"`

	// The current state of a message (history, replay, search).
	Edited    string              `json:"edited,omitempty"` // time of the last edit
	Deleted   bool                `json:"deleted,omitzero"`
	Reactions map[string][]string `json:"reactions,omitempty"` // emoji → user ids, in the order they reacted
	Snippet   string              `json:"snippet,omitempty"`   // search results only

	// A change (command edit, delete or react).
	Ref Seq    `json:"ref,omitzero"` // the changed message
	Of  string `json:"of,omitempty"` // its command: chat or groupchat
	On  *bool  `json:"on,omitempty"` // react: true added, false removed
}

// IsChange reports whether command is one of the version 2 changes to an
// earlier message.
func IsChange(command string) bool {
	return command == CommandEdit || command == CommandDelete || command == CommandReact
}

// RoomRequest is the room request. RoomOwner from old clients is ignored.
// Private (create), UserID (invite, remove), After and Limit (members) are
// version 2.
type RoomRequest struct {
	Command  string          `json:"command"`
	RoomID   string          `json:"roomId"`
	RoomName string          `json:"roomName"`
	Private  bool            `json:"private,omitempty"`
	UserID   string          `json:"userId,omitempty"`
	After    string          `json:"after,omitempty"`
	Limit    json.RawMessage `json:"limit,omitempty"` // number or numeric string; ParseLimit
}

// RoomInfo is one room of the room list. Members is a count.
type RoomInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Members int    `json:"members"`
}

// JoinedRoom is a room the user is a member of (version 2): an entry of
// the login's joined list and the room of a "joined" room event. Unlike
// RoomInfo it says whether the room is private, and always has the field.
type JoinedRoom struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Members int    `json:"members"`
	Private bool   `json:"private"`
}

// RoomEvent is the room event the server sends: the list, "deleted", and
// (version 2) "joined" with Room or "left" with RoomID.
type RoomEvent struct {
	Command string      `json:"command"`
	Rooms   []RoomInfo  `json:"rooms,omitzero"`
	RoomID  string      `json:"roomId,omitempty"`
	Room    *JoinedRoom `json:"room,omitempty"`
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

	// Version 2. Joined and Conversations answer a login (4.1); Members a
	// room members request (4.4); Users a presence watch or a users
	// request (4.10). A nil slice is omitted, an empty one is [].
	Joined        []JoinedRoom   `json:"joined,omitzero"`
	Conversations []Conversation `json:"conversations,omitzero"`
	Members       []PresenceUser `json:"members,omitzero"`
	Users         []PresenceUser `json:"users,omitzero"`
}
