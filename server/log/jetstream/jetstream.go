package jetstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	chatlog "chatapp/server/log"
)

// Config says which stream to use and how hard to try. Zero values mean
// the defaults named on each field.
type Config struct {
	// Stream is the stream's name. Zero means "CHAT".
	Stream string
	// Prefix is the first token of every subject. Zero means "chat".
	Prefix string
	// Replicas is the stream's replication factor. Zero means 3.
	Replicas int
	// Duplicates is the window in which a repeated Record.ID is answered
	// with the first event's seq. The servers keep every id of the window
	// in memory. Zero means 2 minutes (the server's default).
	Duplicates time.Duration
	// MaxAge drops events older than this from the stream (the projection
	// keeps history). Zero means never.
	MaxAge time.Duration
	// AckTimeout is how long one publish attempt waits for the stream's
	// acknowledgement. Zero means 5 s.
	AckTimeout time.Duration
	// RetryFor is how long Append keeps retrying a record that timed out
	// or found no leader, with the same Nats-Msg-Id, before it answers
	// ErrUnavailable. It must outlast a leader election (about 2–9 s).
	// Zero means 20 s.
	RetryFor time.Duration
	// StallAfter is how long a follower may see nothing while the stream
	// has events past it before it drops its consumer and makes a new one.
	// Zero means 5 s.
	StallAfter time.Duration
	// Logger receives warnings (retries, follower restarts). Zero means
	// slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = "CHAT"
	}
	if c.Prefix == "" {
		c.Prefix = "chat"
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Duplicates == 0 {
		c.Duplicates = 2 * time.Minute
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.RetryFor == 0 {
		c.RetryFor = 20 * time.Second
	}
	if c.StallAfter == 0 {
		c.StallAfter = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Header names. Nats-Msg-Id and Nats-Expected-Last-Subject-Sequence are
// the server's; Chat-Erase is ours.
const (
	hdrMsgID   = "Nats-Msg-Id"
	hdrIfLast  = "Nats-Expected-Last-Subject-Sequence"
	hdrErase   = "Chat-Erase"
	codeWrong  = 10071 // JSStreamWrongLastSequence: "wrong last sequence: N"
	codeWrongR = 10164 // the same on a replicated stream, without N
	codeDupRun = 10158 // JSStreamDuplicateMessageConflict: first publish still in flight

	// autoID starts the ids Append makes up; decode drops them, so
	// Event.ID is what the caller gave. A caller's id is sent base64url
	// encoded (a cid is client text: it could hold a line break, which a
	// header cannot), and "~" is not in that alphabet.
	autoID = "~"
)

// Log is the JetStream Log. Make one with Open.
type Log struct {
	cfg    Config
	js     jetstream.JetStream
	stream jetstream.Stream
	log    *slog.Logger
	closed atomic.Bool
}

var _ chatlog.Log = (*Log)(nil)

// Open creates the stream if it does not exist (or updates its settings)
// and returns the Log on it. It retries while the cluster is still
// electing its leaders, until ctx ends. nc stays the caller's.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Log, error) {
	cfg.setDefaults()
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, fmt.Errorf("log: jetstream: %w", err)
	}
	sc := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "chatapp: every sequenced event and control event (docs/CLUSTER.md)",
		Subjects:    []string{cfg.Prefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      cfg.MaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.Duplicates,
		AllowDirect: true,
	}
	wait := 100 * time.Millisecond
	for {
		s, err := js.CreateOrUpdateStream(ctx, sc)
		if err == nil && (cfg.Replicas == 1 || s.CachedInfo().Cluster != nil && s.CachedInfo().Cluster.Leader != "") {
			return &Log{cfg: cfg, js: js, stream: s, log: cfg.Logger}, nil
		}
		if err == nil {
			err = errors.New("no stream leader yet")
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("log: create stream %s: %w", cfg.Stream, err)
		}
		cfg.Logger.Debug("log: stream not ready, retrying", "stream", cfg.Stream, "err", err)
		if err := sleep(ctx, &wait); err != nil {
			return nil, fmt.Errorf("log: create stream %s: %w", cfg.Stream, err)
		}
	}
}

// Close marks the log closed; later Appends return ErrClosed. Followers
// end with their contexts.
func (l *Log) Close() error {
	l.closed.Store(true)
	return nil
}

// message builds the NATS message of r.
func (l *Log) message(r chatlog.Record) (*nats.Msg, error) {
	subj, err := subject(l.cfg.Prefix, r.Topic)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(subj)
	m.Data = r.Data
	// A record without an id gets a random one: Append retries through
	// elections, and only an id makes a retry safe.
	id := autoID + nuid.Next()
	if r.ID != "" {
		id = base64.RawURLEncoding.EncodeToString([]byte(r.ID))
	}
	m.Header.Set(hdrMsgID, id)
	if r.IfLast != nil {
		m.Header.Set(hdrIfLast, strconv.FormatUint(*r.IfLast, 10))
	}
	if len(r.Erase) > 0 {
		s := make([]string, len(r.Erase))
		for i, seq := range r.Erase {
			s[i] = strconv.FormatUint(seq, 10)
		}
		m.Header.Set(hdrErase, strings.Join(s, ","))
	}
	return m, nil
}

// Append publishes every record at once (asynchronously, on one
// connection, so the stream stores them in this order unless one has to
// be sent again) and waits for the acknowledgements. Records whose attempt timed out, found no leader, or
// hit their own first attempt still in flight are published again with the
// same Nats-Msg-Id after a pause, until RetryFor: one that had landed is
// then answered as a duplicate with its seq, never stored twice.
func (l *Log) Append(ctx context.Context, recs []chatlog.Record) ([]chatlog.Result, error) {
	if l.closed.Load() {
		return nil, chatlog.ErrClosed
	}
	msgs := make([]*nats.Msg, len(recs))
	for i, r := range recs {
		m, err := l.message(r)
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	res := make([]chatlog.Result, len(recs))
	todo := make([]int, len(recs))
	for i := range todo {
		todo[i] = i
	}
	deadline := time.Now().Add(l.cfg.RetryFor)
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		futs := make([]jetstream.PubAckFuture, len(todo))
		errs := make([]error, len(todo))
		for j, i := range todo {
			futs[j], errs[j] = l.js.PublishMsgAsync(msgs[i])
		}
		var again []int
		var lastErr error
		for j, i := range todo {
			var ack *jetstream.PubAck
			err := errs[j]
			if err == nil {
				select {
				case ack = <-futs[j].Ok():
				case err = <-futs[j].Err():
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			switch {
			case err == nil:
				res[i] = chatlog.Result{Seq: ack.Sequence, Dup: ack.Duplicate}
			case conflict(err) != nil:
				res[i].Err = conflict(err)
			case retryable(err):
				again = append(again, i)
				lastErr = err
			default:
				res[i].Err = fmt.Errorf("log: append to %s: %w", msgs[i].Subject, err)
			}
		}
		if len(again) == 0 {
			return res, nil
		}
		if time.Now().After(deadline) || l.closed.Load() {
			l.log.Warn("log: append gave up", "records", len(again), "attempts", attempt, "err", lastErr)
			for _, i := range again {
				res[i].Err = fmt.Errorf("%w: %v", chatlog.ErrUnavailable, lastErr)
			}
			return res, nil
		}
		l.log.Warn("log: append retrying", "records", len(again), "attempt", attempt, "err", lastErr)
		if err := sleep(ctx, &wait); err != nil {
			return nil, err
		}
		todo = again
	}
}

// conflict returns the ConflictError err stands for, or nil.
func conflict(err error) *chatlog.ConflictError {
	var ae *jetstream.APIError
	if !errors.As(err, &ae) {
		return nil
	}
	switch ae.ErrorCode {
	case codeWrong:
		// "wrong last sequence: N"
		_, n, _ := strings.Cut(ae.Description, ": ")
		last, _ := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
		return &chatlog.ConflictError{Last: last}
	case codeWrongR:
		return &chatlog.ConflictError{}
	}
	return nil
}

// retryable reports whether a publish that failed with err may succeed if
// sent again with the same id: it timed out, found no stream leader, the
// connection was down, the server was unavailable, or the first attempt
// with this id is still being stored.
func retryable(err error) bool {
	if errors.Is(err, nats.ErrConnectionClosed) {
		return false
	}
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode == codeDupRun || ae.Code == 503
	}
	return true
}

// sleep waits *d (or until ctx ends), then doubles *d up to a second.
func sleep(ctx context.Context, d *time.Duration) error {
	t := time.NewTimer(*d)
	defer t.Stop()
	*d = min(2**d, time.Second)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decode turns a stream message into an Event.
func (l *Log) decode(m jetstream.Msg) (chatlog.Event, error) {
	meta, err := m.Metadata()
	if err != nil {
		return chatlog.Event{}, err
	}
	t, err := topic(l.cfg.Prefix, m.Subject())
	if err != nil {
		return chatlog.Event{}, err
	}
	ev := chatlog.Event{
		Seq:   meta.Sequence.Stream,
		Time:  meta.Timestamp.UTC(),
		Topic: t,
		Data:  m.Data(),
	}
	if h := m.Headers(); h != nil {
		if id := h.Get(hdrMsgID); id != "" && !strings.HasPrefix(id, autoID) {
			b, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil {
				return chatlog.Event{}, fmt.Errorf("bad %s header", hdrMsgID)
			}
			ev.ID = string(b)
		}
		if e := h.Get(hdrErase); e != "" {
			for _, s := range strings.Split(e, ",") {
				seq, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return chatlog.Event{}, fmt.Errorf("bad %s header %q", hdrErase, e)
				}
				ev.Erase = append(ev.Erase, seq)
			}
		}
	}
	return ev, nil
}

// stopError carries an error that ends Follow for good (fn's own, or a
// reordering), as opposed to one the follower restarts after.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// Follow reads the whole stream from after+1 with one ordered consumer and
// hands each event to fn. When the consumer gives up (the connection was
// closed for long, the stream leader moved and the consumer could not be
// recreated), Follow makes a new one from its own last sequence, after a
// pause: it ends only with ctx or fn's error.
func (l *Log) Follow(ctx context.Context, after uint64, fn func(chatlog.Event) error) error {
	last := after
	wait := 100 * time.Millisecond
	for {
		err := l.followOnce(ctx, &last, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		l.log.Warn("log: follower restarts", "after", last, "err", err)
		if err := sleep(ctx, &wait); err != nil {
			return err
		}
	}
}

func (l *Log) followOnce(ctx context.Context, last *uint64, fn func(chatlog.Event) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if *last > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = *last + 1
	}
	// Every request to the servers is bounded on its own: a request lost
	// with a server that died or is catching up must not hold the
	// follower for as long as its caller's context lives.
	rctx, cancel := context.WithTimeout(ctx, 2*l.cfg.AckTimeout)
	cons, err := l.js.OrderedConsumer(rctx, l.cfg.Stream, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("create ordered consumer: %w", err)
	}
	// Short pulls with frequent heartbeats, so a consumer lost with its
	// server is noticed in seconds.
	it, err := cons.Messages(jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(2*time.Second))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	var pos atomic.Uint64 // *last, for the watchdog
	pos.Store(*last)
	var stalled atomic.Bool
	done := make(chan struct{})
	defer close(done)
	go l.watchdog(ctx, done, &pos, func() { stalled.Store(true); it.Stop() })

	for {
		m, err := it.Next()
		if err != nil {
			if stalled.Load() {
				return fmt.Errorf("no event for %v past %d while the stream is ahead or not answering", l.cfg.StallAfter, pos.Load())
			}
			return err
		}
		ev, err := l.decode(m)
		if err != nil {
			// Not one of ours (someone published a stray subject under
			// the prefix): no client can be owed it. Skip it loudly.
			l.log.Error("log: skipping undecodable event", "subject", m.Subject(), "err", err)
			if meta, merr := m.Metadata(); merr == nil {
				*last = meta.Sequence.Stream
				pos.Store(*last)
			}
			continue
		}
		if ev.Seq <= *last {
			return &stopError{fmt.Errorf("%w: %d after %d", chatlog.ErrOutOfOrder, ev.Seq, *last)}
		}
		if err := fn(ev); err != nil {
			return &stopError{err}
		}
		*last = ev.Seq
		pos.Store(*last)
	}
}

// watchdog calls stop when the follower has not moved for StallAfter
// while the stream (asked of its leader) holds events past it or does not
// answer within StallAfter. The
// ordered consumer recreates itself after most losses, but not after all
// of them: when its server was killed it was seen to wait on for more
// than a minute, retrying the creation of its successor. Follow then
// starts a new one from the last event delivered.
func (l *Log) watchdog(ctx context.Context, done <-chan struct{}, pos *atomic.Uint64, stop func()) {
	t := time.NewTicker(l.cfg.StallAfter)
	defer t.Stop()
	prev := pos.Load()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := pos.Load()
		if cur != prev {
			prev = cur
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, l.cfg.StallAfter)
		last, err := l.Last(rctx)
		cancel()
		// Restart when the stream is ahead, and also when it cannot be
		// asked: a follower that hears nothing and gets no answer is more
		// likely cut off than idle, and restarting costs one request.
		if pos.Load() == cur && (err != nil || last > cur) {
			stop()
			return
		}
	}
}

// Replay reads (after, upto] of the conversations in f with one
// ephemeral pull consumer filtered to their subjects (an ordered consumer
// would be recreated on every fetch), keeping the newest limit events. It
// reads the whole range: it is the fallback for ranges older than a
// node's ring (docs/CLUSTER.md 7).
func (l *Log) Replay(ctx context.Context, f chatlog.Filter, after, upto uint64, limit int) ([]chatlog.Event, bool, error) {
	subs, err := filterSubjects(l.cfg.Prefix, f)
	if err != nil {
		return nil, false, err
	}
	if len(subs) == 0 || upto <= after {
		return nil, false, nil
	}
	cons, err := l.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects:    subs,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: 10 * time.Second, // the server drops it if we die
	})
	if err != nil {
		return nil, false, fmt.Errorf("log: replay: create consumer: %w", err)
	}
	defer func() {
		// Best effort: the inactive threshold cleans up otherwise.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	var (
		kept []chatlog.Event // the newest limit so far
		more bool
		dseq uint64  // the consumer's last delivery sequence
		seen = after // the stream seq of the last event read within range
		wait = 10 * time.Millisecond
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, false, fmt.Errorf("log: replay: fetch: %w", err)
		}
		got, past := 0, false
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				return nil, false, fmt.Errorf("log: replay: %w", err)
			}
			// Without acks nothing is redelivered: a delivery lost on the
			// way would be a gap, so refuse rather than return one.
			if meta.Sequence.Consumer != dseq+1 {
				return nil, false, fmt.Errorf("log: replay: delivery %d after %d", meta.Sequence.Consumer, dseq)
			}
			dseq = meta.Sequence.Consumer
			if past || meta.Sequence.Stream > upto {
				past = true
				continue
			}
			seen = meta.Sequence.Stream
			ev, err := l.decode(m)
			if err != nil {
				l.log.Error("log: replay skips undecodable event", "subject", m.Subject(), "err", err)
				continue
			}
			kept = append(kept, ev)
			if limit > 0 && len(kept) > limit {
				kept, more = kept[1:], true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, nats.ErrNoResponders) {
			return nil, false, fmt.Errorf("log: replay: fetch: %w", err)
		}
		if past {
			return kept, more, nil
		}
		if got > 0 {
			continue
		}
		// Nothing more to fetch now. The consumer reads the replica it
		// was placed on, which may not have applied the newest events
		// yet; the stream leader has every acknowledged one. Ask it
		// whether a matching event after the last one seen is due.
		due, err := l.leaderHasMatch(ctx, subs, seen+1, upto)
		if err != nil {
			return nil, false, fmt.Errorf("log: replay: %w", err)
		}
		if !due {
			return kept, more, nil
		}
		if err := sleep(ctx, &wait); err != nil {
			return nil, false, err
		}
	}
}

