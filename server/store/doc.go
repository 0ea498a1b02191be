// Package store is chatapp's embedded SQLite store: accounts, session
// tokens, rooms, membership, and the log of sequenced events (messages and
// their edits, deletions and reactions) with the state derived from it,
// in one file, <data dir>/chatapp.db. docs/STORAGE.md describes the schema
// and why it is shaped so.
//
// It uses modernc.org/sqlite (pure Go, builds with CGO_ENABLED=0) in WAL
// mode with synchronous=FULL: every method that changes something returns
// only after the change is on stable storage, so a change answered 200
// survives kill -9 and power loss. The schema comes from the numbered files
// in migrations/, embedded in the binary and applied at Open in one
// transaction; PRAGMA user_version records the last one applied. Open
// refuses a database whose schema is newer than the binary (ErrNewerSchema)
// and a file that is not a database (ErrCorrupt) without changing either.
// A version 1 database (messages table) is converted in place by 003_v2.
//
// Ids of users and rooms are unique regardless of case: each row keeps the
// display id it was created with and is keyed by shared.Fold of it. Every
// method accepts ids in any case.
//
// # Conversations
//
// Every event belongs to a conversation, named by a Conv key: ALL, a room,
// or the two users of a direct conversation. Replay (Since) reads the
// conversations a user sees now; History one conversation. Both show a
// message as it is now: its current text and reactions, or deleted.
// Conversations lists a user's conversations with their unread and
// mention counts, from the read marks SetRead keeps (docs/STORAGE.md).
//
// # Goroutine safety
//
// A Store is safe for concurrent use by any number of goroutines. It holds
// two connection pools on the same file: one write connection
// (MaxOpenConns 1), which serializes all writes, and a pool of read-only
// connections, which in WAL mode read concurrently with each other and with
// the writer and always see the last committed state.
//
// # Group commit
//
// Sequenced events are written by one committer goroutine. Append queues
// its message or change and waits. The committer takes the first waiting
// event, then everything else already queued (up to Options.MaxBatch), and
// writes them all in one transaction: it drops retries (same sender and
// cid), assigns consecutive seqs from a counter it keeps in memory, writes
// each event and what derives from it, and commits, which costs one fsync
// for the whole batch. While that fsync runs, new events queue up, so
// batches grow with the load and durability does not cap throughput at one
// fsync per message. After the commit the committer calls
// Options.OnCommit with the batch's new events in seq order (the server
// fans out from there, so fan-out is in seq order too) and only then wakes
// the Append callers. Seqs are global, increasing and gap-free as assigned;
// they are never reused, even after DeleteRoom deletes a room's events.
//
// The state derived from the events (each conversation's message count,
// each user's side of a conversation, mentions, reactions, a message's
// current text) is a function of the events in seq order, written in the
// same transaction; the committer's in-memory caches of it are only
// caches.
//
// Other writes (users, tokens, rooms, membership) go straight to the write
// connection and are durable when they return. Close lets every queued
// Append complete before it closes the database, and truncates the WAL.
//
// Only package server imports this package; it imports shared and the SQL
// driver. It logs migrations and failed commits, never passwords, tokens or
// message bodies.
package store
