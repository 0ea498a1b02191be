package server

import (
	"errors"

	"chatapp/server/store"
	"chatapp/shared"
)

// read sets the user's read mark of a conversation (PROTOCOL.md 4.9). The
// mark only moves forward; when it moves, the user's other sockets are
// told, so that every device shows the same unread counts.
func (s *Server) read(c *client, payload []byte) shared.Response {
	var req shared.ReadRequest
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if err := shared.ValidConversation("target", req.Target, req.Command, false); err != nil {
		return refuse(err)
	}
	if req.Seq == nil {
		return refuse(shared.BadRequest("seq", "required: the seq of an event of the conversation"))
	}
	conv, target, refusal, err := s.conversation(c, req.Target, req.Command)
	if refusal != nil {
		return refuse(refusal)
	}
	if err != nil {
		return c.internal("read: resolve conversation", err)
	}
	moved, err := s.store.SetRead(c.sock.Context(), c.userKey, conv, *req.Seq)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(shared.Errorf(shared.CodeNotFound, "seq %s is not an event of this conversation", req.Seq.String()))
	}
	if err != nil {
		return c.internal("read: set mark", err)
	}
	if !moved {
		return ok("read mark unchanged")
	}
	frame, err := shared.EventFrame(shared.EventRead, shared.Read{Target: target, Command: conv.Command(), Seq: *req.Seq})
	if err != nil {
		return c.internal("read: encode", err)
	}
	targets := getSockets()
	*targets = s.hub.userSockets(*targets, c.userKey)
	for _, so := range *targets {
		if so != c.sock {
			so.Send(frame, 0)
		}
	}
	putSockets(targets)
	return ok("read")
}
