package server

import (
	"errors"
	"time"

	"chatapp/server/store"
	"chatapp/shared"
)

func (s *Server) message(c *client, payload []byte) shared.Response {
	var req shared.SendMessage
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Sender != "" && shared.Fold(req.Sender) != c.userKey {
		return refuse(shared.Errorf(shared.CodeForbidden, "sender must be your own id"))
	}
	if req.Type == "" {
		req.Type = shared.TypeText
	}
	if req.Type != shared.TypeText {
		return refuse(shared.BadRequest("type", "only text is supported"))
	}
	if err := shared.ValidMessageText(req.Data, s.cfg.MaxText); err != nil {
		return refuse(err)
	}
	if req.CID != "" {
		if err := shared.ValidText("cid", req.CID, shared.MaxCID); err != nil {
			return refuse(err)
		}
	}
	m := shared.Message{Sender: c.user.ID, Command: req.Command, Type: req.Type, Data: req.Data, CID: req.CID}
	switch req.Command {
	case shared.CommandChat:
		if req.Recipient == "" {
			return refuse(shared.BadRequest("recepient", "required"))
		}
		if shared.Fold(req.Recipient) == shared.Fold(shared.All) {
			m.Recipient = shared.All
			break
		}
		p, err := s.knownUser(c.sock.Context(), req.Recipient)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such user %s", req.Recipient))
		} else if err != nil {
			return c.internal("message: load recipient", err)
		}
		m.Recipient = p.ID
	case shared.CommandGroupchat:
		if req.Recipient == "" {
			return refuse(shared.BadRequest("recepient", "required"))
		}
		id, _, member, found := s.hub.room(shared.Fold(req.Recipient), c.userKey)
		if !found {
			return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.Recipient))
		}
		if !member {
			return refuse(shared.Errorf(shared.CodeForbidden, "join the room first"))
		}
		m.Recipient = id
	default:
		return refuse(shared.BadRequest("command", "expected chat or groupchat"))
	}
	start := time.Now()
	stored, dup, err := s.store.AppendFrom(c.sock.Context(), m, c.sock)
	s.metrics.appendHist.observe(time.Since(start))
	if errors.Is(err, store.ErrNotFound) { // the room was deleted meanwhile
		return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.Recipient))
	}
	if err != nil {
		return c.internal("message: append", err)
	}
	r := ok("sent")
	if dup {
		r.Message = "already sent"
	}
	r.Seq, r.Time = stored.Seq.String(), stored.Time
	return r
}
