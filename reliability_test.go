package main

// Fault tests of issue 5 against the built binary (binary_test.go:
// startServer, chatapp), with the Socket.IO client of sioclient_test.go.
// Each runs a short variant in `make test`; CHATAPP_SOAK=1 (`make soak`)
// runs the same code longer and bigger. docs/RELIABILITY.md has what each
// shows and the figures measured.

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/shared"
)

// soakMode reports whether the long variants run (CHATAPP_SOAK=1, make soak).
func soakMode() bool { return os.Getenv("CHATAPP_SOAK") == "1" }

// soakScale returns short, or long under CHATAPP_SOAK=1.
func soakScale(short, long int) int {
	if soakMode() {
		return long
	}
	return short
}

// sentMsg is a message answered 200.
type sentMsg struct {
	seq    shared.Seq
	sender string
	cid    string
	data   string
}

// ledger records every message answered 200, by seq.
type ledger struct {
	mu   sync.Mutex
	msgs map[shared.Seq]sentMsg
	n    atomic.Int64
}

func newLedger() *ledger { return &ledger{msgs: map[shared.Seq]sentMsg{}} }

func (l *ledger) add(t *testing.T, s sentMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.msgs[s.seq]; ok && old.cid != s.cid {
		t.Errorf("seq %d answered for two messages: %+v and %+v", s.seq, old, s)
	}
	if _, ok := l.msgs[s.seq]; !ok {
		l.n.Add(1)
	}
	l.msgs[s.seq] = s
}

