// Command compare is what `make bench` runs (through bench/run.sh): each
// scenario against the Node reference peer (bench/peer) and against
// chatapp, alternately, in fresh processes, for several rounds; then a
// table of medians and the peer÷chatapp ratios.
//
// The server under test is pinned to CPU 0 (chatapp with GOMAXPROCS=1, like
// Node's one thread) and the generator, `chatapp bench`, to CPU 1, when
// taskset exists and the machine has two CPUs. chatapp runs with a temp
// --data, --hash-cost 4 and --msg-rate 0.
//
//	go run ./bench/compare [--rounds 3] [--quick] [--full] [--only fanout,dm]
//
// BENCH_QUICK=1 is --quick: small counts and 1 s windows, about a minute.
// BENCH_FULL=1 is --full: idle and storm at the sizes (10,000 and
// 5,000 clients), which can take much longer.
// Only loopback addresses are used.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scenario is one `chatapp bench` invocation, run against both targets.
type scenario struct {
	name string
	args []string
}

func scenarios(quick, full bool) []scenario {
	if quick {
		return []scenario{
			{"fanout", []string{"--scenario", "fanout", "--clients", "50", "--senders", "5", "--warmup", "500ms", "--duration", "1s"}},
			{"fanout@20/s", []string{"--scenario", "fanout", "--clients", "50", "--senders", "5", "--rate", "20", "--warmup", "500ms", "--duration", "1s"}},
			{"dm", []string{"--scenario", "dm", "--clients", "40", "--warmup", "500ms", "--duration", "1s"}},
			{"broadcast", []string{"--scenario", "broadcast", "--clients", "40", "--senders", "2", "--warmup", "500ms", "--duration", "1s"}},
			{"idle", []string{"--scenario", "idle", "--clients", "300", "--duration", "1s"}},
			{"storm", []string{"--scenario", "storm", "--clients", "200", "--missed", "5", "--timeout", "30s"}},
		}
	}
	// The targets are idle at 10,000 and storm at 5,000 clients
	// (--full). Until chatapp's logins stop costing O(accounts) each
	// (presence list and online broadcast), those take many minutes, so
	// the default run uses 1,000 each. Logins go 100 at a time: with
	// 500 in flight chatapp's slowest logins outlast the ping timeout.
	idle, storm := "1000", "1000"
	if full {
		idle, storm = "10000", "5000"
	}
	return []scenario{
		{"fanout", []string{"--scenario", "fanout", "--clients", "200", "--senders", "5", "--warmup", "1s", "--duration", "4s"}},
		{"fanout@20/s", []string{"--scenario", "fanout", "--clients", "200", "--senders", "5", "--rate", "20", "--warmup", "1s", "--duration", "4s"}},
		{"dm", []string{"--scenario", "dm", "--clients", "200", "--warmup", "1s", "--duration", "4s"}},
		{"broadcast", []string{"--scenario", "broadcast", "--clients", "100", "--senders", "5", "--warmup", "1s", "--duration", "4s"}},
		{"idle", []string{"--scenario", "idle", "--clients", idle, "--concurrency", "100", "--duration", "3s", "--timeout", "120s"}},
		{"storm", []string{"--scenario", "storm", "--clients", storm, "--missed", "10", "--concurrency", "100", "--timeout", "60s"}},
	}
}

