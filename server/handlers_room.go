package server

import (
	"errors"

	"chatapp/server/store"
	"chatapp/shared"
)

func (s *Server) room(c *client, payload []byte) shared.Response {
	var req shared.RoomRequest
	if err := shared.Decode(payload, &req); err != nil {
		return refuse(err)
	}
	if req.Command == shared.RoomList {
		c.sock.Send(s.hub.roomFrame(), 0)
		return ok("room list sent")
	}
	switch req.Command {
	case shared.RoomCreate, shared.RoomUpdate, shared.RoomDelete, shared.RoomJoin, shared.RoomLeave:
	default:
		return refuse(shared.BadRequest("command", "expected create, update, delete, join, leave or list"))
	}
	if err := shared.ValidRoomID("roomId", req.RoomID); err != nil {
		return refuse(err)
	}
	if req.Command == shared.RoomCreate || req.Command == shared.RoomUpdate {
		if req.RoomName == "" {
			return refuse(shared.BadRequest("roomName", "required"))
		}
		if err := shared.ValidName("roomName", req.RoomName, shared.MaxRoomName); err != nil {
			return refuse(err)
		}
	}
	ctx := c.sock.Context()
	key := shared.Fold(req.RoomID)
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	id, owner, _, found := s.hub.room(key, c.userKey)
	if req.Command == shared.RoomCreate {
		if found {
			return refuse(shared.Errorf(shared.CodeConflict, "room %s already exists", id))
		}
		if s.hub.roomsOwned(c.userKey) >= s.cfg.MaxRoomsPerUser {
			return refuse(shared.Errorf(shared.CodeForbidden, "you own %d rooms, the most allowed; delete one first", s.cfg.MaxRoomsPerUser))
		}
		if err := s.store.CreateRoom(ctx, req.RoomID, req.RoomName, c.user.ID); err != nil {
			if errors.Is(err, store.ErrExists) {
				return refuse(shared.Errorf(shared.CodeConflict, "room %s already exists", req.RoomID))
			}
			return c.internal("room: create", err)
		}
		s.hub.setRoom(req.RoomID, req.RoomName, c.user.ID, []string{c.user.ID})
		s.broadcastRooms()
		return ok("room created")
	}
	if !found {
		return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.RoomID))
	}
	isOwner := shared.Fold(owner) == c.userKey
	changed := true
	var err error
	switch req.Command {
	case shared.RoomUpdate:
		if !isOwner {
			return refuse(shared.Errorf(shared.CodeForbidden, "only the owner may rename the room"))
		}
		if err = s.store.RenameRoom(ctx, id, req.RoomName); err == nil {
			s.hub.renameRoom(key, req.RoomName)
		}
	case shared.RoomDelete:
		if !isOwner {
			return refuse(shared.Errorf(shared.CodeForbidden, "only the owner may delete the room"))
		}
		if err = s.store.DeleteRoom(ctx, id); err == nil {
			s.roomDeleted(key, id)
		}
	case shared.RoomJoin:
		if err = s.store.Join(ctx, id, c.user.ID); err == nil {
			changed = s.hub.setMember(key, c.userKey, true)
		}
	case shared.RoomLeave:
		if err = s.store.Leave(ctx, id, c.user.ID); err == nil {
			changed = s.hub.setMember(key, c.userKey, false)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return refuse(shared.Errorf(shared.CodeNotFound, "no such room %s", req.RoomID))
	}
	if err != nil {
		return c.internal("room: "+req.Command, err)
	}
	if changed { // a repeated join or leave changes nothing and pushes nothing
		s.broadcastRooms()
	}
	return ok("room " + req.Command + " done")
}

// roomDeleted tells the members, then forgets the room.
func (s *Server) roomDeleted(key, id string) {
	frame, err := shared.EventFrame(shared.EventRoom, shared.RoomEvent{Command: shared.RoomDeleted, RoomID: id})
	if err == nil {
		targets := getSockets()
		*targets = s.hub.roomSockets(*targets, key)
		for _, so := range *targets {
			so.Send(frame, 0)
		}
		putSockets(targets)
	}
	s.hub.deleteRoom(key)
}
