package app

import (
	"maps"
	"slices"

	"chatapp/shared"
)

// Changes to earlier messages (PROTOCOL.md 4.6): edit, delete and react
// events are sequenced like messages, but they update the message they
// name (ref) in place; they are never shown as messages of their own.
//
// Every change is applied as a state, never as a toggle: an edit sets the
// text, a delete erases, a reaction event says whether the reaction is now
// on. So applying one twice (the event of a room change and the answer to
// the request that made it, a replay after a history page that already
// showed it) changes nothing.

// changed returns msg with the change ch applied. A deleted message stays
// deleted: a replayed edit of a since-deleted message carries no text.
func changed(msg shared.Message, ch shared.Message) shared.Message {
	if msg.Deleted {
		return msg
	}
	switch ch.Command {
	case shared.CommandEdit:
		if ch.Data != "" {
			msg.Data = ch.Data
			msg.Edited = ch.Time
		}
	case shared.CommandDelete:
		// As history shows it: who, where and when, nothing of what.
		return shared.Message{Seq: msg.Seq, Time: msg.Time, Sender: msg.Sender,
			Recipient: msg.Recipient, Command: msg.Command, Deleted: true}
	case shared.CommandReact:
		on := ch.On == nil || *ch.On // the server always says; without, it was added
		msg.Reactions = reacted(msg.Reactions, ch.Data, ch.Sender, on)
	}
	return msg
}

// reacted returns a copy of reactions with user's emoji on or off; the
// map of a message is never modified in place, because a View built
// earlier may still hold it.
func reacted(reactions map[string][]string, emoji, user string, on bool) map[string][]string {
	out := maps.Clone(reactions)
	if out == nil {
		out = map[string][]string{}
	}
	users := out[emoji]
	i := slices.IndexFunc(users, func(u string) bool { return shared.Fold(u) == shared.Fold(user) })
	switch {
	case on && i < 0:
		out[emoji] = append(slices.Clip(users), user)
	case !on && i >= 0:
		users = slices.Delete(slices.Clone(users), i, i+1)
		if len(users) == 0 {
			delete(out, emoji)
		} else {
			out[emoji] = users
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hasReacted reports whether user's emoji is among reactions.
func hasReacted(reactions map[string][]string, emoji, user string) bool {
	return slices.ContainsFunc(reactions[emoji], func(u string) bool { return shared.Fold(u) == shared.Fold(user) })
}

// applyChange applies a change event to the message it names, wherever
// this client holds it, and returns that message's conversation (found
// is false when no window holds it: a history page shows its current
// state when it is loaded). before is the message as it was.
func (m *model) applyChange(ch shared.Message) (c conv, before shared.Message, found bool) {
	for c, t := range m.convs {
		if i, ok := t.find(ch.Ref); ok {
			before = t.msgs[i]
			t.msgs[i] = changed(before, ch)
			return c, before, true
		}
	}
	return conv{}, shared.Message{}, false
}

// find returns the message with seq in any window, and its conversation.
func (m *model) find(seq shared.Seq) (shared.Message, conv, bool) {
	for c, t := range m.convs {
		if i, ok := t.find(seq); ok {
			return t.msgs[i], c, true
		}
	}
	return shared.Message{}, conv{}, false
}
