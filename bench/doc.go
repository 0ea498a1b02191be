// Package bench is the load generator behind `chatapp bench`: a small,
// allocation-lean Socket.IO v5 over Engine.IO v4 WebSocket client that
// drives any server speaking PROTOCOL.md (chatapp, or the Node reference
// peer in bench/peer) through one scenario and reports throughput,
// end-to-end latency, errors, and, with a server pid, the server's CPU time
// per delivery and memory per connection.
//
// Scenarios: fanout (one room, S senders), dm (pairs), broadcast (to ALL),
// idle (N logged-in connections held) and storm (N clients reconnect at
// once with {token, offset} after missing messages; every missed message
// must arrive exactly once, in order).
//
// Every message's data starts with the send time (16 hex digits of Unix
// nanoseconds), so a receiver on the same machine computes the end-to-end
// latency without any clock sync.
//
// The generator only talks to loopback addresses unless told otherwise,
// caps connections and duration, and stops by itself. Run is safe to call
// from one goroutine at a time.
package bench
