// Package jetstream is chatapp's cluster Log (server/log) on NATS
// JetStream: one replicated stream whose sequence is the cluster's `seq`
// (docs/CLUSTER.md).
//
//   - Append publishes each record asynchronously on the connection, with
//     Nats-Msg-Id for deduplication and Nats-Expected-Last-Subject-Sequence
//     for conditional appends, and retries what timed out or found no
//     stream leader with the same id until Config.RetryFor, so a leader
//     election (a few seconds) costs latency, not a lost or doubled event.
//   - Follow reads the whole stream in order with one ordered consumer of
//     the jetstream package (pull based, recreated from the last delivered
//     sequence after any gap or reconnect), and recreates it by itself from
//     its own last sequence if the consumer gives up.
//   - Replay reads a range with a multi-filter ephemeral consumer. Creating a
//     consumer costs a round of the cluster's meta group (and with filters
//     a count of pending messages on the stream leader, slow on big
//     streams: nats-server #7082), so a node replays recent ranges from
//     its Tail's ring and uses this only for older ones.
//
// Subjects are in subject.go. The stream must live on servers run with
// `sync_interval: always` (Options.SyncAlways when embedded): by default
// nats-server acknowledges a publish before it is on disk (nats-server
// #7564). Package natstest starts such a cluster inside a test.
//
// A Log is safe for concurrent use. It never logs payloads.
package jetstream