// leaderHasMatch asks the stream's leader whether an event matching one
// of subs has a seq in [from, upto]: one request per subject, each a
// lookup in the leader's subject index.
func (l *Log) leaderHasMatch(ctx context.Context, subs []string, from, upto uint64) (bool, error) {
	if from > upto {
		return false, nil
	}
	for _, sub := range subs {
		req, _ := json.Marshal(map[string]any{"seq": from, "next_by_subj": sub})
		ctx, cancel := context.WithTimeout(ctx, l.cfg.AckTimeout)
		msg, err := l.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+l.cfg.Stream, req)
		cancel()
		if err != nil {
			return false, fmt.Errorf("ask the stream leader: %w", err)
		}
		var resp struct {
			Error *struct {
				Code        int    `json:"code"`
				Description string `json:"description"`
			} `json:"error"`
			Message *struct {
				Seq uint64 `json:"seq"`
			} `json:"message"`
		}
		if err := json.Unmarshal(msg.Data, &resp); err != nil {
			return false, fmt.Errorf("ask the stream leader: %w", err)
		}
		switch {
		case resp.Error != nil && resp.Error.Code == 404:
			// nothing matches from there on
		case resp.Error != nil:
			return false, fmt.Errorf("ask the stream leader: %s", resp.Error.Description)
		case resp.Message != nil && resp.Message.Seq <= upto:
			return true, nil
		}
	}
	return false, nil
}

// Last returns the stream's last sequence.
func (l *Log) Last(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("log: stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Erase overwrites and removes the events with these seqs from the
// stream (SecureDeleteMsg). The servers' Raft logs keep a copy until
// their next snapshot compacts them (docs/CLUSTER.md 5).
func (l *Log) Erase(ctx context.Context, seqs []uint64) error {
	for _, s := range seqs {
		if err := l.stream.SecureDeleteMsg(ctx, s); err != nil && !gone(err) {
			return fmt.Errorf("log: erase %d: %w", s, err)
		}
	}
	return nil
}

// gone reports whether a delete failed only because the event is not
// there (already erased, or aged out).
func gone(err error) bool {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return true
	}
	// The delete API says so only in words, which differ by case:
	// "no message found", "sequence N not found".
	msg := err.Error()
	return strings.Contains(msg, "no message found") || strings.Contains(msg, "not found")
}
