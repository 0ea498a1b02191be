package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chatappBinary returns the built binary: $CHATAPP_BIN (make test sets
// it), else one built into a temp dir (without the UI's wasm).
var chatappBinary = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("CHATAPP_BIN"); p != "" {
		return p, nil
	}
	dir, err := os.MkdirTemp("", "chatapp-bin")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "chatapp")
	out, err := exec.Command("go", "build", "-o", p, ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return p, nil
})

func binary(t *testing.T) string {
	t.Helper()
	p, err := chatappBinary()
	if err != nil {
		t.Fatalf("build chatapp: %v", err)
	}
	return p
}

// proc is a running chatapp.
type proc struct {
	cmd  *exec.Cmd
	addr string // 127.0.0.1:port
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

// startServer runs `chatapp serve` on 127.0.0.1:0 with data dir and extra
// args, and waits until it listens.
func startServer(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	return startBinary(t, binary(t), data, args...)
}

// startBinary is startServer for the chatapp binary at bin.
func startBinary(t *testing.T, bin, data string, args ...string) *proc {
	t.Helper()
	// Every test client comes from 127.0.0.1: no per-address limit unless
	// a test sets one (a later flag wins).
	args = append([]string{"--data", data, "--log-format", "json", "serve", "--host", "127.0.0.1", "--port", "0", "--hash-cost", "4",
		"--max-conns-per-ip", "0", "--signup-per-ip", "0", "--signup-rate", "0", "--logins-per-ip", "0"}, args...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.logs.Write(line)
			p.logs.WriteByte('\n')
			p.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				addrc <- rec.Addr
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.log())
		}
	})
	select {
	case p.addr = <-addrc:
	case err := <-p.done:
		t.Fatalf("server exited: %v\n%s", err, p.log())
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not start:\n%s", p.log())
	}
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends sig and returns the exit error and how long the exit took.
func (p *proc) stop(t *testing.T, sig os.Signal) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err, time.Since(start)
	case <-time.After(15 * time.Second):
		t.Fatal("server did not exit")
		return nil, 0
	}
}

// chatapp runs the binary to completion.
func chatapp(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestCLIErrorsAreOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o500)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, []byte("x"), 0o600)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"port in use", []string{"--data", t.TempDir(), "--port", port, "--host", "127.0.0.1"}, "address already in use"},
		{"bad flag", []string{"--no-such-flag"}, "unknown flag"},
		{"bad enum", []string{"--signup", "maybe"}, "signup"},
		{"data dir is a file", []string{"--data", notDir, "--port", "0", "--host", "127.0.0.1"}, "chatapp:"},
		{"bad port", []string{"--port", "70000"}, "port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := chatapp(t, "", tt.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code == 0 || !strings.Contains(stderr, tt.want) || !strings.HasPrefix(lines[len(lines)-1], "chatapp:") || strings.Contains(stderr, "goroutine ") {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
		})
	}
	if os.Geteuid() != 0 { // root writes anywhere
		_, stderr, code := chatapp(t, "", "--data", filepath.Join(ro, "data"), "--port", "0", "--host", "127.0.0.1")
		if code == 0 || !strings.HasPrefix(stderr, "chatapp:") {
			t.Fatalf("unwritable data dir: exit %d\n%s", code, stderr)
		}
	}
}

