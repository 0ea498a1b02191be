package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"chatapp/shared"
)

// recorder is an OnCommit that records batches and can stall the
// committer inside OnCommit, so that tests can queue appends behind it and
// control what the next batch holds.
type recorder struct {
	mu      sync.Mutex
	batches [][]shared.Message

	stall atomic.Bool   // the next OnCommit waits for release
	held  chan struct{} // receives when a stalled OnCommit starts waiting
	hold  chan struct{} // closed to release it
}

func newRecorder() *recorder {
	return &recorder{held: make(chan struct{}, 1), hold: make(chan struct{})}
}

func (r *recorder) onCommit(msgs []shared.Message) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(msgs))
	r.mu.Unlock()
	if r.stall.CompareAndSwap(true, false) {
		r.held <- struct{}{}
		<-r.hold
	}
}

func (r *recorder) all() (batches [][]shared.Message, msgs []shared.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		msgs = append(msgs, b...)
	}
	return slices.Clone(r.batches), msgs
}

// stallCommitter appends one message and returns once the committer is
// stuck in OnCommit for it. Appends made now queue up; release lets them go
// as one batch (up to MaxBatch).
func stallCommitter(t *testing.T, s *Store, rec *recorder) (release func() shared.Message) {
	t.Helper()
	rec.stall.Store(true)
	done := make(chan shared.Message, 1)
	go func() {
		m, _, err := s.Append(context.Background(), chat("gate", "ALL", "gate"))
		if err != nil {
			t.Errorf("gate Append: %v", err)
		}
		done <- m
	}()
	select {
	case <-rec.held:
	case <-time.After(10 * time.Second):
		t.Fatal("committer did not reach OnCommit")
	}
	return func() shared.Message {
		close(rec.hold)
		return <-done
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAppendAssignsSeqAndTime(t *testing.T) {
	s, _ := newStore(t, Options{})
	before := time.Now().UTC().Truncate(time.Millisecond)
	var prev shared.Message
	for i := range 5 {
		in := chat("Alice", "Bob", fmt.Sprint("m", i))
		in.Seq, in.Time = 99, "bogus" // assigned by the store, not the caller
		m := mustAppend(t, s, in)
		if m.Seq != shared.Seq(i+1) {
			t.Fatalf("seq = %d, want %d", m.Seq, i+1)
		}
		if m.Sender != "Alice" || m.Recipient != "Bob" || m.Data != in.Data || m.Type != "text" || m.Command != "chat" {
			t.Fatalf("stored fields changed: %+v", m)
		}
		ts, err := time.Parse(shared.TimeFormat, m.Time)
		if err != nil || m.Time != shared.FormatTime(ts) {
			t.Fatalf("time %q: not RFC 3339 UTC with ms (%v)", m.Time, err)
		}
		if ts.Before(before) || ts.After(time.Now()) {
			t.Fatalf("time %v outside [%v, now]", ts, before)
		}
		if prev.Time > m.Time {
			t.Fatalf("time went back: %s then %s", prev.Time, m.Time)
		}
		prev = m
	}
	if s.LastSeq() != 5 {
		t.Fatalf("LastSeq = %d", s.LastSeq())
	}
}

func TestAppendRejectsBadInput(t *testing.T) {
	s, _ := newStore(t, Options{})
	for _, m := range []shared.Message{
		{Sender: "a", Recipient: "b", Command: "shout", Data: "x"},
		{Sender: "", Recipient: "b", Command: "chat", Data: "x"},
		{Sender: "a", Recipient: "", Command: "chat", Data: "x"},
	} {
		if _, _, err := s.Append(t.Context(), m); err == nil {
			t.Errorf("Append(%+v) succeeded", m)
		}
	}
	if s.LastSeq() != 0 {
		t.Fatal("a rejected append consumed a seq")
	}
}

func TestAppendDedupeSequential(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	ctx := t.Context()

	first := mustAppend(t, s, shared.Message{Sender: "Alice", Recipient: "bob", Command: "chat", Type: "text", Data: "one", CID: "c1"})
	for _, sender := range []string{"Alice", "alice", "ALICE"} {
		retry := first
		retry.Sender, retry.Data, retry.Seq, retry.Time = sender, "retry with other text", 0, ""
		got, dup, err := s.Append(ctx, retry)
		if err != nil || !dup || !reflect.DeepEqual(got, first) {
			t.Fatalf("retry as %q = %+v, dup=%v, %v; want first %+v, dup", sender, got, dup, err, first)
		}
	}
	// Same cid from another sender, and empty cids, are new messages.
	other := mustAppend(t, s, shared.Message{Sender: "bob", Recipient: "alice", Command: "chat", Type: "text", Data: "x", CID: "c1"})
	a := mustAppend(t, s, chat("alice", "bob", "no cid"))
	b := mustAppend(t, s, chat("alice", "bob", "no cid"))
	if other.Seq != 2 || a.Seq != 3 || b.Seq != 4 {
		t.Fatalf("seqs = %d %d %d, want 2 3 4", other.Seq, a.Seq, b.Seq)
	}
	_, msgs := rec.all()
	if len(msgs) != 4 {
		t.Fatalf("OnCommit saw %d messages, want 4 (dups are not fanned out)", len(msgs))
	}
	if st := s.Stats(); st.Appended != 4 || st.Dups != 3 {
		t.Fatalf("Stats = %+v", st)
	}
}

// Two concurrent appends with the same cid land in one batch: exactly one is
// stored and both callers get it.
func TestAppendDedupeInOneBatch(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	release := stallCommitter(t, s, rec)

	type res struct {
		m   shared.Message
		dup bool
		err error
	}
	results := make(chan res, 2)
	for _, sender := range []string{"alice", "Alice"} {
		go func() {
			m, dup, err := s.Append(context.Background(),
				shared.Message{Sender: sender, Recipient: "ALL", Command: "chat", Type: "text", Data: "hi " + sender, CID: "same"})
			results <- res{m, dup, err}
		}()
	}
	waitFor(t, "two queued appends", func() bool { return len(s.reqs) == 2 })
	gate := release()

	r1, r2 := <-results, <-results
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	if r1.dup == r2.dup {
		t.Fatalf("dup flags %v %v, want exactly one dup", r1.dup, r2.dup)
	}
	if !reflect.DeepEqual(r1.m, r2.m) || r1.m.Seq != gate.Seq+1 {
		t.Fatalf("results %+v and %+v, want the same message with seq %d", r1.m, r2.m, gate.Seq+1)
	}
	batches, _ := rec.all()
	if len(batches) != 2 || len(batches[1]) != 1 || !reflect.DeepEqual(batches[1][0], r1.m) {
		t.Fatalf("OnCommit batches = %+v, want [gate] [the one message]", batches)
	}
	if got, _, _ := s.Since(t.Context(), "bob", gate.Seq, s.LastSeq(), 10); len(got) != 1 {
		t.Fatalf("stored %d messages, want 1", len(got))
	}
}

// Many rounds of concurrent duplicate pairs, without forcing the batch:
// whether they share a batch or not, one is stored and both get its seq.
func TestAppendDedupeConcurrent(t *testing.T) {
	s, _ := newStore(t, Options{})
	const rounds = 30
	for i := range rounds {
		cid := fmt.Sprint("cid-", i)
		var wg sync.WaitGroup
		var seqs [2]shared.Seq
		var dups atomic.Int32
		for j := range 2 {
			wg.Go(func() {
				m, dup, err := s.Append(t.Context(), shared.Message{Sender: "u", Recipient: "ALL", Command: "chat", Type: "text", Data: "d", CID: cid})
				if err != nil {
					t.Error(err)
				}
				if dup {
					dups.Add(1)
				}
				seqs[j] = m.Seq
			})
		}
		wg.Wait()
		if seqs[0] != seqs[1] || seqs[0] != shared.Seq(i+1) || dups.Load() != 1 {
			t.Fatalf("round %d: seqs %v, dups %d; want both %d, one dup", i, seqs, dups.Load(), i+1)
		}
	}
	if n, _ := s.CountSince(t.Context(), "anyone", 0, s.LastSeq(), 1000); n != rounds {
		t.Fatalf("stored %d, want %d", n, rounds)
	}
}

// 50 goroutines append at once: seqs are gap-free and increasing, every
// message reaches OnCommit exactly once and in seq order, and the committer
// batched.
func TestAppendConcurrentGroupCommit(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	const writers, each = 50, 40

	var wg sync.WaitGroup
	seqs := make(chan shared.Seq, writers*each)
	for w := range writers {
		wg.Go(func() {
			prev := shared.Seq(0)
			for i := range each {
				m, dup, err := s.Append(t.Context(), shared.Message{Sender: fmt.Sprint("u", w), Recipient: "ALL",
					Command: "chat", Type: "text", Data: "x", CID: fmt.Sprint(i)})
				if err != nil || dup {
					t.Errorf("Append: %v dup=%v", err, dup)
					return
				}
				if m.Seq <= prev {
					t.Errorf("writer %d: seq %d after %d", w, m.Seq, prev)
				}
				prev = m.Seq
				seqs <- m.Seq
			}
		})
	}
	// Readers run alongside the writers.
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for range 4 {
		rwg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.Since(t.Context(), "u1", 0, s.LastSeq(), 50); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(seqs)

	var got []int
	for q := range seqs {
		got = append(got, int(q))
	}
	slices.Sort(got)
	for i, q := range got {
		if q != i+1 {
			t.Fatalf("seqs not gap-free: position %d holds %d", i, q)
		}
	}
	if len(got) != writers*each {
		t.Fatalf("%d seqs, want %d", len(got), writers*each)
	}

	batches, msgs := rec.all()
	if len(msgs) != writers*each {
		t.Fatalf("OnCommit saw %d messages, want %d", len(msgs), writers*each)
	}
	for i, m := range msgs {
		if m.Seq != shared.Seq(i+1) {
			t.Fatalf("OnCommit message %d has seq %d: not in order or not exactly once", i, m.Seq)
		}
	}
	biggest := 0
	for _, b := range batches {
		biggest = max(biggest, len(b))
	}
	st := s.Stats()
	t.Logf("%d messages in %d batches, biggest %d", st.Appended, st.Batches, biggest)
	if st.Batches != int64(len(batches)) || st.Appended != writers*each {
		t.Fatalf("Stats = %+v, OnCommit batches %d", st, len(batches))
	}
	if biggest < 2 || st.Batches >= writers*each {
		t.Fatalf("no group commit: %d batches for %d messages, biggest %d", st.Batches, writers*each, biggest)
	}
	if s.LastSeq() != writers*each {
		t.Fatalf("LastSeq = %d", s.LastSeq())
	}
}

// Appends queued behind a commit go together in the next batch, split at
// MaxBatch.
func TestAppendBatchesWhatIsQueued(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit, MaxBatch: 4})
	release := stallCommitter(t, s, rec)

	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { mustAppend(t, s, chat("u", "ALL", fmt.Sprint(i))) })
	}
	// 4 fit the queue (its capacity is MaxBatch); the rest wait to send.
	waitFor(t, "a full queue", func() bool { return len(s.reqs) == 4 })
	release()
	wg.Wait()

	batches, _ := rec.all()
	sizes := []int{}
	total := 0
	for _, b := range batches[1:] {
		sizes = append(sizes, len(b))
		total += len(b)
		if len(b) > 4 {
			t.Fatalf("batch of %d > MaxBatch 4", len(b))
		}
	}
	if total != n || batches[1] == nil || len(batches[1]) != 4 {
		t.Fatalf("batch sizes after the gate = %v, want the first full (4) and %d in all", sizes, n)
	}
}