func (l *ledger) seqs() []shared.Seq {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []shared.Seq
	for s := range l.msgs {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// pageHistory pages a whole conversation (oldest first) with `history`.
func pageHistory(c *sioClient, target, command string) ([]shared.Message, error) {
	var all []shared.Message
	before := ""
	for {
		q := map[string]any{"target": target, "command": command, "limit": 100}
		if before != "" {
			q["before"] = before
		}
		r, err := c.req(shared.EventHistory, q)
		if err != nil {
			return nil, err
		}
		if r.Code != shared.CodeOK {
			return nil, fmt.Errorf("history %s: %+v", target, r)
		}
		all = append(r.Messages, all...)
		if len(r.Messages) < 100 {
			return all, nil
		}
		before = r.Messages[0].Seq.String()
	}
}

// convo names a conversation for history.
type convo struct{ target, command string }

// gapFill is what a client does after reconnecting with offset: if the
// replay was capped (a response {command: recover, code: 206, before: B}
// came first), it pages the messages in (offset, B) of its conversations
// out of history. It returns them in seq order (nil if nothing was capped).
func gapFill(c *sioClient, offset shared.Seq, convs []convo) ([]shared.Message, error) {
	c.mu.Lock()
	var before shared.Seq
	for _, e := range c.events {
		var r shared.Response
		if e.name == shared.EventResponse && json.Unmarshal(e.arg, &r) == nil && r.Command == shared.CommandRecover {
			if r.Code != shared.CodePartial {
				c.mu.Unlock()
				return nil, fmt.Errorf("recover response %+v", r)
			}
			before, _ = shared.ParseSeq(r.Before)
		}
	}
	c.mu.Unlock()
	if before == 0 {
		return nil, nil
	}
	var gap []shared.Message
	for _, cv := range convs {
		b := before
		for b > offset+1 {
			r, err := c.req(shared.EventHistory, map[string]any{"target": cv.target, "command": cv.command, "before": b.String(), "limit": 100})
			if err != nil || r.Code != shared.CodeOK {
				return nil, fmt.Errorf("history %s before %d: %+v %v", cv.target, b, r, err)
			}
			for _, m := range r.Messages {
				if m.Seq > offset {
					gap = append(gap, m)
				}
			}
			if len(r.Messages) < 100 {
				break
			}
			b = r.Messages[0].Seq
		}
	}
	slices.SortFunc(gap, func(a, b shared.Message) int { return int(a.Seq - b.Seq) })
	return gap, nil
}

// percentile returns the p-th percentile (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// seqList is the seqs of msgs.
func seqList(msgs []shared.Message) []shared.Seq {
	out := make([]shared.Seq, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// loadSender sends a mix of direct, room and ALL messages with cids, one
// at a time, and records each one answered 200.
type loadSender struct {
	id, token string
	c         *sioClient
	n         int                 // number of the next message
	pending   *shared.SendMessage // sent, unanswered when the connection died
}

// next returns message n of this sender: mostly direct messages to rx,
// every third to the room, every tenth to ALL.
func (s *loadSender) next() shared.SendMessage {
	n := s.n
	s.n++
	m := shared.SendMessage{Command: shared.CommandChat, Recipient: "rx", Type: shared.TypeText,
		Data: fmt.Sprintf("%s #%d %s", s.id, n, strings.Repeat("x", n%200)), CID: fmt.Sprintf("%s-%d", s.id, n)}
	switch {
	case n%10 == 9:
		m.Recipient = shared.All
	case n%3 == 2:
		m.Command, m.Recipient = shared.CommandGroupchat, "load"
	}
	return m
}

// run sends until the connection fails or stop is closed.
func (s *loadSender) run(t *testing.T, l *ledger, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		m := s.next()
		r, err := s.c.req(shared.EventMessage, m)
		if err != nil {
			s.pending = &m
			return
		}
		if r.Code != shared.CodeOK {
			t.Errorf("%s: send %s: %+v", s.id, m.CID, r)
			return
		}
		l.add(t, sentMsg{seq: mustSeq(t, r.Seq), sender: s.id, cid: m.CID, data: m.Data})
	}
}

func mustSeq(t *testing.T, s string) shared.Seq {
	seq, err := shared.ParseSeq(s)
	if err != nil {
		t.Errorf("bad seq %q", s)
	}
	return seq
}

// TestKill9UnderLoad: senders record every seq answered 200; the server is
// killed with SIGKILL mid-stream and restarted on the same data dir, several
// times. Every recorded message must be in history, and the recipient,
// reconnecting each time with {token, offset}, must have received every
// stored message exactly once, in order, across all its connections.
// Unanswered messages are retried with their cid after the restart: stored
// ones must be answered with their first seq, never stored twice.
func TestKill9UnderLoad(t *testing.T) {
	rounds := soakScale(5, 20)
	senders := soakScale(4, 8)
	data := t.TempDir()
	args := []string{"--msg-rate", "0"}
	p := startServer(t, data, args...)

	rx, rxLogin, err := loginSIO(p.addr, "rx")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rx.req(shared.EventRoom, shared.RoomRequest{Command: shared.RoomCreate, RoomID: "load", RoomName: "Load"}); err != nil || r.Code != shared.CodeOK {
		t.Fatalf("create room: %+v %v", r, err)
	}
	var ss []*loadSender
	for i := range senders {
		id := fmt.Sprintf("s%d", i)
		c, r, err := loginSIO(p.addr, id)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.req(shared.EventRoom, shared.RoomRequest{Command: shared.RoomJoin, RoomID: "load"}); err != nil || r.Code != shared.CodeOK {
			t.Fatalf("join: %+v %v", r, err)
		}
		ss = append(ss, &loadSender{id: id, token: r.Token, c: c})
	}

	convs := []convo{{"load", shared.CommandGroupchat}, {shared.All, shared.CommandChat}}
	for _, s := range ss {
		convs = append(convs, convo{s.id, shared.CommandChat})
	}
	l := newLedger()
	var rxStream []shared.Message // everything rx received, over all its connections
	var inflight, inflightStored int
	for round := range rounds {
		// Load; halfway rx goes offline, then SIGKILL once enough has
		// been answered.
		start := l.n.Load()
		target := start + int64(soakScale(200, 500+rand.IntN(2000)))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, s := range ss {
			wg.Go(func() { s.run(t, l, stop) })
		}
		roundStart := time.Now()
		deadline := roundStart.Add(15 * time.Second)
		for l.n.Load() < (start+target)/2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		rx.close()
		rxStream = append(rxStream, rx.received()...)
		var offset shared.Seq
		if len(rxStream) > 0 {
			offset = rxStream[len(rxStream)-1].Seq
		}
		for l.n.Load() < target && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
		killed := time.Now()
		p.cmd.Process.Kill()
		werr := <-p.done
		close(stop)
		wg.Wait()
		if l.n.Load() < target {
			t.Fatalf("round %d: only %d answered before the deadline", round, l.n.Load())
		}
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: server exit %v, want SIGKILL", round, werr)
		}

		// Every other restart caps the replay low, so that the client's
		// recovery through history is exercised too.
		restartArgs := args
		if round%2 == 1 {
			restartArgs = append(slices.Clone(args), "--replay-max", "64")
		}
		p = startServer(t, data, restartArgs...)
		restart := time.Since(killed)
		rx, err = resumeSIO(p.addr, "rx", rxLogin.Token, offset)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// Every message answered before the kill is replayed.
		acked := l.seqs()
		maxAcked := acked[len(acked)-1]
		if err := rx.waitSeq(maxAcked, 10*time.Second); err != nil {
			t.Fatalf("round %d: rx did not get seq %d after restart (offset %d, got %d): %v", round, maxAcked, offset, rx.lastSeq(), err)
		}
		caught := time.Since(killed)
		replayed := len(rx.received())
		// More than --replay-max missed: the older ones come from history.
		gap, err := gapFill(rx, offset, convs)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rxStream = append(rxStream, gap...)

		// The senders come back with their tokens and retry what was in
		// flight; a message stored before the kill keeps its seq.
		retried, stored := 0, 0
		for _, s := range ss {
			s.c.close()
			s.c, err = dialSIO(p.addr, s.id, map[string]string{"token": s.token}, nil)
			if err != nil || s.c.connErr != "" {
				t.Fatalf("round %d: %s: reconnect: %v %s", round, s.id, err, s.c.connErr)
			}
			if m := s.pending; m != nil {
				s.pending = nil
				r, err := s.c.req(shared.EventMessage, *m)
				if err != nil || r.Code != shared.CodeOK {
					t.Fatalf("round %d: %s: retry %s: %+v %v", round, s.id, m.CID, r, err)
				}
				retried++
				if r.Message == "already sent" {
					stored++
				}
				l.add(t, sentMsg{seq: mustSeq(t, r.Seq), sender: s.id, cid: m.CID, data: m.Data})
			}
		}
		inflight += retried
		inflightStored += stored
		t.Logf("round %d: %d answered in %v, then SIGKILL; restart %v; rx replayed %d (+%d paged from history past the cap) from offset %d to %d, %v after the kill; %d in flight, %d of them stored",
			round, l.n.Load()-start, killed.Sub(roundStart).Round(time.Millisecond), restart.Round(time.Millisecond),
			replayed, len(gap), offset, maxAcked, caught.Round(time.Millisecond), retried, stored)
	}

	// The recipient has received everything stored, exactly once, in order.
	check, r, err := loginSIO(p.addr, "rx") // its offset is the newest seq visible to rx
	if err != nil {
		t.Fatal(err)
	}
	newest := mustSeq(t, r.Offset)
	if err := rx.waitSeq(newest, 10*time.Second); err != nil {
		t.Fatalf("rx did not get up to seq %d: %v", newest, err)
	}
	rxStream = append(rxStream, rx.received()...)
	if err := checkOrder(rxStream); err != nil {
		t.Fatalf("rx stream over %d connections: %v", rounds+1, err)
	}

	// Every answered message is in history, with its text, exactly once.
	var stored []shared.Message
	for _, s := range ss {
		h, err := pageHistory(check, s.id, shared.CommandChat)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, h...)
	}
	for _, target := range []struct{ target, command string }{{"load", shared.CommandGroupchat}, {shared.All, shared.CommandChat}} {
		h, err := pageHistory(check, target.target, target.command)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, h...)
	}
	slices.SortFunc(stored, func(a, b shared.Message) int { return int(a.Seq - b.Seq) })
	if err := checkOrder(stored); err != nil {
		t.Fatalf("history: %v", err)
	}
	byseq := map[shared.Seq]shared.Message{}
	cids := map[string]bool{}
	for _, m := range stored {
		byseq[m.Seq] = m
		if cids[m.Sender+"/"+m.CID] {
			t.Errorf("cid %s of %s stored twice", m.CID, m.Sender)
		}
		cids[m.Sender+"/"+m.CID] = true
	}
	lost := 0
	for _, seq := range l.seqs() {
		want := l.msgs[seq]
		if m, ok := byseq[seq]; !ok || m.Data != want.data || m.CID != want.cid || !strings.EqualFold(m.Sender, want.sender) {
			lost++
			if lost < 5 {
				t.Errorf("answered message %+v: stored as %+v (found %v)", want, m, ok)
			}
		}
	}
	if !slices.Equal(seqList(rxStream), seqList(stored)) {
		t.Errorf("rx received %d messages, %d are stored; first difference at %d", len(rxStream), len(stored), firstDiff(seqList(rxStream), seqList(stored)))
	}
	t.Logf("%d rounds of kill -9: %d messages answered 200, %d stored, %d lost; %d were in flight at a kill, %d of them had been stored; rx received %d over %d connections",
		rounds, l.n.Load(), len(stored), lost, inflight, inflightStored, len(rxStream), rounds+1)
}

