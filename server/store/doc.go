// Package store is chatapp's embedded SQLite store: accounts, session
// tokens, rooms, membership and the message log, in one file,
// <data dir>/chatapp.db (DESIGN.md "Storage and recovery").
//
// It uses modernc.org/sqlite (pure Go, builds with CGO_ENABLED=0) in WAL
// mode with synchronous=FULL: every method that changes something returns
// only after the change is on stable storage, so a change answered 200
// survives kill -9 and power loss. The schema comes from the numbered files
// in migrations/, embedded in the binary and applied at Open in one
// transaction; PRAGMA user_version records the last one applied. Open
// refuses a database whose schema is newer than the binary (ErrNewerSchema)
// and a file that is not a database (ErrCorrupt) without changing either.
//
// Ids of users and rooms are unique regardless of case: each row keeps the
// display id it was created with and is keyed by shared.Fold of it. Every
// method accepts ids in any case.
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
// Messages are written by one committer goroutine. Append queues its
// message and waits. The committer takes the first waiting message, then
// everything else already queued (up to Options.MaxBatch), and writes them
// all in one transaction: it drops retries (same sender and cid), assigns
// consecutive seqs from a counter it keeps in memory, and commits, which
// costs one fsync for the whole batch. While that fsync runs, new messages
// queue up, so batches grow with the load and durability does not cap
// throughput at one fsync per message. After the commit the committer calls
// Options.OnCommit with the batch's new messages in seq order (the server
// fans out from there, so fan-out is in seq order too) and only then wakes
// the Append callers. Seqs are global, increasing and gap-free as assigned;
// they are never reused, even after DeleteRoom deletes messages.
//
// Other writes (users, tokens, rooms, membership) go straight to the write
// connection and are durable when they return. Close lets every queued
// Append complete before it closes the database.
//
// Only package server imports this package; it imports shared and the SQL
// driver. It logs migrations and failed commits, never passwords, tokens or
// message bodies.
package store