func TestAppendWakesCallersAfterOnCommit(t *testing.T) {
	var inOnCommit atomic.Int64
	s, _ := newStore(t, Options{OnCommit: func(msgs []shared.Message) {
		time.Sleep(5 * time.Millisecond)
		inOnCommit.Store(int64(msgs[len(msgs)-1].Seq))
	}})
	for range 3 {
		m := mustAppend(t, s, chat("a", "b", "x"))
		if inOnCommit.Load() < int64(m.Seq) {
			t.Fatalf("Append of seq %d returned before OnCommit saw it", m.Seq)
		}
	}
}

func TestAppendContext(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})

	// Cancelled before: not stored.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.Append(ctx, chat("a", "b", "never"))
	wantErr(t, "Append cancelled", err, context.Canceled)
	if s.LastSeq() != 0 {
		t.Fatal("cancelled append was stored")
	}

	// Cancelled while waiting for its batch: the caller gets ctx.Err(),
	// the message is still committed and fanned out.
	release := stallCommitter(t, s, rec)
	ctx, cancel = context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.Append(ctx, chat("a", "b", "late"))
		errc <- err
	}()
	waitFor(t, "queued append", func() bool { return len(s.reqs) == 1 })
	cancel()
	wantErr(t, "Append cancelled while queued", <-errc, context.Canceled)
	release()
	waitFor(t, "commit of the abandoned append", func() bool { return s.LastSeq() == 2 })
	_, msgs := rec.all()
	if len(msgs) != 2 || msgs[1].Data != "late" {
		t.Fatalf("OnCommit saw %+v", msgs)
	}
	// The committer is not stuck on the abandoned request.
	if m := mustAppend(t, s, chat("a", "b", "next")); m.Seq != 3 {
		t.Fatalf("next seq = %d", m.Seq)
	}
}