func firstDiff(a, b []shared.Seq) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestGracefulStopAndCatchUp: SIGTERM while clients are connected and a
// sender is busy. The server exits 0, the clients see a going-away close
// without DISCONNECT (which would stop stock clients reconnecting), the store is closed cleanly (no WAL left, integrity
// check ok, every answered message in it); after a restart the clients
// reconnect with their offsets and catch up on what was sent meanwhile.
func TestGracefulStopAndCatchUp(t *testing.T) {
	data := t.TempDir()
	p := startServer(t, data, "--msg-rate", "0")
	const receivers = 3
	type rxState struct {
		id, token string
		c         *sioClient
		stream    []shared.Message
	}
	var rxs []*rxState
	for i := range receivers {
		id := fmt.Sprintf("rx%d", i)
		c, r, err := loginSIO(p.addr, id)
		if err != nil {
			t.Fatal(err)
		}
		rxs = append(rxs, &rxState{id: id, token: r.Token, c: c})
	}
	snd, sr, err := loginSIO(p.addr, "sender")
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	s := &loadSender{id: "sender", token: sr.Token, c: snd}
	sendAll := func(stop <-chan struct{}, max int) {
		for i := 0; i < max; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := shared.SendMessage{Command: shared.CommandChat, Recipient: shared.All, Type: shared.TypeText,
				Data: fmt.Sprintf("all #%d", s.n), CID: fmt.Sprintf("all-%d", s.n)}
			s.n++
			r, err := s.c.req(shared.EventMessage, m)
			if err != nil {
				s.pending = &m
				return
			}
			if r.Code != shared.CodeOK {
				t.Errorf("send: %+v", r)
				return
			}
			l.add(t, sentMsg{seq: mustSeq(t, r.Seq), sender: s.id, cid: m.CID, data: m.Data})
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); sendAll(stop, 1<<30) }()
	for l.n.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	err, took := p.stop(t, syscall.SIGTERM)
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log())
	}
	if took > 6*time.Second {
		t.Errorf("stop took %v", took)
	}
	for _, rx := range rxs {
		st, err := rx.c.waitClosed(5 * time.Second)
		if err != nil || st != websocket.StatusGoingAway || rx.c.kicked {
			t.Errorf("%s: close %v (DISCONNECT seen: %v) %v", rx.id, st, rx.c.kicked, err)
		}
		rx.stream = rx.c.received()
	}

	// The store was closed cleanly: SQLite removes the WAL and the shared
	// memory file when the last connection closes after a checkpoint.
	db := filepath.Join(data, "chatapp.db")
	for _, f := range []string{db + "-wal", db + "-shm"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s left after a graceful stop", filepath.Base(f))
		}
	}
	storedSeqs := dbCheck(t, db)
	for _, seq := range l.seqs() {
		if !storedSeqs[seq] {
			t.Errorf("answered seq %d is not in the database", seq)
		}
	}

	// Restart; the sender resumes (retrying what was in flight) and sends
	// more while the receivers are away; they reconnect and catch up.
	p = startServer(t, data, "--msg-rate", "0")
	s.c.close()
	s.c, err = dialSIO(p.addr, "sender", map[string]string{"token": s.token}, nil)
	if err != nil || s.c.connErr != "" {
		t.Fatalf("sender reconnect: %v", err)
	}
	if m := s.pending; m != nil {
		r, err := s.c.req(shared.EventMessage, *m)
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("retry: %+v %v", r, err)
		}
		l.add(t, sentMsg{seq: mustSeq(t, r.Seq), sender: s.id, cid: m.CID, data: m.Data})
	}
	sendAll(nil, 50)
	acked := l.seqs()
	last := acked[len(acked)-1]
	for _, rx := range rxs {
		var offset shared.Seq
		if len(rx.stream) > 0 {
			offset = rx.stream[len(rx.stream)-1].Seq
		}
		c, err := resumeSIO(p.addr, rx.id, rx.token, offset)
		if err != nil {
			t.Fatal(err)
		}
		rx.c = c
		if err := c.waitSeq(last, 10*time.Second); err != nil {
			t.Fatalf("%s: did not catch up to %d from %d: %v", rx.id, last, offset, err)
		}
	}
	h, err := pageHistory(rxs[0].c, shared.All, shared.CommandChat)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // duplicates, if any, would arrive now
	for _, rx := range rxs {
		all := append(rx.stream, rx.c.received()...)
		if err := checkOrder(all); err != nil {
			t.Errorf("%s: %v", rx.id, err)
		}
		if !slices.Equal(seqList(all), seqList(h)) {
			t.Errorf("%s received %d messages, history has %d (first difference at %d)", rx.id, len(all), len(h), firstDiff(seqList(all), seqList(h)))
		}
	}
	t.Logf("SIGTERM with %d clients and a sender: exit 0 in %v; %d answered in all, %d in the database after the stop; receivers caught up on %d after the restart",
		receivers+1, took.Round(time.Millisecond), l.n.Load(), len(storedSeqs), len(h)-len(rxs[0].stream))
}

