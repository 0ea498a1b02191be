// Package sio is the server side of Socket.IO v5 over Engine.IO v4
// (../shared/SOCKETIO.md in the design docs) on github.com/coder/websocket.
// It knows nothing about the chat: a Handler receives namespace connects,
// events and disconnects, and sends through a Socket.
//
// Only the WebSocket transport exists for now. A request with
// transport=polling gets HTTP 400 {"code":0,"message":"Transport unknown"},
// so clients must be started with transports: ['websocket']. The outbox of a
// Socket does not depend on the transport, so long-polling can be added
// beside the WebSocket writer later without changing the Handler API.
//
// # Goroutines
//
// Each session has two goroutines: the HTTP handler goroutine runs the read
// loop and calls the Handler (so one socket's events arrive in order), and
// one writer goroutine is the only one that writes to the WebSocket. It
// drains an ordered, byte-accounted outbox. Heartbeat, connect and write
// timeouts are timers, not goroutines. Send never blocks: a socket whose
// outbox passes Config.SendBuffer is closed as a slow consumer.
//
// All Socket and Server methods are safe for concurrent use. Handler
// methods for one session run one at a time, on its read goroutine (only
// Disconnect may run on the goroutine that ends the session); they must not
// block for long, or that client's reading stalls.
//
// Frames passed to Send are shared, never modified, and may be queued on
// many sockets: encode once, fan out.
//
// Only the standard library and coder/websocket are imported.
package sio