func TestUserCommands(t *testing.T) {
	data := t.TempDir()
	run := func(stdin string, args ...string) (string, int) {
		out, errOut, code := chatapp(t, stdin, append([]string{"--data", data}, args...)...)
		return out + errOut, code
	}
	if out, code := run("hunter22\n", "user", "add", "Alice", "--alias", "Al", "--hash-cost", "4"); code != 0 {
		t.Fatalf("add: %d %s", code, out)
	}
	if out, code := run("", "user", "add", "alice", "--password", "another1", "--hash-cost", "4"); code == 0 || !strings.Contains(out, "exists") {
		t.Fatalf("duplicate add: %d %s", code, out)
	}
	if out, code := run("", "user", "add", "x", "--password", "short"); code == 0 || !strings.Contains(out, "6 to 128") {
		t.Fatalf("short password: %d %s", code, out)
	}
	if out, _ := run("", "user", "list"); !strings.Contains(out, "Alice\tAl\t") {
		t.Fatalf("list: %q", out)
	}
	if out, code := run("", "user", "passwd", "ALICE", "--password", "newpass1", "--hash-cost", "4"); code != 0 {
		t.Fatalf("passwd: %s", out)
	}
	if out, code := run("", "user", "del", "nobody"); code == 0 || !strings.Contains(out, "no user") {
		t.Fatalf("del missing: %s", out)
	}
	if out, code := run("", "user", "del", "alice"); code != 0 {
		t.Fatalf("del: %s", out)
	}
	if out, _ := run("", "user", "list"); strings.Contains(out, "Alice") {
		t.Fatalf("list after del: %q", out)
	}
	if out, code := run("", "version"); code != 0 || !strings.HasPrefix(out, "chatapp ") {
		t.Fatalf("version: %s", out)
	}
}

func TestEnvVarsConfigureFlags(t *testing.T) {
	data := t.TempDir()
	cmd := exec.Command(binary(t), "user", "list")
	cmd.Env = append(os.Environ(), "CHATAPP_DATA="+data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, "chatapp.db")); err != nil {
		t.Fatalf("CHATAPP_DATA was not used: %v", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	p := startServer(t, data)
	ctx := t.Context()
	ws, _, err := websocket.Dial(ctx, "ws://"+p.addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Read(ctx) // open packet
	ws.Write(ctx, websocket.MessageText, []byte("40"))
	if _, b, err := ws.Read(ctx); err != nil || !strings.HasPrefix(string(b), "40{") {
		t.Fatalf("connect: %q %v", b, err)
	}
	got := make(chan []string, 1)
	go func() { // everything the socket receives until it closes
		var frames []string
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				frames = append(frames, "close:"+websocket.CloseStatus(err).String())
				got <- frames
				return
			}
			frames = append(frames, string(b))
		}
	}()
	err, took := p.stop(t, syscall.SIGTERM)
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, p.log())
	}
	if took > 6*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
	if !strings.Contains(p.log(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in log:\n%s", p.log())
	}
	frames := <-got
	// Going away at the transport level, without DISCONNECT (41), which
	// stock clients take as a kick and stop reconnecting.
	if slices.Contains(frames, "41") || frames[len(frames)-1] != "close:StatusGoingAway" {
		t.Fatalf("socket saw %q", frames)
	}
}

// TestSocketIOClientInterop runs the stock npm socket.io-client against
// the built binary (testdata/interop/interop.mjs).
func TestSocketIOClientInterop(t *testing.T) {
	dir := interopDeps(t)
	p := startServer(t, t.TempDir(), "--msg-rate", "0")
	cmd := exec.Command("node", filepath.Join(dir, "interop.mjs"), "http://"+p.addr)
	out, err := cmd.CombinedOutput()
	t.Logf("node interop.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	if !strings.Contains(string(out), " passed, 0 failed") {
		t.Fatal("no result line")
	}
}

func TestMaxConnsPerIP(t *testing.T) {
	p := startServer(t, t.TempDir(), "--max-conns-per-ip", "2")
	url := "ws://" + p.addr + "/socket.io/?EIO=4&transport=websocket"
	for range 2 {
		ws, _, err := websocket.Dial(t.Context(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		ws.Read(t.Context()) // the open packet: the session is registered
	}
	// Counted at the listener (TCP connections): the third is closed as
	// it is accepted, before any HTTP.
	_, resp, err := websocket.Dial(t.Context(), url, nil)
	if err == nil || resp != nil {
		t.Fatalf("third connection: %v %v", err, resp)
	}
}

// TestServeProfiles: --cpu-profile and --mem-profile write pprof files
// (gzipped protobuf) that cover the run.
func TestServeProfiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	p := startServer(t, filepath.Join(dir, "data"), "--cpu-profile", cpu, "--mem-profile", mem)
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.log())
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
			t.Fatalf("%s: %d bytes, not a gzipped profile", f, len(b))
		}
	}
}