// dbCheck opens the database file directly: PRAGMA integrity_check must be
// ok. It returns the seqs stored.
func dbCheck(t *testing.T, path string) map[shared.Seq]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
	rows, err := db.Query("SELECT seq FROM events WHERE command IN ('chat', 'groupchat')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seqs := map[shared.Seq]bool{}
	for rows.Next() {
		var s int64
		rows.Scan(&s)
		seqs[shared.Seq(s)] = true
	}
	return seqs
}

// TestSlowConsumer: with the default 4 MiB send buffer, a client that stops
// reading is disconnected once its queue overflows; the latency of the
// others stays in its normal range meanwhile; the slow client then
// reconnects with its offset and recovers every message, once, in order.
func TestSlowConsumer(t *testing.T) {
	p := startServer(t, t.TempDir(), "--msg-rate", "0", "--max-text", "30000", "--log-level", "debug")
	login := func(id string, o *sioDialOptions) (*sioClient, shared.Response) {
		c, err := dialSIO(p.addr, id, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.req(shared.EventLogin, shared.Login{ID: id, Password: "password-" + id})
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("%s: login: %+v %v", id, r, err)
		}
		return c, r
	}
	const fast = 3
	var fs []*sioClient
	for i := range fast {
		c, _ := login(fmt.Sprintf("fast%d", i), &sioDialOptions{seqOnly: true})
		fs = append(fs, c)
	}
	snd, _ := login("sender", &sioDialOptions{seqOnly: true})
	// A small receive buffer, so that the kernel holds less for it.
	slow, sl := login("slow", &sioDialOptions{seqOnly: true, rcvBuf: 4096})
	var sentSeqs []shared.Seq
	// Big messages, so that the kernel's socket buffers (megabytes on
	// loopback) and the 4 MiB queue fill up after a few hundred. (A
	// smaller --send-buffer would also kick the client for one history
	// page: see TestSendBufferSmallerThanAFrame.)
	text := strings.Repeat("y", 29990)
	// send sends one message of 30000 characters to ALL and returns its
	// latency to each fast client (send to arrival).
	send := func(i int) []time.Duration {
		start := time.Now()
		r, err := snd.chat(shared.CommandChat, shared.All, fmt.Sprintf("%6d%s", i, text), "")
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("send: %+v %v", r, err)
		}
		seq := mustSeq(t, r.Seq)
		sentSeqs = append(sentSeqs, seq)
		var lat []time.Duration
		for _, c := range fs {
			if err := c.waitSeq(seq, 5*time.Second); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			c.mu.Lock()
			lat = append(lat, c.arrived[len(c.arrived)-1].Sub(start))
			c.mu.Unlock()
		}
		return lat
	}
	n := soakScale(100, 1000)
	var base, during []time.Duration
	for i := range n {
		base = append(base, send(i)...)
	}
	readBefore := len(slow.received())
	slow.stopReading()
	const kick = "sio: slow consumer, closing"
	toKick := 0
	for ; !strings.Contains(p.log(), kick); toKick++ {
		if toKick > 5000 {
			t.Fatalf("the slow client was not disconnected after %d messages", toKick)
		}
		during = append(during, send(n+toKick)...)
	}
	for i := range n { // the others after the kick
		during = append(during, send(2*n+toKick+i)...)
	}
	kickedAt := logTime(t, p, kick)
	gone := `"reason":"slow consumer"`
	if soakMode() {
		// The slow client never reads again: the server still cuts its
		// connection, when the blocked write times out.
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(p.log(), gone) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	slow.resumeReading()
	st, err := slow.waitClosed(15 * time.Second)
	if err != nil {
		t.Fatalf("slow client: %v", err)
	}
	if st != websocket.StatusPolicyViolation && st != -1 {
		t.Errorf("slow client closed with %v", st)
	}
	for !strings.Contains(p.log(), gone) { // the server has let it go
		time.Sleep(10 * time.Millisecond)
	}
	closedIn := logTime(t, p, gone).Sub(kickedAt)
	first := slow.received()
	if err := checkOrder(first); err != nil {
		t.Fatalf("slow client, first connection: %v", err)
	}
	offset := first[len(first)-1].Seq
	c, err := dialSIO(p.addr, "slow", map[string]string{"token": sl.Token, "offset": offset.String()}, &sioDialOptions{seqOnly: true})
	if err != nil || c.connErr != "" {
		t.Fatalf("slow client reconnect: %v %v", err, c)
	}
	last := sentSeqs[len(sentSeqs)-1]
	if err := c.waitSeq(last, 10*time.Second); err != nil {
		t.Fatalf("slow client did not recover to %d from %d: %v", last, offset, err)
	}
	time.Sleep(100 * time.Millisecond) // a duplicate would arrive now
	gap, err := gapFill(c, offset, []convo{{shared.All, shared.CommandChat}})
	if err != nil {
		t.Fatal(err)
	}
	all := slices.Concat(first, gap, c.received())
	if err := checkOrder(all); err != nil {
		t.Fatalf("slow client stream: %v", err)
	}
	if !slices.Equal(seqList(all), sentSeqs) {
		t.Fatalf("slow client has %d messages, %d were sent (first difference at %d)", len(all), len(sentSeqs), firstDiff(seqList(all), sentSeqs))
	}
	for _, c := range fs {
		if closed, st := c.closed(); closed {
			t.Errorf("%s was disconnected too (%v)", c.name, st)
		}
	}
	b50, b99, d50, d99 := percentile(base, 50), percentile(base, 99), percentile(during, 50), percentile(during, 99)
	t.Logf("fast clients' latency: without a slow client p50 %v p99 %v (n=%d); with one p50 %v p99 %v (n=%d)",
		b50.Round(time.Microsecond), b99.Round(time.Microsecond), len(base), d50.Round(time.Microsecond), d99.Round(time.Microsecond), len(during))
	t.Logf("slow client: kicked after %d messages (%d KiB) sent while it did not read; session ended %v after the kick (close %v); on resuming it read %d more from its socket buffers, then recovered %d by reconnecting from offset %d (+%d paged from history past the replay cap)",
		toKick, toKick*30000/1024, closedIn.Round(time.Millisecond), st, len(first)-readBefore, len(c.received()), offset, len(gap))
	// Loose: the machine may be shared; a fan-out blocked by the slow
	// client would stall the others for seconds (or until the kick).
	if limit := max(5*b99, 250*time.Millisecond); d99 > limit {
		t.Errorf("p99 latency with a slow client %v > %v (p99 without: %v)", d99, limit, b99)
	}
}

