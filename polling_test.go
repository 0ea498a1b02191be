package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSocketIOClientPollingInterop runs the stock npm socket.io-client
// against the built binary over HTTP long-polling
// (testdata/interop/polling.mjs): with its defaults (polling, then the
// upgrade to WebSocket), with transports: ["polling"], and with
// upgrade: false.
func TestSocketIOClientPollingInterop(t *testing.T) {
	dir := interopDeps(t)
	p := startServer(t, t.TempDir(), "--msg-rate", "0")
	for _, mode := range []string{"default", "polling", "noupgrade"} {
		t.Run(mode, func(t *testing.T) {
			out, err := exec.Command("node", filepath.Join(dir, "polling.mjs"), "http://"+p.addr, mode).CombinedOutput()
			t.Logf("node polling.mjs %s:\n%s", mode, out)
			if err != nil {
				t.Fatalf("interop: %v", err)
			}
			if !strings.Contains(string(out), " passed, 0 failed") {
				t.Fatal("no result line")
			}
		})
	}
}
