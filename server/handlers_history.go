package server

import (
	"chatapp/server/store"
	"chatapp/shared"
)

// history answers a page of one conversation's messages as they are now
// (PROTOCOL.md 4.5): edited text, deleted ones without it, reactions.
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
	limit, bad := shared.ParseLimit("limit", req.Limit, shared.DefaultLimit, shared.MaxLimit)
	if bad != nil {
		return refuse(bad)
	}
	conv, target, refusal, err := s.conversation(c, req.Target, req.Command)
	if refusal != nil {
		return refuse(refusal)
	}
	if err != nil {
		return c.internal("history: load user", err)
	}
	q := store.HistoryQuery{User: c.user.ID, Command: conv.Command(), Target: target, Before: before, Limit: limit}
	msgs, err := s.store.History(c.sock.Context(), q)
	if err != nil {
		return c.internal("history", err)
	}
	r := ok("history")
	r.Messages = msgs
	return r
}