// logTime returns the time of the first server log line containing s.
func logTime(t *testing.T, p *proc, s string) time.Time {
	t.Helper()
	for _, line := range strings.Split(p.log(), "\n") {
		if !strings.Contains(line, s) {
			continue
		}
		var rec struct{ Time time.Time }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		return rec.Time
	}
	t.Fatalf("no log line with %q", s)
	return time.Time{}
}

// TestReconnectStorm: N clients that missed messages reconnect at once
// with {token, offset}. /healthz keeps answering during the storm, every
// client catches up, and each gets exactly the messages it missed, once.
func TestReconnectStorm(t *testing.T) {
	n := soakScale(300, 3000)
	p := startServer(t, t.TempDir(), "--msg-rate", "0")
	snd, _, err := loginSIO(p.addr, "sender")
	if err != nil {
		t.Fatal(err)
	}
	// Five messages, then the accounts: client i will claim to have seen
	// up to message i%5, so offsets differ.
	var live []shared.Seq
	for i := range 5 {
		r, err := snd.chat(shared.CommandChat, shared.All, fmt.Sprint("seen ", i), "")
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("send: %+v %v", r, err)
		}
		live = append(live, mustSeq(t, r.Seq))
	}
	tokens := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, r, err := loginSIO(p.addr, fmt.Sprintf("u%d", i))
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = r.Token
			c.close()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	setup := time.Since(start)
	// While they are away: messages to ALL and one direct message each.
	const missedAll = 20
	var missed []shared.Seq
	for i := range missedAll {
		r, err := snd.chat(shared.CommandChat, shared.All, fmt.Sprint("missed ", i), "")
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("send: %+v %v", r, err)
		}
		missed = append(missed, mustSeq(t, r.Seq))
	}
	dm := make([]shared.Seq, n)
	for i := range n {
		r, err := snd.chat(shared.CommandChat, fmt.Sprintf("u%d", i), "for you", "")
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("send: %+v %v", r, err)
		}
		dm[i] = mustSeq(t, r.Seq)
	}

	// The storm, with /healthz polled throughout by another process.
	poller := startHealthPoller(t, p.addr)
	catchUp := make([]time.Duration, n)
	got := make([][]shared.Message, n)
	storm := time.Now()
	cpu0 := cpuTime(p.cmd.Process.Pid)
	release := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-release
			offset := live[i%5]
			c, err := dialSIO(p.addr, fmt.Sprintf("u%d", i), map[string]string{"token": tokens[i], "offset": offset.String()}, &sioDialOptions{timeout: 30 * time.Second})
			if err != nil || c.connErr != "" {
				t.Errorf("u%d: reconnect: %v %v", i, err, c)
				return
			}
			defer c.close()
			want := len(live) - 1 - i%5 + missedAll + 1
			if err := c.waitUntil(30*time.Second, func() bool { return len(c.msgs) >= want }); err != nil {
				t.Errorf("u%d: %d of %d messages: %v", i, len(c.received()), want, err)
				return
			}
			catchUp[i] = time.Since(storm)
			time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
			got[i] = c.received()
		})
	}
	close(release)
	wg.Wait()
	stormDur := time.Since(storm)
	serverCPU := cpuTime(p.cmd.Process.Pid) - cpu0
	health, healthErrs := poller.stop(t)
	if len(healthErrs) > 0 {
		t.Errorf("/healthz failed %d times during the storm: %v", len(healthErrs), healthErrs[0])
	}
	for i := range n {
		if got[i] == nil {
			continue
		}
		want := slices.Concat(live[i%5+1:], missed)
		want = append(want, dm[i])
		slices.Sort(want)
		if !slices.Equal(seqList(got[i]), want) {
			t.Errorf("u%d got seqs %v, want %v", i, seqList(got[i]), want)
		}
	}
	if len(health) == 0 {
		t.Fatal("/healthz was never polled")
	}
	t.Logf("%d clients (set-up %v); storm: server CPU %v; all caught up in %v, catch-up p50 %v p99 %v max %v; /healthz during it: %d polls, p50 %v p99 %v max %v",
		n, setup.Round(time.Millisecond), serverCPU, stormDur.Round(time.Millisecond), percentile(catchUp, 50).Round(time.Millisecond),
		percentile(catchUp, 99).Round(time.Millisecond), slices.Max(catchUp).Round(time.Millisecond),
		len(health), percentile(health, 50).Round(time.Microsecond), percentile(health, 99).Round(time.Microsecond), slices.Max(health).Round(time.Microsecond))
	if m := slices.Max(health); m > 2*time.Second {
		t.Errorf("/healthz took %v during the storm", m)
	}
}

