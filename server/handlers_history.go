package server

import (
	"errors"
	"strconv"
	"strings"

	"chatapp/server/store"
	"chatapp/shared"
)

func (s *Server) history(c *client, payload []byte) shared.Response {
	var req shared.HistoryRequest
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Target == "" {
		return refuse(shared.BadRequest("target", "required"))
	}
	before, _, err := shared.ParseOffset(req.Before)
	if err != nil {
		return refuse(shared.BadRequest("before", "expected a decimal sequence number"))
	}
	limit := shared.DefaultLimit
	if l := strings.Trim(strings.TrimSpace(string(req.Limit)), `"`); l != "" && l != "null" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > shared.MaxLimit {
			return refuse(shared.BadRequest("limit", "expected a number from 1 to 100"))
		}
		limit = n
	}
	key := shared.Fold(req.Target)
	cmd := req.Command
	if cmd == "" {
		cmd = shared.CommandChat
		if _, _, _, found := s.hub.room(key, c.userKey); found {
			cmd = shared.CommandGroupchat
		}
	}
	q := store.HistoryQuery{User: c.user.ID, Command: cmd, Target: req.Target, Before: before, Limit: limit}
	switch cmd {
	case shared.CommandGroupchat:
		id, _, member, found := s.hub.room(key, c.userKey)
		if !found {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.Target))
		}
		if !member {
			return refuse(shared.Errorf(shared.CodeForbidden, "join the room first"))
		}
		q.Target = id
	case shared.CommandChat:
		if key == shared.Fold(shared.All) {
			q.Target = shared.All
			break
		}
		p, err := s.knownUser(c.sock.Context(), req.Target)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such user %s", req.Target))
		} else if err != nil {
			return c.internal("history: load user", err)
		}
		q.Target = p.ID
	default:
		return refuse(shared.BadRequest("command", "expected chat or groupchat"))
	}
	msgs, err := s.store.History(c.sock.Context(), q)
	if err != nil {
		return c.internal("history", err)
	}
	r := ok("history")
	r.Messages = msgs
	return r
}
