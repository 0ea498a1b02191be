package server

import (
	"errors"
	"time"

	"chatapp/server/sio"
	"chatapp/server/store"
	"chatapp/shared"
)

// message sends a message (PROTOCOL.md 4.3) or, with command edit, delete
// or react, changes an earlier one (4.6, change).
func (s *Server) message(c *client, payload []byte) shared.Response {
	var req shared.SendMessage
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Sender != "" && shared.Fold(req.Sender) != c.userKey {
		return refuse(shared.Errorf(shared.CodeForbidden, "sender must be your own id"))
	}
	if shared.IsChange(req.Command) {
		return s.change(c, req)
	}
	if req.Type == "" {
		req.Type = shared.TypeText
	}
	var file *shared.FileInfo
	switch req.Type {
	case shared.TypeText:
		if req.File != "" {
			return refuse(shared.BadRequest("file", "only a message of type file names one"))
		}
	case shared.TypeFile:
		var res *shared.Response
		if file, res = s.messageFile(c, &req); res != nil {
			return *res
		}
	default:
		return refuse(shared.BadRequest("type", "expected text or file"))
	}
	if err := shared.ValidMessageText(req.Data, s.cfg.MaxText); err != nil {
		return refuse(err)
	}
	if req.CID != "" {
		if err := shared.ValidText("cid", req.CID, shared.MaxCID); err != nil {
			return refuse(err)
		}
	}
	if err := shared.ValidReplyTo(req.ReplyTo); err != nil {
		return refuse(err)
	}
	m := shared.Message{Sender: c.user.ID, Command: req.Command, Type: req.Type, Data: req.Data, CID: req.CID, File: file}
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
		if shared.Fold(req.Recipient) == shared.Fold(shared.All) {
			// ALL is reserved, never a room: as in the original server,
			// whose default send is groupchat to ALL, it is the broadcast,
			// stored and delivered as chat to ALL.
			m.Command, m.Recipient = shared.CommandChat, shared.All
			break
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
		return refuse(shared.BadRequest("command", "expected chat, groupchat, edit, delete or react"))
	}
	conv := store.ConvOf(m.Command, m.Sender, m.Recipient)
	if req.ReplyTo != nil {
		orig, oc, err := s.store.Event(c.sock.Context(), *req.ReplyTo)
		if errors.Is(err, store.ErrNotFound) || err == nil && (oc != conv || shared.IsChange(orig.Command)) {
			return refuse(shared.BadRequest("replyTo", "not a message of this conversation"))
		}
		if err != nil {
			return c.internal("message: load replyTo", err)
		}
		m.ReplyTo = *req.ReplyTo
	}
	m.Mentions = s.mentions(conv, m.Data)
	start := time.Now()
	stored, dup, err := s.store.AppendFrom(c.sock.Context(), m, c.sock)
	s.metrics.appendHist.observe(time.Since(start))
	if errors.Is(err, store.ErrNoFile) { // erased meanwhile (a sweep)
		return refuse(shared.Errorf(shared.CodeNotFound, "no such file %s of yours", req.File))
	}
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

// change edits, deletes or reacts to an earlier message (PROTOCOL.md
// 4.6). The handler checks that the user can see the message (404
// otherwise, as for a message that does not exist) and may change it
// (403); the store re-checks that it still exists and is not deleted when
// the change commits, and decides a reaction's direction.
func (s *Server) change(c *client, req shared.SendMessage) shared.Response {
	if err := shared.ValidRef(req.Ref); err != nil {
		return refuse(err)
	}
	switch req.Command {
	case shared.CommandEdit:
		if err := shared.ValidMessageText(req.Data, s.cfg.MaxText); err != nil {
			return refuse(err)
		}
	case shared.CommandReact:
		if err := shared.ValidEmoji("data", req.Data); err != nil {
			return refuse(err)
		}
	case shared.CommandDelete:
		req.Data = "" // a delete carries no text
	}
	if req.CID != "" {
		if err := shared.ValidText("cid", req.CID, shared.MaxCID); err != nil {
			return refuse(err)
		}
	}
	ctx := c.sock.Context()
	ref := *req.Ref
	orig, conv, err := s.store.Event(ctx, ref)
	if errors.Is(err, store.ErrNotFound) || err == nil && (shared.IsChange(orig.Command) || orig.Deleted || !s.canSee(c, conv)) {
		return refuse(shared.Errorf(shared.CodeNotFound, "ref %s: no such message", ref.String()))
	}
	if err != nil {
		return c.internal("message: load ref", err)
	}
	mine := shared.Fold(orig.Sender) == c.userKey
	switch req.Command {
	case shared.CommandEdit:
		if !mine {
			return refuse(shared.Errorf(shared.CodeForbidden, "only the sender may edit a message"))
		}
	case shared.CommandDelete:
		if !mine && !s.ownsRoom(c, conv) {
			return refuse(shared.Errorf(shared.CodeForbidden, "only the sender or the room's owner may delete a message"))
		}
	}
	m := shared.Message{Sender: c.user.ID, Command: req.Command, Ref: ref, Data: req.Data, CID: req.CID}
	if req.Command == shared.CommandEdit {
		m.Mentions = s.mentions(conv, m.Data)
	}
	var origin any = c.sock
	if a, b, direct := conv.Users(); direct {
		origin = &changeOrigin{sock: c.sock, users: [2]string{a, b}}
	}
	stored, dup, err := s.store.AppendFrom(ctx, m, origin)
	switch {
	case errors.Is(err, store.ErrNotFound): // deleted meanwhile
		return refuse(shared.Errorf(shared.CodeNotFound, "ref %s: no such message", ref.String()))
	case errors.Is(err, store.ErrLimit):
		return refuse(shared.Errorf(shared.CodeConflict, "a message holds at most %d different reactions", shared.MaxReactions))
	case err != nil:
		return c.internal("message: append "+req.Command, err)
	}
	r := ok(req.Command + " done")
	if dup {
		r.Message = "already done"
	}
	r.Seq, r.Time = stored.Seq.String(), stored.Time
	return r
}

// changeOrigin is the origin of a change to a direct message: its sending
// socket, which has its answer, and the conversation's two users (folded),
// whom the change reaches whoever of them made it (FanoutFrom).
type changeOrigin struct {
	sock  *sio.Socket
	users [2]string
}

// ownsRoom reports whether conv is a room that c's user owns.
func (s *Server) ownsRoom(c *client, conv store.Conv) bool {
	key, ok := conv.RoomKey()
	if !ok {
		return false
	}
	_, owner, _, found := s.hub.room(key, c.userKey)
	return found && shared.Fold(owner) == c.userKey
}

// mentions returns the accounts that text mentions in conversation conv
// (PROTOCOL.md 4.7): of the ids it names, those of known accounts that
// can see conv, at most shared.MaxMentions, as their display ids, in order
// of first appearance. A direct conversation mentions no one.
func (s *Server) mentions(conv store.Conv, text string) []string {
	if conv.IsDirect() {
		return nil
	}
	roomKey, inRoom := conv.RoomKey()
	var ids []string
	for _, id := range shared.MentionCandidates(text) {
		p, known := s.hub.user(id)
		if !known {
			continue
		}
		if inRoom {
			if _, _, member, _ := s.hub.room(roomKey, shared.Fold(p.ID)); !member {
				continue
			}
		}
		ids = append(ids, p.ID)
		if len(ids) == shared.MaxMentions {
			break
		}
	}
	return ids
}
