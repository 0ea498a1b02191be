package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"

	"chatapp/shared"
)

// Run runs the scenario of o and prints the result to stdout: a table, or
// one JSON line with --json (the table then goes to stderr). A progress
// line goes to stderr while it runs when stderr is a terminal.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) error {
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		progress = stderr
	}
	res, err := Execute(ctx, o, progress)
	if err != nil {
		return err
	}
	if o.JSON {
		res.WriteTable(stderr)
		return res.WriteJSON(stdout)
	}
	res.WriteTable(stdout)
	return nil
}

// Execute runs the scenario of o and returns what it measured. progress,
// when not nil, gets a status line every second (a terminal: it rewrites
// the line).
func Execute(ctx context.Context, o Options, progress io.Writer) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	endpoint, _ := o.endpoint()
	if limit := raiseFileLimit(); limit > 0 && uint64(o.Clients)+64 > limit {
		return nil, fmt.Errorf("--clients %d needs more open files than RLIMIT_NOFILE allows (%d)", o.Clients, limit)
	}
	// Fewer collections: the generator's garbage is short-lived.
	defer debug.SetGCPercent(debug.SetGCPercent(400))

	// The whole run is bounded, whatever the server does.
	budget := o.Warmup + o.Duration + 4*o.Timeout
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	r := &runner{o: o, endpoint: endpoint, errs: map[string]int64{}}
	r.winStart.Store(math.MaxInt64)
	r.winEnd.Store(math.MaxInt64)
	r.setPhase("setup")
	res := &Result{
		Scenario: o.Scenario, URL: endpoint, Run: o.RunID, Clients: o.Clients, Senders: o.Senders,
		Rate: o.Rate, Size: o.Size, WarmupS: o.Warmup.Seconds(), DurationS: o.Duration.Seconds(),
		Generator: Generator{Cores: min(runtime.GOMAXPROCS(0), runtime.NumCPU())},
	}
	if o.PID > 0 {
		s, err := sampleProc(o.PID)
		if err != nil {
			return nil, fmt.Errorf("--pid %d: %w", o.PID, err)
		}
		res.Server = &ServerStats{PID: o.PID, RSSBefore: s.rss}
	}
	if progress != nil {
		stop := r.startProgress(progress)
		defer stop()
	}
	defer r.closeAll()

	var err error
	switch o.Scenario {
	case Storm:
		err = r.storm(ctx, res)
	case Idle:
		err = r.idle(ctx, res)
	default:
		err = r.traffic(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	res.Connections = r.openConns()
	r.closeAll() // no read loop runs past this point
	if len(r.errs) > 0 {
		res.Errors = r.errs
	}
	if res.Errors["429"] > 0 {
		res.Notes = append(res.Notes, "429 answers: the server's per-socket rate limit is on; start chatapp with --msg-rate 0")
	}
	if res.Generator.Saturated {
		res.Notes = append(res.Notes, "the generator used ≥90% of its CPU: rerun with fewer clients or senders, or give it more cores")
	}
	return res, nil
}

// runner is the state of one run.
type runner struct {
	o        Options
	endpoint string

	mu    sync.Mutex
	conns []*conn // every connection opened, for closeAll
	errs  map[string]int64

	// Latency is recorded for messages sent in [winStart, winEnd) (ns).
	winStart, winEnd atomic.Int64
	lat, ackLat      hists
	setupLat         hists
	catchUp          hists
	accepted         atomic.Int64
	logins           atomic.Int64
	caught           atomic.Int64  // storm: clients caught up
	finished         atomic.Int64  // storm: clients caught up or failed to reconnect
	caughtAll        chan struct{} // storm: closed when every client finished
	phase            atomic.Pointer[string]
}

func (r *runner) setPhase(p string) { r.phase.Store(&p) }

func (r *runner) inWindow(sent int64) bool {
	return sent >= r.winStart.Load() && sent < r.winEnd.Load()
}

func (r *runner) addError(code string) {
	r.mu.Lock()
	r.errs[code]++
	r.mu.Unlock()
}

// message implements handler: the end-to-end latency of a delivery, and
// for the storm the seqs a reconnected client receives.
func (r *runner) message(c *conn, seq, sent int64) {
	if sent != 0 && r.inWindow(sent) {
		r.lat.record(c.idx, time.Duration(time.Now().UnixNano()-sent))
	}
	if t := c.tr; t != nil && seq > t.after {
		t.got = append(t.got, seq)
		if len(t.got) >= t.want && !t.caught.Load() {
			r.caughtUp(c, t)
		}
	}
}

// ack implements handler.
func (r *runner) ack(c *conn, id int64, code []byte, seq int64) {
	if c.snd != nil {
		c.snd.acked(id, code, seq)
	}
}

func (r *runner) track(c *conn) {
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
}

func (r *runner) closeAll() {
	r.mu.Lock()
	conns := r.conns
	r.conns = nil
	r.mu.Unlock()
	for _, c := range conns {
		c.ws.CloseNow()
	}
	for _, c := range conns {
		<-c.done
	}
}

// openConns counts connections still open.
func (r *runner) openConns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.conns {
		select {
		case <-c.done:
		default:
			n++
		}
	}
	return n
}