// healthPoller is a child process that polls /healthz (see
// TestHealthPollerHelper): polling from this process would measure its
// own scheduler, busy with hundreds of clients under -race.
type healthPoller struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bytes.Buffer
}

func startHealthPoller(t *testing.T, addr string) *healthPoller {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHealthPollerHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CHATAPP_HEALTH_POLL="+addr)
	hp := &healthPoller{cmd: cmd, out: &bytes.Buffer{}}
	cmd.Stdout = hp.out
	cmd.Stderr = hp.out
	var err error
	if hp.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return hp
}

// stop ends the poller and returns the latencies and the failures.
func (hp *healthPoller) stop(t *testing.T) ([]time.Duration, []string) {
	t.Helper()
	hp.stdin.Close()
	if err := hp.cmd.Wait(); err != nil {
		t.Fatalf("health poller: %v\n%s", err, hp.out)
	}
	var lat []time.Duration
	var errs []string
	for _, line := range strings.Split(hp.out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "healthz ok "):
			d, _ := time.ParseDuration(strings.TrimPrefix(line, "healthz ok "))
			lat = append(lat, d)
		case strings.HasPrefix(line, "healthz error "):
			errs = append(errs, strings.TrimPrefix(line, "healthz error "))
		}
	}
	if len(lat)+len(errs) == 0 {
		t.Fatalf("health poller polled nothing:\n%s", hp.out)
	}
	return lat, errs
}

// pollHealth GETs base+"/healthz" every 20 ms until stop is closed and
// writes one line per poll to w: "healthz ok <duration>" or "healthz
// error <why>".
func pollHealth(w io.Writer, base string, stop <-chan struct{}) {
	hc := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		t0 := time.Now()
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(b) != "ok\n" {
				err = fmt.Errorf("status %d %q", resp.StatusCode, b)
			}
		}
		if err != nil {
			fmt.Fprintf(w, "healthz error %v\n", err)
			continue
		}
		fmt.Fprintf(w, "healthz ok %v\n", time.Since(t0))
	}
}

