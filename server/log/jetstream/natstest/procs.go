package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Procs is a JetStream cluster of nats-server processes, built from the
// Go module this repository requires. Unlike Cluster, a server here can
// be killed (SIGKILL): an embedded server's Shutdown always hands its
// Raft leaderships over first, so it cannot show what a crash costs (the
// others noticing the silence and electing, 2–9 s).
type Procs struct {
	t      testing.TB
	bin    string
	dirs   []string
	client []int
	route  []int

	mu   sync.Mutex
	cmds []*exec.Cmd // nil while stopped
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// serverBinary builds the nats-server command of the required module
// version once per test process, into the OS's temp dir keyed by that
// version, so later test runs reuse it.
func serverBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		version := "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, m := range bi.Deps {
				if m.Path == "github.com/nats-io/nats-server/v2" {
					version = m.Version
				}
			}
		}
		dir := filepath.Join(os.TempDir(), "chatapp-natstest-"+version)
		builtBin = filepath.Join(dir, "nats-server")
		if _, err := os.Stat(builtBin); err == nil {
			return
		}
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		// Build to a private name, then rename: concurrent test
		// processes never see half a binary.
		tmp := fmt.Sprintf("%s.%d", builtBin, os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, "github.com/nats-io/nats-server/v2")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build nats-server: %v\n%s", err, out)
			return
		}
		buildErr = os.Rename(tmp, builtBin)
	})
	if buildErr != nil {
		t.Fatalf("natstest: %v", buildErr)
	}
	return builtBin
}

// StartProcs builds (once) and runs n nats-server processes as a
// JetStream cluster and waits until JetStream answers. They are killed
// when the test ends.
func StartProcs(t testing.TB, n int) *Procs {
	t.Helper()
	p := &Procs{
		t:      t,
		bin:    serverBinary(t),
		dirs:   make([]string, n),
		client: make([]int, n),
		route:  make([]int, n),
		cmds:   make([]*exec.Cmd, n),
	}
	t.Cleanup(p.KillAll)
	for i := range n {
		p.dirs[i] = t.TempDir()
		p.client[i], p.route[i] = freePort(t), freePort(t)
	}
	for i := range n {
		p.Restart(i)
	}
	p.WaitReady()
	return p
}

// config is server i's configuration file: 127.0.0.1 only, its own
// storage, sync_interval always, routes to every other server.
func (p *Procs) config(i int) string {
	var routes []string
	for j, r := range p.route {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", r))
		}
	}
	return fmt.Sprintf(`server_name: nats-%d
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
  sync_interval: always
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: chatapp-test
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, i, p.client[i], filepath.Join(p.dirs[i], "js"), p.route[i], strings.Join(routes, ", "))
}

// Restart starts server i's process (again) with its storage and ports
// and waits until it accepts connections.
func (p *Procs) Restart(i int) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmds[i] != nil {
		p.t.Fatalf("natstest: server %d is running", i)
	}
	conf := filepath.Join(p.dirs[i], "nats.conf")
	if err := os.WriteFile(conf, []byte(p.config(i)), 0o644); err != nil {
		p.t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(p.dirs[i], "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("natstest: start server %d: %v", i, err)
	}
	logf.Close() // the child has its own descriptor
	p.cmds[i] = cmd
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.client[i]))
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("natstest: server %d not listening on %s (see %s)", i, addr, filepath.Join(p.dirs[i], "server.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends server i SIGKILL and waits for the process to end: no
// shutdown, no step-down, like a crash.
func (p *Procs) Kill(i int) {
	p.mu.Lock()
	cmd := p.cmds[i]
	p.cmds[i] = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// KillAll kills every running server.
func (p *Procs) KillAll() {
	for i := range p.cmds {
		p.Kill(i)
	}
}

// Size is the number of servers, running or not.
func (p *Procs) Size() int { return len(p.cmds) }

// URLs returns every server's client URL, comma-separated.
func (p *Procs) URLs() string { return urls(p.client) }

// Connect returns a connection that reconnects forever, closed when the
// test ends.
func (p *Procs) Connect(t testing.TB) *nats.Conn { return connect(t, p.URLs()) }

// WaitReady waits (up to a minute) until the cluster's JetStream answers
// an account request, which needs a meta leader.
func (p *Procs) WaitReady() {
	p.t.Helper()
	nc := connect(p.t, p.URLs())
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("natstest: JetStream not ready after a minute: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Index returns the index of the server named name ("nats-1": 1), or -1.
func (p *Procs) Index(name string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "nats-"))
	if err != nil || i < 0 || i >= len(p.cmds) {
		return -1
	}
	return i
}

// freePort returns a port the OS says is free on 127.0.0.1, released for
// a server to bind just after.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("natstest: pick a port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func urls(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return strings.Join(s, ",")
}

// connect returns a connection to urls that reconnects forever, closed
// when the test ends.
func connect(t testing.TB, urls string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(urls,
		nats.Name(t.Name()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond),
		nats.RetryOnFailedConnect(true),
	)
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