// sums adds up the read loops' counters.
func (r *runner) sums() (delivered, disorder, foreign, echoes, closed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		delivered += c.delivered.Load()
		echoes += c.echoes.Load()
		disorder += c.disorder.Load()
		foreign += c.foreign.Load()
		select {
		case <-c.done:
			closed++
		default:
		}
	}
	return
}

// login dials, connects and logs in as id. With keep false the connection
// is closed after the login answer. It returns the token and offset.
func (r *runner) login(ctx context.Context, idx int, id string, keep bool) (*conn, shared.Response, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	c, err := dial(ctx, r.endpoint, idx, id, nil, r, nil)
	if err != nil {
		return nil, shared.Response{}, fmt.Errorf("%s: connect: %w", id, err)
	}
	resp, err := c.call(ctx, shared.EventLogin, map[string]string{"id": id, "password": r.o.Password})
	if err == nil && resp.Code != shared.CodeOK {
		err = fmt.Errorf("login answered %s %q", resp.Code, resp.Message)
		if resp.Code == shared.CodeTooManyRequests {
			err = fmt.Errorf("%w (is the server's rate limit off, --msg-rate 0?)", err)
		}
	}
	if err != nil {
		c.close()
		return nil, resp, fmt.Errorf("%s: %w", id, err)
	}
	r.setupLat.record(idx, time.Since(start))
	r.logins.Add(1)
	if keep {
		r.track(c)
	} else {
		c.close()
		c = nil
	}
	return c, resp, nil
}

// loginAll logs in n accounts, --concurrency at a time, and stops at the
// first failure. Account i is named by id(i).
func (r *runner) loginAll(ctx context.Context, n, base int, id func(int) string, keep bool) ([]*conn, []shared.Response, error) {
	conns := make([]*conn, n)
	resps := make([]shared.Response, n)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(n, r.o.Concurrency) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				c, resp, err := r.login(ctx, base+i, id(i), keep)
				if err != nil {
					cancel(err)
					return
				}
				conns[i], resps[i] = c, resp
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	return conns, resps, nil
}

func (r *runner) accountID(i int) string { return fmt.Sprintf("b%s-%d", r.o.RunID, i) }

// setup logs in the clients, held open, and fills res.Setup.
func (r *runner) setup(ctx context.Context, res *Result) ([]*conn, error) {
	start := time.Now()
	conns, _, err := r.loginAll(ctx, r.o.Clients, 0, r.accountID, true)
	if err != nil {
		return nil, err
	}
	r.fillSetup(res, time.Since(start))
	return conns, nil
}

