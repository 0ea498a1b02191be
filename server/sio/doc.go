// Package sio is the server side of Socket.IO v5 over Engine.IO v4
// (../shared/SOCKETIO.md in the design docs), on its own server side of
// RFC 6455 (ws.go).
// It knows nothing about the chat: a Handler receives namespace connects,
// events and disconnects, and sends through a Socket.
//
// Both transports of a stock client are served: WebSocket
// (transports: ['websocket']), and HTTP long-polling with the upgrade to
// WebSocket (the default io(url)). A Socket, its outbox and the Handler
// calls are the same whichever transport carries the session, and stay the
// same across an upgrade: the application never learns which one is used.
//
// # Transports
//
// A WebSocket session writes one packet per frame; the writer queues the
// frames of a batch and writes them with one syscall (write coalescing).
// ws.go is the WebSocket server side: no extensions, text must be UTF-8
// (else close 1007), messages over Config.MaxPayload close with 1009. The
// Go clients in this repo use github.com/coder/websocket. A polling session
// (polling.go) buffers frames for the one GET that may be pending, which
// takes them all, joined by the record separator; a POST's packets are
// handled in order before it is answered. The upgrade (upgrade.go) probes
// a second connection with 2probe/3probe, releases the pending GET with a
// noop, and on `5` the frames no GET collected go out first on the
// WebSocket, then the rest of the outbox: nothing is lost, duplicated or
// reordered. Polling sessions live in this process's memory, so behind a
// load balancer every request of a session must reach the same node
// (sticky sessions); WebSocket-only clients need no stickiness.
//
// # Goroutines
//
// Each session has one writer goroutine, the only one that writes to the
// transport. It drains an ordered, byte-accounted outbox. Heartbeat,
// connect and write timeouts are timers, not goroutines. Send never
// blocks: a socket whose outbox passes Config.SendBuffer is closed as a
// slow consumer, and so is a polling client that collects nothing for
// Config.WriteTimeout while frames wait. A WebSocket session's read loop
// runs on its HTTP handler goroutine; a polling session's packets are
// handled on the goroutine of the POST that carried them, and after an
// upgrade on the WebSocket's handler goroutine.
//
// All Socket and Server methods are safe for concurrent use. Handler
// methods for one session run one at a time and in the order the packets
// arrived (polling sessions serialize them with a lock); they must not
// block for long, or that client's reading stalls.
//
// Frames passed to Send are shared, never modified, and may be queued on
// many sockets: encode once, fan out.
//
// Only the standard library is imported.
package sio