// TestHealthPollerHelper is the poller process of startHealthPoller when
// CHATAPP_HEALTH_POLL is set (it polls until its stdin closes). Otherwise
// it checks pollHealth against a stand-in server.
func TestHealthPollerHelper(t *testing.T) {
	if addr := os.Getenv("CHATAPP_HEALTH_POLL"); addr != "" {
		stop := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
		pollHealth(os.Stdout, "http://"+addr, stop)
		return
	}
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	}))
	defer hs.Close()
	var out bytes.Buffer
	stop := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() { close(stop) })
	pollHealth(&out, hs.URL, stop)
	if !strings.Contains(out.String(), "healthz ok ") || strings.Count(out.String(), "healthz error status 503") != 1 {
		t.Fatalf("poller output:\n%s", out.String())
	}
}

// cpuTime is the CPU time the process pid has used (Linux /proc).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var u, s int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &s)
	return time.Duration(u+s) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// seedData returns a data dir holding accounts, a room and messages, made
// by the server and closed cleanly.
func seedData(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	p := startServer(t, data, "--msg-rate", "0")
	a, _, err := loginSIO(p.addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := loginSIO(p.addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	a.req(shared.EventRoom, shared.RoomRequest{Command: shared.RoomCreate, RoomID: "kept", RoomName: "Kept"})
	for i := range 50 {
		if r, err := a.chat(shared.CommandChat, "bob", fmt.Sprint("hello ", i), ""); err != nil || r.Code != shared.CodeOK {
			t.Fatalf("seed: %+v %v", r, err)
		}
	}
	a.close()
	b.close()
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return data
}

// copyDir copies the regular files of src into a new temp dir.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// snapshot maps each regular file of dir to its sha256 (nil if dir is not
// a readable directory).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, e := range ents {
		if e.Type().IsRegular() {
			m[e.Name()] = fileHash(t, filepath.Join(dir, e.Name()))
		}
	}
	return m
}

// checkUntouched compares dir with its snapshot before: every file is
// unchanged, and the only new files are SQLite's empty -wal and its -shm
// (left by a connection that could not clean up, e.g. on a full disk).
func checkUntouched(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := snapshot(t, dir)
	for name, h := range before {
		if after[name] != h {
			t.Errorf("%s changed (sha256 %.12s → %.12s)", name, h, after[name])
		}
	}
	for name := range after {
		if _, ok := before[name]; ok {
			continue
		}
		fi, _ := os.Stat(filepath.Join(dir, name))
		switch {
		case strings.HasSuffix(name, "-shm"), strings.HasSuffix(name, "-wal") && fi.Size() == 0:
			t.Logf("left behind: %s (%d bytes)", name, fi.Size())
		default:
			t.Errorf("new file %s (%d bytes)", name, fi.Size())
		}
	}
}

// startFault runs `chatapp serve` on data, expecting it to refuse to
// start: a non-zero exit and one line of error, "chatapp: …", naming one
// of want (any case). wrap, if any, is a command the binary runs under
// (prlimit). It returns the error line.
func startFault(t *testing.T, wrap []string, data, port string, want ...string) string {
	t.Helper()
	args := append(slices.Clone(wrap), binary(t), "--data", data, "--log-format", "json", "serve", "--host", "127.0.0.1", "--port", port, "--hash-cost", "4")
	cmd := exec.Command(args[0], args[1:]...)
	stderr := &lineWatch{want: `"msg":"listening"`, seen: make(chan struct{})}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-stderr.seen:
		cmd.Process.Kill()
		<-done
		t.Fatalf("the server started:\n%s", stderr.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("no exit within 20 s:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		t.Fatalf("exit %v, want a non-zero exit code:\n%s", err, stderr.String())
	}
	var plain []string // what is not a JSON log record
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			plain = append(plain, line)
		}
	}
	if len(plain) != 1 || !strings.HasPrefix(plain[0], "chatapp: ") || strings.Contains(stderr.String(), "goroutine ") {
		t.Fatalf("want one line of error starting with chatapp:, got:\n%s", stderr.String())
	}
	line := plain[0]
	// Paths hold the test's name ("…disk_full…"): match the rest only.
	words := strings.ToLower(pathRE.ReplaceAllString(line, "$1<path>"))
	for _, w := range want {
		if strings.Contains(words, strings.ToLower(w)) {
			return line
		}
	}
	t.Errorf("error %q names none of %q", line, want)
	return line
}

var pathRE = regexp.MustCompile(`(^|\s)/[^\s:]+`)

