// Package server is the chat server of PROTOCOL.md: HTTP routes, the chat
// handlers of every event, the hub (who is online, rooms and membership,
// fan-out) and session recovery. It runs on the Engine.IO/Socket.IO
// transport of package server/sio and the SQLite store of server/store.
//
// The way of one message: the socket's read goroutine decodes an event
// (sio), the handler validates and authorizes it (handlers.go), the store
// appends it durably with group commit, the store's committer calls
// Server.fanout in seq order, which encodes the frame once and queues the
// same bytes on every target socket; each socket's writer goroutine writes
// it. The hub's lock is held only to copy target lists, never for I/O or a
// store call.
//
// Changes that end sessions may be made by another process (the admin
// CLI, later another node): the store logs them, and every server reads
// the log once a second and disconnects the sockets they name
// (revoke.go). One client or address is held to its share by the limits
// of Config and the listener of Serve (listener.go, limits.go; the threat
// model is in docs/RELIABILITY.md).
//
// server never imports the UI (app, go-app) or the CLI (kong); main wires
// them together.
package server
