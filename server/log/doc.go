// Package log is chatapp's Log seam: the one ordered, durable sequence of
// events that gives every message, edit, deletion and reaction its `seq`,
// and that orders membership changes against them (docs/CLUSTER.md).
//
// A Log appends batches of records and returns their seqs, follows the
// sequence in order from a seq, and replays the events of a set of
// conversations between two seqs. The cluster's Log is NATS JetStream
// (package server/log/jetstream); the single binary will get an
// in-process one. Both pass the conformance suite in server/log/logtest.
//
// Tail is the piece a node runs on top of any Log: its one follower, a
// ring of the events it followed (so most replays cost no I/O), the
// barrier that lets a node answer 200 only once its own fan-out has passed
// the seq (Wait), and the hand-off point where a replay meets live
// traffic (Sync).
//
// The log never interprets an event's payload: the server encodes it.
// It knows only what it needs to route: the Topic (which conversation, and
// for a change which message), the dedup ID, and the seqs a deletion
// erases. Conversation keys are the v2 plan's: "all", "r:" + folded room
// id, "d:" + lo + "/" + hi of two folded user ids.
//
// The package name shadows the standard library's log, which chatapp
// does not use (it logs with log/slog).
//
// Everything here is safe for concurrent use unless its doc says
// otherwise. It imports only the standard library.
package log
