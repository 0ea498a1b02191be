package log

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what an event is about, which decides where it lives in the
// log and who may see it.
type Kind uint8

const (
	// Message is a new chat or groupchat message of conversation Topic.Key.
	Message Kind = iota + 1
	// Change is an edit, deletion or reaction of the message Topic.Ref of
	// conversation Topic.Key. Each message has its own change topic, so a
	// conditional append (Record.IfLast) decides one message's changes
	// against its latest state without serializing the conversation.
	Change
	// Control is a membership or room change about Topic.Key, a room
	// ("r:" + folded id) or an account ("u:" + folded id). Control events
	// are ordered against messages (who sees a message is decided as of
	// its seq) but never replayed to clients.
	Control
)

func (k Kind) String() string {
	switch k {
	case Message:
		return "message"
	case Change:
		return "change"
	case Control:
		return "control"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Topic is where an event lives in the log.
type Topic struct {
	Kind Kind
	// Key is a conversation key ("all", "r:<room>", "d:<lo>/<hi>") for
	// messages and changes, or a control key ("r:<room>", "u:<user>").
	// Ids in keys are already case-folded; the log compares bytes.
	Key string
	// Ref is the seq of the message a Change is about; zero otherwise.
	Ref uint64
}

// Valid reports why t cannot be appended, or nil.
func (t Topic) Valid() error {
	switch t.Kind {
	case Message, Change:
		if err := ValidConv(t.Key); err != nil {
			return err
		}
		if (t.Kind == Change) != (t.Ref != 0) {
			return fmt.Errorf("log: %s topic with ref %d", t.Kind, t.Ref)
		}
	case Control:
		if t.Ref != 0 {
			return fmt.Errorf("log: control topic with ref %d", t.Ref)
		}
		if !(strings.HasPrefix(t.Key, "r:") || strings.HasPrefix(t.Key, "u:")) || len(t.Key) == 2 {
			return fmt.Errorf("log: bad control key %q", t.Key)
		}
	default:
		return fmt.Errorf("log: unknown topic kind %d", t.Kind)
	}
	return nil
}

// ValidConv reports why key is not a conversation key, or nil. A direct
// conversation's key holds its two folded user ids in byte order, so each
// pair has one key; user ids cannot contain "/".
func ValidConv(key string) error {
	switch {
	case key == "all":
		return nil
	case strings.HasPrefix(key, "r:") && len(key) > 2:
		return nil
	case strings.HasPrefix(key, "d:"):
		lo, hi, ok := strings.Cut(key[2:], "/")
		if ok && lo != "" && hi != "" && lo <= hi && !strings.Contains(hi, "/") {
			return nil
		}
	}
	return fmt.Errorf("log: bad conversation key %q", key)
}

// DirectConv returns the key of the direct conversation of two folded
// user ids (the same for either order; a == b is notes to self).
func DirectConv(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return "d:" + a + "/" + b
}

// Record is one event to append.
type Record struct {
	Topic Topic
	// ID deduplicates retries: a record whose ID is already in the log
	// (within the implementation's window) is not stored again and is
	// answered with the first event's seq. Empty: no deduplication. The
	// server uses the sender's folded id and the message's cid.
	ID string
	// IfLast, when not nil, makes the append conditional: it is refused
	// with a *ConflictError unless the newest event on the same Topic has
	// seq *IfLast (0: the topic has no event yet). This decides control
	// events and changes against the latest state (docs/CLUSTER.md 4, 5).
	IfLast *uint64
	// Erase lists the seqs whose payloads this event erases (a deletion:
	// the message and its earlier edits). Followers drop them from their
	// memory when they see this event; Log.Erase removes them from the log.
	Erase []uint64
	// Data is the payload, encoded by the server; the log never reads it.
	Data []byte
}

// Last returns a pointer to seq, for Record.IfLast.
func Last(seq uint64) *uint64 { return &seq }

// Event is a stored record.
type Event struct {
	Seq   uint64
	Time  time.Time // when the log stored it; the same on every node
	Topic Topic
	ID    string
	Erase []uint64
	Data  []byte
}

// Result is the outcome of one appended record.
type Result struct {
	Seq uint64
	// Dup is true when the record's ID was already in the log: Seq is the
	// first event's. It can also be true for a record this very Append
	// stored on an attempt whose answer was lost (a retry through a
	// leader election); either way the record is stored exactly once.
	Dup bool
	// Err is nil when the record is stored: a *ConflictError (errors.Is
	// ErrConflict), ErrUnavailable when the log could not be reached in
	// time, or another error for a record the log refuses.
	Err error
}

var (
	// ErrConflict: a conditional append (Record.IfLast) found a newer event
	// on its topic. Read the new state and decide again.
	ErrConflict = errors.New("log: conflict")
	// ErrUnavailable: the log did not answer in time (no quorum, no
	// connection, an election that did not end). The record may or may not
	// be stored; a retry with the same ID is safe.
	ErrUnavailable = errors.New("log: unavailable")
	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("log: closed")
	// ErrOutOfOrder: a follower was handed an event whose seq is not above
	// the previous one. Never expected; a follower stops rather than show
	// a client a reordering.
	ErrOutOfOrder = errors.New("log: event out of order")
)

// ConflictError is a refused conditional append.
type ConflictError struct {
	// Last is the seq of the newest event on the topic when the log knows
	// it (0 when it does not say).
	Last uint64
}

func (e *ConflictError) Error() string {
	if e.Last == 0 {
		return "log: conflict: the topic has a newer event"
	}
	return fmt.Sprintf("log: conflict: the topic's newest event is %d", e.Last)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Filter selects the conversations a replay covers. Control events never
// match.
type Filter struct {
	// Convs are conversation keys ("all", "r:<room>", "d:<lo>/<hi>").
	Convs []string
	// DirectOf, when not empty, adds every direct conversation of this
	// folded user id, including ones the caller does not know of yet.
	DirectOf string
}

// Match reports whether t is a message or change of a selected
// conversation.
func (f Filter) Match(t Topic) bool {
	if t.Kind != Message && t.Kind != Change {
		return false
	}
	if f.DirectOf != "" && strings.HasPrefix(t.Key, "d:") {
		lo, hi, _ := strings.Cut(t.Key[2:], "/")
		if lo == f.DirectOf || hi == f.DirectOf {
			return true
		}
	}
	for _, c := range f.Convs {
		if c == t.Key {
			return true
		}
	}
	return false
}

// Valid reports why f cannot be used, or nil.
func (f Filter) Valid() error {
	for _, c := range f.Convs {
		if err := ValidConv(c); err != nil {
			return err
		}
	}
	if strings.Contains(f.DirectOf, "/") {
		return fmt.Errorf("log: bad user id %q", f.DirectOf)
	}
	return nil
}

// Log is the ordered, durable sequence of events.
type Log interface {
	// Append stores recs and returns one Result per record, in order. The
	// records of one call get increasing seqs in their order unless one had
	// to be retried; the log never reorders events once stored. The error
	// is for the call as a whole (bad input, a closed log, ctx); per-record
	// outcomes are in the Results.
	Append(ctx context.Context, recs []Record) ([]Result, error)

	// Follow calls fn with every event of seq > after, in increasing seq
	// order, until ctx ends (it returns ctx.Err()), fn returns an error
	// (returned), or the log fails for good. It waits for new events
	// while there are none, and rides out the log's outages by itself.
	Follow(ctx context.Context, after uint64, fn func(Event) error) error

	// Replay returns the newest limit events matching f with
	// after < seq <= upto, in increasing seq order, and whether older
	// matching events in that range were left out. limit <= 0 means no
	// limit. Erased events are absent.
	Replay(ctx context.Context, f Filter, after, upto uint64, limit int) (evs []Event, more bool, err error)

	// Last returns the seq of the newest event stored (0 if none).
	Last(ctx context.Context) (uint64, error)

	// Erase removes the events with these seqs (a deletion's message and
	// edits) so that neither Follow nor Replay returns them again. Seqs
	// that are already gone are not an error.
	Erase(ctx context.Context, seqs []uint64) error

	// Close releases the log's resources; it does not close a connection
	// the caller handed in.
	Close() error
}