// lineWatch is a writer that keeps what it is given and closes seen once
// it contains want.
type lineWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// makeUnwritable makes path (a directory or a file) unwritable even for
// root and returns how: chattr +i (immutable), else a read-only bind mount
// (directories), else chmod (enough when not root). The cleanup undoes it.
func makeUnwritable(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("chattr"); err == nil {
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err == nil {
			t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
			return "chattr +i"
		} else {
			t.Logf("chattr +i %s: %v %s", path, err, out)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if err := syscall.Mount(path, path, "", syscall.MS_BIND, ""); err == nil {
			t.Cleanup(func() { syscall.Unmount(path, 0) })
			if err := syscall.Mount("", path, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err == nil {
				return "read-only bind mount"
			}
		}
	}
	if os.Geteuid() != 0 {
		os.Chmod(path, 0o500)
		t.Cleanup(func() { os.Chmod(path, 0o700) })
		return "chmod 0500"
	}
	t.Fatalf("cannot make %s unwritable as root: no chattr, no CAP_LINUX_IMMUTABLE, no mount", path)
	return ""
}

// fullDisk returns a directory on a file system with no space left (a
// 1 MiB tmpfs, filled up) and nil; where mounting is not allowed, it
// returns a temp dir and a wrapper that runs the binary with a file size
// limit of 0 (RLIMIT_FSIZE via prlimit), which fails writes the same way
// (EFBIG instead of ENOSPC). seed, if not "", is copied in first.
func fullDisk(t *testing.T, seed string) (string, []string) {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
		prlimit, lerr := exec.LookPath("prlimit")
		if lerr != nil {
			t.Fatalf("cannot mount a tmpfs (%v) and no prlimit to limit file sizes", err)
		}
		t.Logf("no tmpfs (%v): RLIMIT_FSIZE=0 instead", err)
		data := t.TempDir()
		if seed != "" {
			data = copyDir(t, seed)
		}
		return data, []string{prlimit, "--fsize=0"}
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("umount %s: %v", mnt, err)
		}
	})
	data := filepath.Join(mnt, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if seed != "" {
		for name := range snapshot(t, seed) {
			b, _ := os.ReadFile(filepath.Join(seed, name))
			if err := os.WriteFile(filepath.Join(data, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	f, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	var st syscall.Statfs_t
	if syscall.Statfs(mnt, &st); st.Bavail != 0 {
		t.Fatalf("tmpfs not full: %d blocks free", st.Bavail)
	}
	return data, nil
}

// TestStartupFaults: each way the server can be unable to start gives a
// clear one-line error and a non-zero exit, and leaves the data as it was.
func TestStartupFaults(t *testing.T) {
	seed := seedData(t)
	db := func(dir string) string { return filepath.Join(dir, "chatapp.db") }

	t.Run("port in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		data := copyDir(t, seed)
		before := snapshot(t, data)
		startFault(t, nil, data, port, "address already in use")
		checkUntouched(t, data, before)
	})
	t.Run("data dir is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, []byte("not a dir"), 0o600)
		startFault(t, nil, f, "0", "not a directory")
		startFault(t, nil, filepath.Join(f, "data"), "0", "not a directory")
		if b, _ := os.ReadFile(f); string(b) != "not a dir" {
			t.Errorf("file changed: %q", b)
		}
	})
	t.Run("data dir unwritable, new", func(t *testing.T) {
		data := t.TempDir()
		how := makeUnwritable(t, data)
		line := startFault(t, nil, data, "0", "not writable", "operation not permitted", "permission denied", "read-only file system")
		t.Logf("%s: %s", how, line)
		checkUntouched(t, data, map[string]string{})
	})
	t.Run("data dir unwritable, existing database", func(t *testing.T) {
		data := copyDir(t, seed)
		before := snapshot(t, data)
		how := makeUnwritable(t, data)
		line := startFault(t, nil, data, "0", "not writable", "read-only file system")
		t.Logf("%s: %s", how, line)
		checkUntouched(t, data, before)
	})
	t.Run("disk full, new", func(t *testing.T) {
		data, wrap := fullDisk(t, "")
		want := []string{"full"}
		if wrap != nil { // RLIMIT_FSIZE: EFBIG, an I/O error to SQLite; the disk is not full
			want = append(want, "disk I/O error")
		}
		t.Log(startFault(t, wrap, data, "0", want...))
	})
	t.Run("disk full, existing database", func(t *testing.T) {
		data, wrap := fullDisk(t, seed)
		before := snapshot(t, data)
		want := []string{"full"}
		if wrap != nil {
			want = append(want, "disk I/O error")
		}
		t.Log(startFault(t, wrap, data, "0", want...))
		checkUntouched(t, data, before)
	})
	t.Run("database file unwritable", func(t *testing.T) {
		data := copyDir(t, seed)
		before := snapshot(t, data)
		how := makeUnwritable(t, db(data))
		line := startFault(t, nil, data, "0", "not writable")
		t.Logf("%s: %s", how, line)
		checkUntouched(t, data, before)
	})
	corrupt := func(name string, damage func(path string)) {
		t.Run(name, func(t *testing.T) {
			data := copyDir(t, seed)
			damage(db(data))
			before := snapshot(t, data)
			t.Log(startFault(t, nil, data, "0", "corrupt"))
			checkUntouched(t, data, before)
		})
	}
	corrupt("not a database", func(path string) {
		b := make([]byte, 8192)
		for i := range b {
			b[i] = byte(rand.IntN(256))
		}
		os.WriteFile(path, b, 0o600)
	})
	corrupt("schema page damaged", func(path string) {
		f, _ := os.OpenFile(path, os.O_RDWR, 0)
		defer f.Close()
		junk := make([]byte, 3000)
		for i := range junk {
			junk[i] = byte(rand.IntN(256))
		}
		f.WriteAt(junk, 100) // after the 100-byte header: sqlite_schema's page
	})
	corrupt("truncated", func(path string) {
		fi, _ := os.Stat(path)
		os.Truncate(path, fi.Size()/2/4096*4096)
	})
	t.Run("newer schema", func(t *testing.T) {
		data := copyDir(t, seed)
		d, err := sql.Open("sqlite", "file:"+db(data))
		if err != nil {
			t.Fatal(err)
		}
		var v int
		d.QueryRow("PRAGMA user_version").Scan(&v)
		if _, err := d.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			t.Fatal(err)
		}
		d.Close()
		before := snapshot(t, data)
		t.Log(startFault(t, nil, data, "0", "newer"))
		checkUntouched(t, data, before)
	})
}