func TestAppendGroupchatToMissingRoom(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	mustUser(t, s, "alice")
	mustRoom(t, s, "r", "alice")

	// In one batch with good messages: only the bad one fails.
	release := stallCommitter(t, s, rec)
	errs := make(chan error, 3)
	for _, m := range []shared.Message{group("alice", "gone", "x"), group("alice", "R", "ok"), chat("alice", "ALL", "ok")} {
		go func() {
			_, _, err := s.Append(context.Background(), m)
			errs <- err
		}()
	}
	waitFor(t, "three queued", func() bool { return len(s.reqs) == 3 })
	release()
	var notFound, ok int
	for range 3 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrNotFound):
			notFound++
		default:
			t.Fatal(err)
		}
	}
	if ok != 2 || notFound != 1 {
		t.Fatalf("ok %d, not found %d; want 2, 1", ok, notFound)
	}
	if s.LastSeq() != 3 {
		t.Fatalf("LastSeq = %d, want 3 (gate + 2, no gap)", s.LastSeq())
	}
}

// A batch whose transaction fails fails for every caller in it, is not
// fanned out, and leaves no gap in the seqs.
func TestAppendFailedBatch(t *testing.T) {
	rec := newRecorder()
	s, _ := newStore(t, Options{OnCommit: rec.onCommit})
	if _, err := s.w.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON events
		WHEN NEW.data = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	release := stallCommitter(t, s, rec)
	errs := make(chan error, 3)
	for _, data := range []string{"ok1", "boom", "ok2"} {
		go func() {
			_, _, err := s.Append(context.Background(), chat("a", "b", data))
			errs <- err
		}()
	}
	waitFor(t, "three queued", func() bool { return len(s.reqs) == 3 })
	gate := release()
	for range 3 {
		if err := <-errs; err == nil {
			t.Fatal("append in a failed batch succeeded")
		}
	}
	batches, _ := rec.all()
	if len(batches) != 1 {
		t.Fatalf("OnCommit called for a failed batch: %+v", batches)
	}
	if s.LastSeq() != gate.Seq {
		t.Fatalf("LastSeq = %d after failed batch, want %d", s.LastSeq(), gate.Seq)
	}
	if m := mustAppend(t, s, chat("a", "b", "after")); m.Seq != gate.Seq+1 {
		t.Fatalf("seq after failed batch = %d, want %d", m.Seq, gate.Seq+1)
	}
	if n, _ := s.CountSince(t.Context(), "a", 0, s.LastSeq(), 100); n != 2 {
		t.Fatalf("stored %d messages, want 2 (gate, after)", n)
	}
}

