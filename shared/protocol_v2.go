package shared

import (
	"encoding/json"
	"time"
)

// Limits and defaults of protocol version 2 (PROTOCOL.md 4.1–4.11, 9).
// Lengths are in Unicode code points.
const (
	MaxConversations = 500 // conversations in a login answer (4.1)
	MaxUnread        = 999 // unread and mention counts stop here (4.1)
	MaxEmoji         = 16  // a reaction (4.6)
	MaxReactions     = 20  // distinct reactions on one message (4.6, 409 past it)
	MaxMentions      = 20  // mentions carried by one message (4.7)

	// TypingEvery is the least time between two typing events delivered
	// for one user and conversation (4.8); the extra ones are dropped.
	TypingEvery = 2 * time.Second

	MaxWatch            = 500 // ids in a presence watch (4.10)
	MaxContacts         = 500 // entries of the presence list after login (4.10)
	MaxUsersQuery       = 64  // a users query: an id or an alias fits
	DefaultUsersLimit   = 50
	MaxUsersLimit       = 100
	DefaultMembersLimit = 100 // room members (4.4)
	MaxMembersLimit     = 500
	MaxSearchQuery      = 200 // 4.11
	DefaultSearchLimit  = 20
	MaxSearchLimit      = 100
	MaxSnippet          = 200
	MaxFileName         = 255 // section 9
	MaxFileID           = 64  // what a message may name as its file; ids are the server's
)

// Conversation is one entry of a login's conversations list (4.1): the
// conversation {Target, Command}, its newest event Last, the user's read
// mark Read ("0" if none), and the messages after the mark that others
// sent (Unread) and that mention the user (Mentions), each at most
// MaxUnread.
type Conversation struct {
	Target   string `json:"target"`
	Command  string `json:"command"`
	Last     Seq    `json:"last"`
	Read     Seq    `json:"read"`
	Unread   int    `json:"unread"`
	Mentions int    `json:"mentions"`
}

// Session is the session event: what a login answer tells, sent to a
// socket that logged in with a token at CONNECT, which gets no answer
// (4.1).
type Session struct {
	User          *Profile       `json:"user"`
	Offset        string         `json:"offset"`
	Joined        []JoinedRoom   `json:"joined"`
	Conversations []Conversation `json:"conversations"`
}

// Typing is the typing event (4.8): the request {recepient, command} and,
// delivered, the same with the sender.
type Typing struct {
	Sender    string `json:"sender,omitempty"`
	Recipient string `json:"recepient"`
	Command   string `json:"command"`
}

// ReadRequest is the read request (4.9). Seq is a pointer so that a
// missing seq is told apart from "0".
type ReadRequest struct {
	Target  string `json:"target"`
	Command string `json:"command"`
	Seq     *Seq   `json:"seq"`
}

// Read is the read event the user's other sockets receive (4.9).
type Read struct {
	Target  string `json:"target"`
	Command string `json:"command"`
	Seq     Seq    `json:"seq"`
}

// PresenceRequest is the presence request (4.10): command "watch" with
// the ids this socket watches beyond its contacts.
type PresenceRequest struct {
	Command string   `json:"command"`
	IDs     []string `json:"ids"`
}

// UsersRequest is the users request, a page of the directory (4.10).
type UsersRequest struct {
	Query string          `json:"query"`
	After string          `json:"after,omitempty"`
	Limit json.RawMessage `json:"limit,omitempty"` // number or numeric string; ParseLimit
}

// SearchRequest is the search request (4.11). Target and Command, both
// optional, narrow it to one conversation as in history.
type SearchRequest struct {
	Query   string          `json:"query"`
	Target  string          `json:"target,omitempty"`
	Command string          `json:"command,omitempty"`
	Before  json.RawMessage `json:"before,omitempty"` // string or number; ParseOffset
	Limit   json.RawMessage `json:"limit,omitempty"`  // number or numeric string; ParseLimit
}

// FileInfo is an uploaded file (section 9): the answer to POST /files and
// the file of a message. Width and Height are set for PNG, JPEG, GIF and
// WebP images only.
type FileInfo struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}
