package server

import (
	"slices"
	"sync"
	"time"

	"chatapp/server/sio"
	"chatapp/shared"
)

// typing tells the others in a conversation that the user is typing
// (PROTOCOL.md 4.8): not stored, at most one per user and conversation
// every shared.TypingEvery (the rest are dropped and still answered 200),
// and answered only with an ack (Event).
func (s *Server) typing(c *client, payload []byte) shared.Response {
	var req shared.Typing
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if err := shared.ValidConversation("recepient", req.Recipient, req.Command, false); err != nil {
		return refuse(err)
	}
	if shared.Fold(req.Recipient) == shared.Fold(shared.All) {
		return refuse(shared.BadRequest("recepient", "typing is not sent to ALL"))
	}
	conv, target, refusal, err := s.conversation(c, req.Recipient, req.Command)
	if refusal != nil {
		return refuse(refusal)
	}
	if err != nil {
		return c.internal("typing: resolve conversation", err)
	}
	if !s.typingGate.allow(c.userKey+"\x00"+string(conv), now()) {
		return ok("typing dropped: too soon after the last")
	}
	frame, err := shared.EventFrame(shared.EventTyping, shared.Typing{Sender: c.user.ID, Recipient: target, Command: conv.Command()})
	if err != nil {
		return c.internal("typing: encode", err)
	}
	targets := getSockets()
	defer putSockets(targets)
	var list []*sio.Socket
	if key, isRoom := conv.RoomKey(); isRoom {
		// The other members: none of the typist's own sockets.
		list = s.hub.roomSockets((*targets)[:0], key)
		mine := s.hub.userSockets(nil, c.userKey)
		list = slices.DeleteFunc(list, func(so *sio.Socket) bool { return slices.Contains(mine, so) })
	} else {
		// The other user, and the typist's other sockets.
		a, b, _ := conv.Users()
		list = s.hub.userSockets((*targets)[:0], a, b)
		list = slices.DeleteFunc(list, func(so *sio.Socket) bool { return so == c.sock })
	}
	for _, so := range list {
		so.Send(frame, 0)
	}
	clear(list)
	*targets = list[:0]
	return ok("typing sent")
}

// typingGate lets one typing event per user and conversation through
// every shared.TypingEvery (PROTOCOL.md 4.8). It forgets what is older
// than that whenever it has grown, so it holds about what the last few
// seconds of typing saw.
type typingGate struct {
	mu        sync.Mutex
	last      map[string]time.Time // user key NUL conversation → when one last went through
	lastSweep time.Time
}

// typingSweepAt is the size past which the gate looks for what it may
// forget, at most once every shared.TypingEvery.
const typingSweepAt = 1024

// allow reports whether a typing event for key at t goes through, and if
// so records it.
func (g *typingGate) allow(key string, t time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.last[key]; ok && t.Sub(last) < shared.TypingEvery && !t.Before(last) {
		return false
	}
	if g.last == nil {
		g.last = map[string]time.Time{}
	}
	if len(g.last) >= typingSweepAt && t.Sub(g.lastSweep) >= shared.TypingEvery {
		g.lastSweep = t
		for k, last := range g.last {
			if t.Sub(last) >= shared.TypingEvery {
				delete(g.last, k)
			}
		}
	}
	g.last[key] = t
	return true
}