func (r *runner) fillSetup(res *Result, d time.Duration) {
	n := int(r.logins.Load())
	res.Setup = Setup{Logins: n, Seconds: d.Seconds(), LoginsPerSec: float64(n) / d.Seconds(), Latency: r.setupLat.snapshot().summary()}
}

// window is one measured interval: server and generator CPU, server RSS.
type window struct {
	start, end       time.Time
	self0, self1     time.Duration
	server0, server1 procSample
	pid              int
	err              error
}

func (r *runner) openWindow() *window {
	w := &window{pid: r.o.PID}
	if w.pid > 0 {
		w.server0, w.err = sampleProc(w.pid)
	}
	w.self0 = selfCPU()
	w.start = time.Now()
	return w
}

func (w *window) close() {
	w.end = time.Now()
	w.self1 = selfCPU()
	if w.pid > 0 && w.err == nil {
		w.server1, w.err = sampleProc(w.pid)
	}
}

// fill records the window's CPU use in res; messages and deliveries are
// what the server handled in it.
func (w *window) fill(res *Result, messages, deliveries int64) error {
	wall := w.end.Sub(w.start).Seconds()
	g := &res.Generator
	g.CPUSeconds = (w.self1 - w.self0).Seconds()
	g.CPUPercent = 100 * g.CPUSeconds / wall
	g.Saturated = g.CPUPercent >= 90*float64(g.Cores)
	if w.pid == 0 {
		return nil
	}
	if w.err != nil {
		return fmt.Errorf("--pid %d: %w", w.pid, w.err)
	}
	sv := res.Server
	cpu := w.server1.cpu - w.server0.cpu
	sv.CPUSeconds = cpu.Seconds()
	sv.CPUPercent = 100 * sv.CPUSeconds / wall
	if deliveries > 0 {
		sv.CPUPerDelivery = float64(cpu.Microseconds()) / float64(deliveries)
		sv.UserPerDelivery = float64((w.server1.user - w.server0.user).Microseconds()) / float64(deliveries)
	}
	if messages > 0 {
		sv.CPUPerMessage = float64(cpu.Microseconds()) / float64(messages)
	}
	sv.RSSAfter = w.server1.rss
	if n := res.Clients; n > 0 {
		sv.RSSPerConnBytes = float64(sv.RSSAfter-sv.RSSBefore) / float64(n)
	}
	return nil
}