// result is the part of bench.Result that the table uses.
type result struct {
	AcceptedPerSec   float64 `json:"accepted_per_s"`
	DeliveriesPerSec float64 `json:"deliveries_per_s"`
	Latency          struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	} `json:"latency"`
	Undelivered int64            `json:"undelivered"`
	Errors      map[string]int64 `json:"errors"`
	Setup       struct {
		LoginsPerSec float64 `json:"logins_per_s"`
	} `json:"setup"`
	Server struct {
		CPUPercent      float64 `json:"cpu_percent"`
		CPUPerDelivery  float64 `json:"cpu_us_per_delivery"`
		UserPerDelivery float64 `json:"cpu_user_us_per_delivery"`
		CPUPerMessage   float64 `json:"cpu_us_per_message"`
		RSSPerConnBytes float64 `json:"rss_per_conn_bytes"`
	} `json:"server"`
	Generator struct {
		CPUPercent float64 `json:"cpu_percent"`
		Saturated  bool    `json:"saturated"`
	} `json:"generator"`
	Storm *struct {
		AllCaughtUpS     float64 `json:"all_caught_up_s"`
		Redials          int64   `json:"redials"`
		ExactlyOnce      bool    `json:"exactly_once_in_order"`
		CPUPerReplayedUs float64 `json:"server_cpu_us_per_replayed"`
	} `json:"storm"`
}

type target struct {
	name  string
	start func(ctx context.Context, port int, logf io.Writer) (*exec.Cmd, error)
}

type config struct {
	root, chatapp, node string
	pin                 bool
	logDir              string
}

func main() {
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "small counts and 1 s windows (also BENCH_QUICK=1)")
	full := flag.Bool("full", os.Getenv("BENCH_FULL") == "1", "idle at 10,000 and storm at 5,000 clients, the issue's targets (also BENCH_FULL=1)")
	rounds := flag.Int("rounds", 0, "rounds per scenario and target, at least 2 (default 3, 2 with --quick)")
	only := flag.String("only", "", "comma-separated scenario names to run (default: all)")
	chatapp := flag.String("chatapp", "./chatapp", "the chatapp binary (make build)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *rounds == 0 {
		*rounds = 3
		if *quick {
			*rounds = 2
		}
	}
	if err := run(ctx, *quick, *full, max(*rounds, 2), *only, *chatapp); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, quick, full bool, rounds int, only, chatapp string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	cfg := config{root: root}
	if cfg.chatapp, err = filepath.Abs(chatapp); err != nil {
		return err
	}
	if _, err := os.Stat(cfg.chatapp); err != nil {
		return fmt.Errorf("%s: %w (run make build)", chatapp, err)
	}
	if cfg.node, err = exec.LookPath("node"); err != nil {
		return errors.New("node is not installed (the reference peer needs Node 20)")
	}
	if _, err := os.Stat(filepath.Join(root, "bench/peer/node_modules/socket.io")); err != nil {
		return errors.New("bench/peer/node_modules is missing: run npm ci in bench/peer (bench/run.sh does)")
	}
	_, tsErr := exec.LookPath("taskset")
	cfg.pin = tsErr == nil && runtime.NumCPU() >= 2
	raiseFileLimit() // inherited by both servers and the generator
	if cfg.logDir, err = os.MkdirTemp("", "chatapp-bench-"); err != nil {
		return err
	}

	var list []scenario
	for _, s := range scenarios(quick, full) {
		if only == "" || slices.Contains(strings.Split(only, ","), s.name) {
			list = append(list, s)
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("--only %q matches no scenario", only)
	}
	targets := []target{
		{"peer", cfg.startPeer},
		{"chatapp", cfg.startChatapp},
	}

	fmt.Printf("chatapp bench: %d rounds, peer (Node %s, socket.io 4.8.4) vs chatapp (%s)\n", rounds, nodeVersion(cfg.node), chatappVersion(cfg.chatapp))
	fmt.Printf("machine: %s, %d CPUs, %s\n", cpuModel(), runtime.NumCPU(), kernel())
	if cfg.pin {
		fmt.Println("pinning: server on CPU 0 (chatapp GOMAXPROCS=1), generator on CPU 1 (taskset)")
	} else {
		fmt.Println("pinning: none (taskset missing or fewer than 2 CPUs): server and generator share the CPUs")
	}
	fmt.Println("chatapp runs with a temp --data, --hash-cost 4 --msg-rate 0; logs and JSON lines in", cfg.logDir)
	fmt.Println()

	res := map[string]map[string][]result{} // scenario → target → rounds
	for round := range rounds {
		for _, sc := range list {
			order := targets
			if round%2 == 1 { // alternate who goes first
				order = []target{targets[1], targets[0]}
			}
			for _, tg := range order {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r, err := cfg.runOne(ctx, tg, sc, round)
				if err != nil {
					fmt.Printf("  round %d %-12s %-8s FAILED: %v\n", round+1, sc.name, tg.name, err)
					continue
				}
				if res[sc.name] == nil {
					res[sc.name] = map[string][]result{}
				}
				res[sc.name][tg.name] = append(res[sc.name][tg.name], r)
				fmt.Printf("  round %d %-12s %-8s %s\n", round+1, sc.name, tg.name, brief(sc.name, r))
			}
		}
	}
	fmt.Println()
	printTable(os.Stdout, list, res)
	return nil
}

