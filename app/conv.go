package app

import (
	"strings"

	"chatapp/shared"
)

// convKind says what a conversation is (PROTOCOL.md section 4: a
// conversation is {target, command}).
type convKind uint8

const (
	// kindNone is "All messages": every conversation at once. It is a view,
	// not a conversation: nothing can be written to it.
	kindNone convKind = iota
	kindAll           // messages to ALL
	kindRoom          // a room
	kindUser          // the direct conversation with a user (one's own id: notes to self)
)

// conv names a conversation. It is comparable, so it keys maps and is
// the value of the select action. key is the folded room or user id:
// ids are unique regardless of case, and the server matches them in any
// case, so the folded id is also a valid target for a request.
type conv struct {
	kind convKind
	key  string
}

// everything is the "All messages" view; allConv the conversation of
// messages to ALL.
var (
	everything = conv{}
	allConv    = conv{kind: kindAll}
)

func roomConv(id string) conv { return conv{kind: kindRoom, key: shared.Fold(id)} }
func userConv(id string) conv { return conv{kind: kindUser, key: shared.Fold(id)} }

// convOf returns the conversation of m as seen by me (a folded user id).
func convOf(me string, m *shared.Message) conv {
	switch {
	case m.Command == shared.CommandGroupchat:
		return roomConv(m.Recipient)
	case shared.Fold(m.Recipient) == shared.Fold(shared.All):
		return allConv
	case shared.Fold(m.Sender) == me:
		return userConv(m.Recipient)
	}
	return userConv(m.Sender)
}

// convNamed returns the conversation a request or an answer names with
// {target, command} (PROTOCOL.md section 4: the login's conversations,
// read marks): the target of a chat is the other user, ALL, or one's
// own id.
func convNamed(target, command string) conv {
	switch {
	case command == shared.CommandGroupchat:
		return roomConv(target)
	case shared.Fold(target) == shared.Fold(shared.All):
		return allConv
	}
	return userConv(target)
}

// convOfChange returns the conversation of a change event (edit, delete,
// react) as seen by me, when its fields tell it: of is the changed
// message's command and recepient its recepient, but sender is who
// changed it. A direct message changed by its recipient, seen by that
// recipient on another device, names only that recipient (sender and
// recepient are both me): then ok is false, and only the message itself,
// if this client holds it, tells the conversation.
func convOfChange(me string, m *shared.Message) (c conv, ok bool) {
	switch {
	case m.Of == shared.CommandGroupchat:
		return roomConv(m.Recipient), true
	case shared.Fold(m.Recipient) == shared.Fold(shared.All):
		return allConv, true
	case shared.Fold(m.Sender) != me:
		return userConv(m.Sender), true
	case shared.Fold(m.Recipient) != me:
		return userConv(m.Recipient), true
	}
	return conv{}, false
}

// command is the message and history command of c.
func (c conv) command() string {
	if c.kind == kindRoom {
		return shared.CommandGroupchat
	}
	return shared.CommandChat
}

// target is the recepient of a message to c and the target of its
// history.
func (c conv) target() string {
	if c.kind == kindAll {
		return shared.All
	}
	return c.key
}

// String names c in the page (data-conv attributes, event scopes) and in
// a notification's link, which parseConv reads back.
func (c conv) String() string {
	switch c.kind {
	case kindAll:
		return "all"
	case kindRoom:
		return "room:" + c.key
	case kindUser:
		return "user:" + c.key
	}
	return "everything"
}

// parseConv reads back what String wrote.
func parseConv(s string) (conv, bool) {
	kind, key, _ := strings.Cut(s, ":")
	switch {
	case s == "all":
		return allConv, true
	case s == "everything":
		return everything, true
	case kind == "room" && key != "":
		return roomConv(key), true
	case kind == "user" && key != "":
		return userConv(key), true
	}
	return conv{}, false
}
