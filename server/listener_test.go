package server

// Issue 18 item 3: one client must not exhaust the server's file
// descriptors. These tests go through Serve, the listener and the
// http.Server that main runs, with raw TCP connections.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// serveOn runs the test server's Serve on a listener of its own and
// returns its address.
func serveOn(t *testing.T, cfg Config) (string, *testServer) {
	t.Helper()
	ts := newTestServer(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), ts
}

// rawConn opens a TCP connection and writes req (may be "").
func rawConn(t *testing.T, addr, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if req != "" {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// closedWithin reports whether the server closes c within d (reading and
// dropping whatever it sends first).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestSlowAndIdleConnectionsAreClosed: a connection that sends nothing,
// one that sends half a request, and a kept-alive one that sends nothing
// after its first request are closed by the header and idle timeouts
// (before the fix the idle one was held for ever: http.Server had no
// IdleTimeout).
func TestSlowAndIdleConnectionsAreClosed(t *testing.T) {
	addr, _ := serveOn(t, Config{HeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	for _, tt := range []struct{ name, req string }{
		{"nothing", ""},
		{"half a request", "GET /healthz HTTP/1.1\r\nHost: x\r\n"},
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := rawConn(t, addr, tt.req)
			if !closedWithin(c, 5*time.Second) {
				t.Fatal("still open after 5 s")
			}
		})
	}
}

// TestTimeoutDefaults: at most 10 s for the headers and 60 s idle.
func TestTimeoutDefaults(t *testing.T) {
	var c Config
	c.setDefaults()
	if c.HeaderTimeout <= 0 || c.HeaderTimeout > 10*time.Second || c.IdleTimeout <= 0 || c.IdleTimeout > time.Minute {
		t.Fatalf("header timeout %v, idle timeout %v", c.HeaderTimeout, c.IdleTimeout)
	}
}

// TestMaxConnsPerIPCountsTCP: idle TCP connections count, not just
// Engine.IO sessions; one past the limit is closed as it is accepted,
// and closing one makes room again.
func TestMaxConnsPerIPCountsTCP(t *testing.T) {
	addr, _ := serveOn(t, Config{MaxConnsPerIP: 3})
	var held []net.Conn
	for range 3 {
		held = append(held, rawConn(t, addr, ""))
	}
	if !closedWithin(rawConn(t, addr, ""), 3*time.Second) {
		t.Fatal("a fourth idle connection from the address was kept")
	}
	for _, c := range held {
		if closedWithin(c, 50*time.Millisecond) {
			t.Fatal("a connection within the limit was closed")
		}
	}
	held[0].Close()
	// The server sees the close when its read fails; then the slot is
	// free. Poll until a new connection is kept.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := rawConn(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 12)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "HTTP/1.1 200" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no room after a connection closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fakeListener fails Accept with err n times, then blocks until closed.
type fakeListener struct {
	net.Listener // nil: only Accept, Close and Addr are called
	err          error
	n            int
	closed       chan struct{}
}

func (f *fakeListener) Accept() (net.Conn, error) {
	if f.n > 0 {
		f.n--
		return nil, f.err
	}
	<-f.closed
	return nil, net.ErrClosed
}

// TestAcceptErrorsLoggedAtWarnSparsely: "too many open files" reaches the
// log at warn (it was debug), once per logEvery however often it comes.
func TestAcceptErrorsLoggedAtWarnSparsely(t *testing.T) {
	var out bytes.Buffer // Accept, and so the logger, runs on this goroutine only
	s := &Server{cfg: Config{MaxConnsPerIP: 3}, log: slog.New(slog.NewTextHandler(&out, nil))}
	ln := s.limitListener(&fakeListener{err: errors.New("accept tcp: too many open files"), n: 100, closed: make(chan struct{})})
	for range 100 {
		if _, err := ln.Accept(); err == nil {
			t.Fatal("Accept hid the error")
		}
	}
	lines := strings.Count(out.String(), "accept failed")
	if lines != 1 || !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "too many open files") {
		t.Fatalf("%d lines for 100 errors:\n%s", lines, out.String())
	}
	// The next line, a logEvery later, tells how many were not logged.
	var l sparseLog
	t0 := time.Now()
	l.allow(t0)
	l.allow(t0.Add(time.Second))
	l.allow(t0.Add(2 * time.Second))
	if ok, skipped := l.allow(t0.Add(logEvery)); !ok || skipped != 2 {
		t.Fatalf("after logEvery: ok %v, skipped %d; want true, 2", ok, skipped)
	}
}
