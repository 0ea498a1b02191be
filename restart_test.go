package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatapp/shared"
)

// interopDeps returns testdata/interop with its npm packages installed
// (make interop-deps does it once; a test run alone does it here).
func interopDeps(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/interop")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"socket.io-client", "jquery"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err == nil {
			continue
		}
		out, err := exec.Command("npm", "ci", "--prefix", dir, "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
		break
	}
	return dir
}

// TestStockClientsRestart: stock npm clients (default transports, polling
// only, WebSocket only) come back by themselves after a graceful restart
// on the same port and data dir, and their {token, offset} auth brings
// them what was sent while they were away (testdata/interop/restart.mjs).
// Before the fix the server sent DISCONNECT (41) on shutdown, the clients
// reported "io server disconnect" and never reconnected.
func TestStockClientsRestart(t *testing.T) {
	dir := interopDeps(t)
	data := t.TempDir()
	p := startServer(t, data, "--msg-rate", "0")
	_, port, _ := net.SplitHostPort(p.addr)

	cmd := exec.Command("node", filepath.Join(dir, "restart.mjs"), "http://"+p.addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out []string
	// wait returns the next line holding want, keeping every line for the
	// log; a failed check ends the test.
	wait := func(want string, d time.Duration) string {
		t.Helper()
		deadline := time.After(d)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("node exited before %q:\n%s", want, strings.Join(out, "\n"))
				}
				out = append(out, l)
				if strings.HasPrefix(l, "FAIL") {
					t.Fatalf("restart.mjs:\n%s", strings.Join(out, "\n"))
				}
				if strings.Contains(l, want) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q from node within %v:\n%s", want, d, strings.Join(out, "\n"))
			}
		}
	}

	wait("ready", 30*time.Second)
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log())
	}
	p = startServer(t, data, "--msg-rate", "0", "--port", port)
	bob, _, err := loginSIO(p.addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.close()
	for _, to := range []string{"alice", "carol", "dave", shared.All} {
		r, err := bob.chat(shared.CommandChat, to, "missed: "+to, "")
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("send to %s: %+v %v", to, r, err)
		}
	}
	sent := time.Now().UnixMilli()

	for range 3 {
		l := wait("back ", 60*time.Second)
		f := strings.Fields(l)
		if ms, err := strconv.ParseInt(f[len(f)-1], 10, 64); err != nil || ms < sent {
			// Still right, but then the messages came live: the replay
			// would not have been tested.
			t.Fatalf("%q: reconnected before the missed messages were stored (at %d)", l, sent)
		}
	}
	wait(" passed, ", 30*time.Second)
	for l := range lines {
		out = append(out, l)
	}
	err = cmd.Wait()
	t.Logf("node restart.mjs:\n%s", strings.Join(out, "\n"))
	if err != nil || !strings.Contains(strings.Join(out, "\n"), " passed, 0 failed") {
		t.Fatalf("restart.mjs: %v", err)
	}
}