// traffic runs fanout, dm and broadcast.
func (r *runner) traffic(ctx context.Context, res *Result) error {
	conns, err := r.setup(ctx, res)
	if err != nil {
		return err
	}
	o := r.o
	cmd, perMessage := shared.CommandChat, 1
	recipient := func(i int) string { return r.accountID(i ^ 1) } // dm: pairs (0,1), (2,3), …
	switch o.Scenario {
	case Fanout:
		cmd, perMessage = shared.CommandGroupchat, o.Clients
		if err := r.makeRoom(ctx, conns); err != nil {
			return err
		}
		recipient = func(int) string { return "b" + o.RunID + "-room" }
	case Broadcast:
		perMessage = o.Clients
		recipient = func(int) string { return shared.All }
	case DM:
		if o.Clients%2 == 1 { // the odd one out talks to itself
			last := o.Clients - 1
			recipient = func(i int) string {
				if i == last {
					return r.accountID(i)
				}
				return r.accountID(i ^ 1)
			}
		}
	}
	res.PerMessage = perMessage

	r.setPhase("warmup")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	senders := make([]*sender, o.Senders)
	for i := range senders {
		s := newSender(r, conns[i], cmd)
		senders[i] = s
		to := recipient(i)
		wg.Go(func() { s.loop(to, o.Rate, stop) })
	}
	if !sleep(ctx, o.Warmup) {
		close(stop)
		return ctx.Err()
	}
	r.setPhase("measure")
	acc0 := r.accepted.Load()
	del0, _, _, _, _ := r.sums()
	w := r.openWindow()
	r.winStart.Store(w.start.UnixNano())
	ok := sleep(ctx, o.Duration)
	w.close()
	r.winEnd.Store(w.end.UnixNano())
	acc1 := r.accepted.Load()
	del1, _, _, _, _ := r.sums()
	close(stop)
	wg.Wait()
	if !ok {
		return ctx.Err()
	}

	// Drain: every message in flight is answered, every accepted message
	// delivered to all its recipients, or the timeout.
	r.setPhase("drain")
	deadline := time.Now().Add(min(o.Timeout, 10*time.Second))
	var delivered, disorder, foreign, echoes, closed int64
	for {
		inFlight := int64(0)
		for _, s := range senders {
			select {
			case <-s.c.done:
			default:
				inFlight += s.outstanding.Load()
			}
		}
		delivered, disorder, foreign, echoes, closed = r.sums()
		if inFlight == 0 && delivered >= r.accepted.Load()*int64(perMessage) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.Accepted = acc1 - acc0
	res.Deliveries = del1 - del0
	res.AcceptedPerSec = float64(res.Accepted) / w.end.Sub(w.start).Seconds()
	res.DeliveriesPerSec = float64(res.Deliveries) / w.end.Sub(w.start).Seconds()
	res.Latency = r.lat.snapshot().summary()
	res.AckLatency = r.ackLat.snapshot().summary()
	res.Undelivered = r.accepted.Load()*int64(perMessage) - delivered
	res.Disorder, res.Foreign, res.Echoes = disorder, foreign, echoes
	if echoes > 0 {
		res.Notes = append(res.Notes, "the server sent chat messages back to the sending socket too (counted as echoes, not deliveries)")
	}
	if closed > 0 {
		r.mu.Lock()
		r.errs["disconnect"] = closed
		r.mu.Unlock()
	}
	return w.fill(res, res.Accepted, res.Deliveries)
}

// makeRoom has the first client create the bench room and every other
// client join it.
func (r *runner) makeRoom(ctx context.Context, conns []*conn) error {
	r.setPhase("room")
	room := "b" + r.o.RunID + "-room"
	call := func(c *conn, command string) error {
		ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
		defer cancel()
		resp, err := c.call(ctx, shared.EventRoom, shared.RoomRequest{Command: command, RoomID: room, RoomName: "bench " + r.o.RunID})
		if err == nil && resp.Code != shared.CodeOK {
			err = fmt.Errorf("room %s answered %s %q", command, resp.Code, resp.Message)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.user, err)
		}
		return nil
	}
	if err := call(conns[0], shared.RoomCreate); err != nil {
		return err
	}
	var first error
	var once sync.Once
	next := atomic.Int64{}
	next.Store(1)
	var wg sync.WaitGroup
	for range min(len(conns)-1, r.o.Concurrency) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				if err := call(conns[i], shared.RoomJoin); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// idle holds the logged-in clients for the duration.
func (r *runner) idle(ctx context.Context, res *Result) error {
	if _, err := r.setup(ctx, res); err != nil {
		return err
	}
	r.setPhase("hold")
	w := r.openWindow()
	ok := sleep(ctx, r.o.Duration)
	w.close()
	if !ok {
		return ctx.Err()
	}
	_, _, _, _, closed := r.sums()
	if closed > 0 {
		r.mu.Lock()
		r.errs["disconnect"] = closed
		r.mu.Unlock()
	}
	return w.fill(res, 0, 0)
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startProgress prints a status line every second until the returned
// function is called.
func (r *runner) startProgress(w io.Writer) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var lastAcc, lastDel int64
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
			acc := r.accepted.Load()
			del, _, _, _, closed := r.sums()
			fmt.Fprintf(w, "\r\033[K%-7s %5.0fs  logins %d  caught up %d  accepted %s/s  deliveries %s/s  closed %d",
				*r.phase.Load(), time.Since(start).Seconds(), r.logins.Load(), r.caught.Load(),
				num(float64(acc-lastAcc)), num(float64(del-lastDel)), closed)
			lastAcc, lastDel = acc, del
		}
	})
	return func() { close(done); wg.Wait() }
}