// runOne starts a fresh server, runs the generator against it, and stops it.
func (cfg *config) runOne(ctx context.Context, tg target, sc scenario, round int) (result, error) {
	var r result
	base := filepath.Join(cfg.logDir, fmt.Sprintf("%d-%s-%s", round+1, strings.ReplaceAll(sc.name, "/", ""), tg.name))
	logf, err := os.Create(base + ".log")
	if err != nil {
		return r, err
	}
	defer logf.Close()
	port, err := freePort()
	if err != nil {
		return r, err
	}
	srv, err := tg.start(ctx, port, logf)
	if err != nil {
		return r, err
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer stopServer(srv, exited)
	if err := waitListening(ctx, port, exited); err != nil {
		return r, err
	}

	args := append([]string{"bench", "--url", fmt.Sprintf("http://127.0.0.1:%d", port), "--pid", strconv.Itoa(srv.Process.Pid), "--json"}, sc.args...)
	gen := cfg.command(ctx, 1, cfg.chatapp, args...)
	fmt.Fprintf(logf, "$ %s\n", strings.Join(gen.Args, " "))
	gen.Stderr = logf
	out, err := gen.Output()
	os.WriteFile(base+".json", out, 0o644)
	if err != nil {
		return r, fmt.Errorf("generator: %w (see %s.log)", err, base)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("generator output: %w", err)
	}
	return r, nil
}

// command runs name pinned to cpu when pinning is on.
func (cfg *config) command(ctx context.Context, cpu int, name string, args ...string) *exec.Cmd {
	if cfg.pin {
		return exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

func (cfg *config) startChatapp(ctx context.Context, port int, logf io.Writer) (*exec.Cmd, error) {
	dir, err := os.MkdirTemp("", "chatapp-bench-data-")
	if err != nil {
		return nil, err
	}
	cmd := cfg.command(ctx, 0, cfg.chatapp, "--data", dir, "--log-level", "warn", "serve",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--hash-cost", "4", "--msg-rate", "0", "--max-conns-per-ip", "0",
		"--signup-per-ip", "0", "--signup-rate", "0", "--logins-per-ip", "0") // every client comes from 127.0.0.1
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	fmt.Fprintf(logf, "$ GOMAXPROCS=1 %s\n", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	tempDirs = append(tempDirs, dir)
	return cmd, nil
}

func (cfg *config) startPeer(ctx context.Context, port int, logf io.Writer) (*exec.Cmd, error) {
	cmd := cfg.command(ctx, 0, cfg.node, filepath.Join(cfg.root, "bench/peer/server.js"), "--port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	fmt.Fprintf(logf, "$ %s\n", strings.Join(cmd.Args, " "))
	return cmd, cmd.Start()
}

// tempDirs are chatapp data dirs, removed once their server stopped.
var tempDirs []string

func stopServer(cmd *exec.Cmd, exited chan error) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	tempDirs = nil
}

func waitListening(ctx context.Context, port int, exited chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("server exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("server did not listen within 20 s")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// brief is the one-line progress report of a run.
func brief(name string, r result) string {
	var s string
	switch {
	case r.Storm != nil:
		s = fmt.Sprintf("all caught up %.2f s, exactly once %v, %.1f µs CPU/replayed", r.Storm.AllCaughtUpS, r.Storm.ExactlyOnce, r.Storm.CPUPerReplayedUs)
		if r.Storm.Redials > 0 {
			s += fmt.Sprintf(", %d clients dropped and back", r.Storm.Redials)
		}
	case name == "idle":
		s = fmt.Sprintf("%.0f logins/s, %.1f KiB RSS/conn", r.Setup.LoginsPerSec, r.Server.RSSPerConnBytes/1024)
	default:
		s = fmt.Sprintf("%.0f msgs/s, %.0f deliveries/s, p99 %.2f ms, %.2f µs CPU/delivery", r.AcceptedPerSec, r.DeliveriesPerSec, r.Latency.P99, r.Server.CPUPerDelivery)
	}
	if len(r.Errors) > 0 {
		s += fmt.Sprintf(", errors %v", r.Errors)
	}
	if r.Generator.Saturated {
		s += ", GENERATOR SATURATED"
	}
	return s
}

func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func printTable(w io.Writer, list []scenario, res map[string]map[string][]result) {
	fmt.Fprintln(w, "Medians over the rounds (server pinned to one core; CPU/delivery = server utime+stime ÷ deliveries in the window):")
	fmt.Fprintln(w)
	tw := newTable(w, "scenario", "target", "msgs/s", "deliv/s", "p50 ms", "p99 ms", "srv CPU%", "µs/deliv", "user µs/deliv", "RSS/conn KiB", "logins/s", "gen CPU%", "notes")
	for _, sc := range list {
		for _, tn := range []string{"peer", "chatapp"} {
			rs := res[sc.name][tn]
			if len(rs) == 0 {
				tw.row(sc.name, tn, "failed")
				continue
			}
			notes := runNotes(rs)
			m := func(f func(result) float64) float64 { return median(rs, f) }
			if sc.name == "idle" || strings.HasPrefix(sc.name, "idle") {
				tw.row(sc.name, tn, "", "", "", "", f1(m(func(r result) float64 { return r.Server.CPUPercent })), "", "",
					f1(m(func(r result) float64 { return r.Server.RSSPerConnBytes / 1024 })), f0(m(func(r result) float64 { return r.Setup.LoginsPerSec })),
					f0(m(func(r result) float64 { return r.Generator.CPUPercent })), notes)
				continue
			}
			if rs[0].Storm != nil {
				storm := fmt.Sprintf("all caught up in %.2f s", m(func(r result) float64 { return r.Storm.AllCaughtUpS }))
				if notes != "" {
					storm += "; " + notes
				}
				tw.row(sc.name, tn, "", "", "", "", f1(m(func(r result) float64 { return r.Server.CPUPercent })),
					f2(m(func(r result) float64 { return r.Storm.CPUPerReplayedUs })), "", f1(m(func(r result) float64 { return r.Server.RSSPerConnBytes / 1024 })),
					f0(m(func(r result) float64 { return r.Setup.LoginsPerSec })), f0(m(func(r result) float64 { return r.Generator.CPUPercent })),
					storm)
				continue
			}
			tw.row(sc.name, tn,
				f0(m(func(r result) float64 { return r.AcceptedPerSec })), f0(m(func(r result) float64 { return r.DeliveriesPerSec })),
				f2(m(func(r result) float64 { return r.Latency.P50 })), f2(m(func(r result) float64 { return r.Latency.P99 })),
				f1(m(func(r result) float64 { return r.Server.CPUPercent })), f2(m(func(r result) float64 { return r.Server.CPUPerDelivery })),
				f2(m(func(r result) float64 { return r.Server.UserPerDelivery })), f1(m(func(r result) float64 { return r.Server.RSSPerConnBytes / 1024 })), f0(m(func(r result) float64 { return r.Setup.LoginsPerSec })),
				f0(m(func(r result) float64 { return r.Generator.CPUPercent })), notes)
		}
	}
	tw.flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ratios peer ÷ chatapp (above 1: chatapp better; targets of issue 4: CPU ≥ 5×, p99 ≥ 3× at the same offered load, RSS/conn ≥ 3×):")
	fmt.Fprintln(w)
	rt := newTable(w, "scenario", "CPU/delivery", "user CPU/delivery", "p99", "RSS/conn", "throughput chatapp÷peer", "storm catch-up")
	for _, sc := range list {
		p, c := res[sc.name]["peer"], res[sc.name]["chatapp"]
		if len(p) == 0 || len(c) == 0 {
			rt.row(sc.name, "failed")
			continue
		}
		mp := func(f func(result) float64) float64 { return median(p, f) }
		mc := func(f func(result) float64) float64 { return median(c, f) }
		cpu := func(r result) float64 { return r.Server.CPUPerDelivery }
		if p[0].Storm != nil {
			cpu = func(r result) float64 { return r.Storm.CPUPerReplayedUs }
		}
		p99 := func(r result) float64 { return r.Latency.P99 }
		rss := func(r result) float64 { return r.Server.RSSPerConnBytes }
		thr := func(r result) float64 { return r.DeliveriesPerSec }
		storm := "-"
		if p[0].Storm != nil {
			f := func(r result) float64 { return r.Storm.AllCaughtUpS }
			storm = fmt.Sprintf("peer %.2f s, chatapp %.2f s", mp(f), mc(f))
		}
		user := func(r result) float64 { return r.Server.UserPerDelivery }
		cpuR, userR, rssR := ratio(mp(cpu), mc(cpu)), ratio(mp(user), mc(user)), "-"
		if sc.name == "idle" || p[0].Storm != nil {
			rssR = ratio(mp(rss), mc(rss))
		}
		if sc.name == "idle" || p[0].Storm != nil {
			userR = "-"
		}
		if sc.name == "idle" {
			cpuR = "-"
		}
		rt.row(sc.name, cpuR, userR, ratio(mp(p99), mc(p99)), rssR, ratio(mc(thr), mp(thr)), storm)
	}
	rt.flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Closed-loop rows offer each server as much load as it accepts, so their p99 is not at the same offered load; fanout@20/s is.")
}

// runNotes sums what went wrong over the rounds.
func runNotes(rs []result) string {
	var notes []string
	errs := map[string]int64{}
	var undelivered int64
	sat, once := 0, true
	for _, r := range rs {
		for k, v := range r.Errors {
			errs[k] += v
		}
		undelivered += r.Undelivered
		if r.Generator.Saturated {
			sat++
		}
		if r.Storm != nil && !r.Storm.ExactlyOnce {
			once = false
		}
	}
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		notes = append(notes, fmt.Sprintf("%s×%d", k, errs[k]))
	}
	if undelivered != 0 {
		notes = append(notes, fmt.Sprintf("undelivered %d", undelivered))
	}
	if sat > 0 {
		notes = append(notes, fmt.Sprintf("generator saturated in %d/%d", sat, len(rs)))
	}
	if !once {
		notes = append(notes, "NOT exactly once")
	}
	return strings.Join(notes, ", ")
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// table prints aligned columns.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, head ...string) *table { return &table{w: w, rows: [][]string{head}} }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush() {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			pad := width[i] - len([]rune(c))
			if i >= 2 && i < len(r)-1 && c != "" && (c[0] >= '0' && c[0] <= '9' || c == "-") { // numbers right-aligned
				b.WriteString(strings.Repeat(" ", pad) + c + "  ")
			} else {
				b.WriteString(c + strings.Repeat(" ", pad) + "  ")
			}
		}
		fmt.Fprintln(t.w, strings.TrimRight(b.String(), " "))
	}
}

func nodeVersion(node string) string {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func chatappVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}