// Close completes queued appends: every caller that got success is stored
// and fanned out, the others got ErrClosed, nobody hangs.
func TestCloseFlushesQueuedAppends(t *testing.T) {
	rec := newRecorder()
	dir := t.TempDir()
	s, err := Open(dir, Options{OnCommit: rec.onCommit, MaxBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	release := stallCommitter(t, s, rec)

	const n = 12
	var wg sync.WaitGroup
	var acked, closed atomic.Int64
	for i := range n {
		wg.Go(func() {
			_, _, err := s.Append(context.Background(), chat("a", "ALL", fmt.Sprint(i)))
			switch {
			case err == nil:
				acked.Add(1)
			case errors.Is(err, ErrClosed):
				closed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	waitFor(t, "a full queue", func() bool { return len(s.reqs) == 3 })
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	time.Sleep(10 * time.Millisecond) // let Close start waiting
	release()
	wg.Wait()
	if err := <-closeErr; err != nil {
		t.Fatal(err)
	}
	if acked.Load()+closed.Load() != n || acked.Load() < 3 {
		t.Fatalf("acked %d, closed %d of %d", acked.Load(), closed.Load(), n)
	}
	_, msgs := rec.all()
	if int64(len(msgs)) != acked.Load()+1 {
		t.Fatalf("OnCommit saw %d, acked %d + gate", len(msgs), acked.Load())
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.LastSeq(); int64(got) != acked.Load()+1 {
		t.Fatalf("after reopen LastSeq = %d, want %d", got, acked.Load()+1)
	}
}

func TestAppendFromHandsBackOrigins(t *testing.T) {
	type got struct {
		seq    shared.Seq
		origin any
	}
	var mu sync.Mutex
	var seen []got
	s, _ := newStore(t, Options{OnCommitFrom: func(msgs []shared.Message, origins []any) {
		mu.Lock()
		defer mu.Unlock()
		if len(msgs) != len(origins) {
			t.Errorf("%d messages, %d origins", len(msgs), len(origins))
		}
		for i := range msgs {
			seen = append(seen, got{msgs[i].Seq, origins[i]})
		}
	}})
	ctx := t.Context()
	mustUser(t, s, "a")
	m := shared.Message{Sender: "a", Recipient: "ALL", Command: shared.CommandChat, Type: "text", Data: "x", CID: "1"}
	first, _, err := s.AppendFrom(ctx, m, "socket-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, dup, _ := s.AppendFrom(ctx, m, "socket-2"); !dup { // a dup is not handed back
		t.Fatal("no dup")
	}
	m.CID = ""
	second, _, _ := s.Append(ctx, m)
	mu.Lock()
	defer mu.Unlock()
	want := []got{{first.Seq, "socket-1"}, {second.Seq, nil}}
	if len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
		t.Fatalf("OnCommitFrom saw %+v, want %+v", seen, want)
	}
}
