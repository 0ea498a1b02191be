// Package natstest runs a JetStream cluster of embedded nats-servers
// inside a test process, so tests never assume a NATS server is running
// (docs/CLUSTER.md 14). Each server listens on 127.0.0.1 only, stores in
// its own t.TempDir(), and fsyncs every write before acknowledging it
// (`sync_interval: always`, as production must: nats-server #7564).
//
// A server can be stopped and restarted with its storage and ports, one
// at a time or all together. Stopping an embedded server hands its Raft
// leaderships over first; to see a crash, use Procs (procs.go), which
// runs nats-server processes and kills them. Set CHATAPP_NATS_LOG=1 to
// see the embedded servers' own logs.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Cluster is a running (or partly stopped) set of embedded servers.
type Cluster struct {
	t    testing.TB
	name string

	mu      sync.Mutex       // guards the slices below
	servers []*server.Server // nil while stopped
	dirs    []string
	client  []int // each server's client port, kept across restarts
	route   []int // each server's cluster (route) port, likewise
}

// Start runs n servers (3 for a cluster whose R3 stream survives one
// loss) and waits until JetStream has a meta leader. They are shut down
// when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{
		t:       t,
		name:    "chatapp-test",
		servers: make([]*server.Server, n),
		dirs:    make([]string, n),
		client:  make([]int, n),
		route:   make([]int, n),
	}
	t.Cleanup(c.StopAll)
	// A JetStream cluster needs its routes configured before the first
	// server starts, so the route ports are picked up front: the OS
	// chooses a free one, which is released just before the server binds
	// it. Client ports are the OS's choice at the first start.
	for i := range n {
		c.dirs[i] = t.TempDir()
		c.client[i] = server.RANDOM_PORT
		c.route[i] = freePort(t)
	}
	for i := range n {
		c.Restart(i)
	}
	c.WaitReady()
	return c
}

// options builds server i's options. Its routes point at every other
// server, running or not: a stopped one is retried until it comes back.
func (c *Cluster) options(i int) *server.Options {
	var routes []*url.URL
	for j, p := range c.route {
		if j != i {
			routes = append(routes, &url.URL{Scheme: "nats-route", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p))})
		}
	}
	return &server.Options{
		ServerName: fmt.Sprintf("nats-%d", i),
		Host:       "127.0.0.1",
		Port:       c.client[i],
		NoLog:      os.Getenv("CHATAPP_NATS_LOG") == "",
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   c.dirs[i],
		// sync_interval: always. Without it the servers acknowledge
		// before the write is on disk.
		SyncAlways:         true,
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		Cluster: server.ClusterOpts{
			Name: c.name,
			Host: "127.0.0.1",
			Port: c.route[i],
		},
		Routes: routes,
	}
}

// Restart starts server i (again), with its storage and, after the first
// start, its ports. It waits until it accepts clients, not until
// JetStream has caught up: see WaitReady.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.servers[i] != nil {
		c.t.Fatalf("natstest: server %d is running", i)
	}
	s, err := server.NewServer(c.options(i))
	if err != nil {
		c.t.Fatalf("natstest: server %d: %v", i, err)
	}
	if os.Getenv("CHATAPP_NATS_LOG") != "" {
		s.ConfigureLogger()
	}
	s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		c.t.Fatalf("natstest: server %d did not start", i)
	}
	c.servers[i] = s
	c.client[i] = s.Addr().(*net.TCPAddr).Port
	c.route[i] = s.ClusterAddr().Port
}

// Stop shuts server i down (its storage stays) and waits until it is gone.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// StopAll stops every running server.
func (c *Cluster) StopAll() {
	for i := range c.servers {
		c.Stop(i)
	}
}

// Server returns server i, or nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i]
}

// Size is the number of servers, running or not.
func (c *Cluster) Size() int { return len(c.servers) }

// URLs returns the client URLs of every server, running or not (a client
// given all of them reconnects to whichever comes back), comma-separated
// for nats.Connect.
func (c *Cluster) URLs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return urls(c.client)
}

// Connect returns a client connection to the cluster that reconnects
// forever, closed when the test ends.
func (c *Cluster) Connect(t testing.TB) *nats.Conn { return connect(t, c.URLs()) }

// WaitReady waits (up to a minute: the machine may be loaded) until
// every running server sees a JetStream meta leader and is current with
// it.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	c.waitFor("JetStream meta leader", time.Minute, func() bool {
		leader := false
		for i := range c.servers {
			s := c.Server(i)
			if s == nil {
				continue
			}
			if !s.JetStreamIsCurrent() {
				return false
			}
			leader = leader || s.JetStreamIsLeader()
		}
		return leader
	})
}

func (c *Cluster) waitFor(what string, d time.Duration, ok func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: no %s after %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
