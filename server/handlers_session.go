package server

import (
	"context"
	"errors"

	"chatapp/server/store"
	"chatapp/shared"
)

// sessionFacts are what a login answer tells the user beyond the token
// (PROTOCOL.md 4.1): the newest seq they can see, the rooms they are in
// and their conversations. A token reconnect, which gets no answer, gets
// them as the session event.
type sessionFacts struct {
	offset        string
	joined        []shared.JoinedRoom
	conversations []shared.Conversation
}

func (s *Server) sessionFacts(ctx context.Context, p shared.Profile) (sessionFacts, error) {
	convs, offset, err := s.store.Conversations(ctx, p.ID, shared.MaxConversations)
	if err != nil {
		return sessionFacts{}, err
	}
	return sessionFacts{offset: offset.String(), joined: s.hub.joinedRooms(shared.Fold(p.ID)), conversations: convs}, nil
}

// sessionFrame is the session event of a token reconnect.
func (f sessionFacts) sessionFrame(p shared.Profile) ([]byte, error) {
	return shared.EventFrame(shared.EventSession, shared.Session{User: &p, Offset: f.offset,
		Joined: f.joined, Conversations: f.conversations})
}

// canSee reports whether c's user may see conversation conv now: ALL, a
// direct conversation of theirs, or a room they are a member of.
func (s *Server) canSee(c *client, conv store.Conv) bool {
	if key, ok := conv.RoomKey(); ok {
		_, _, member, found := s.hub.room(key, c.userKey)
		return found && member
	}
	return conv.Has(c.userKey)
}

// conversation resolves a conversation named on the wire (PROTOCOL.md
// section 4: target and command; history and search may leave command
// out, and then a room with that id is meant if one exists, else a user)
// for c's user: a room must exist (404) and have the user as a member
// (403), a user must exist (404). It returns the conversation and the
// display id of its target, or the refusal, or the error of a failed
// lookup.
func (s *Server) conversation(c *client, target, command string) (store.Conv, string, *shared.Error, error) {
	key := shared.Fold(target)
	if command == "" {
		command = shared.CommandChat
		if _, _, _, found := s.hub.room(key, c.userKey); found {
			command = shared.CommandGroupchat
		}
	}
	switch command {
	case shared.CommandGroupchat:
		id, _, member, found := s.hub.room(key, c.userKey)
		if !found {
			return "", "", shared.Errorf(shared.CodeNotFound, "no such room %s", target), nil
		}
		if !member {
			return "", "", shared.Errorf(shared.CodeForbidden, "join the room first"), nil
		}
		return store.RoomConv(id), id, nil, nil
	case shared.CommandChat:
		if key == shared.Fold(shared.All) {
			return store.ConvAll, shared.All, nil, nil
		}
		p, err := s.knownUser(c.sock.Context(), target)
		switch {
		case errors.Is(err, store.ErrDeleted):
			// A deleted account's messages stay in its partners' history.
			return store.DirectConv(c.userKey, target), target, nil, nil
		case errors.Is(err, store.ErrNotFound):
			return "", "", shared.Errorf(shared.CodeNotFound, "no such user %s", target), nil
		case err != nil:
			return "", "", nil, err
		}
		return store.DirectConv(c.userKey, p.ID), p.ID, nil, nil
	}
	return "", "", shared.BadRequest("command", "expected chat or groupchat"), nil
}
