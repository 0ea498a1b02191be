package main

// Tests of how chatapp is built and shipped (issue 10): a clean clone
// builds with nothing but Go, make and git; make dist makes static,
// version-stamped release binaries.

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// cleanBuildVar gates TestCleanCloneBuild: it rebuilds the wasm and
// compresses it (about a minute of CPU), so .ci/run sets it and a
// developer's `make test` names it when it skips.
const cleanBuildVar = "CHATAPP_CLEAN_BUILD"

// toolPath makes a directory holding links to only the named programs
// (found on the current PATH) and returns it, for a PATH with nothing
// else on it.
func toolPath(t *testing.T, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range tools {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is needed to build: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCleanCloneBuild: a fresh clone of the committed tree builds with
// `make build` on a PATH that holds only go, make and git (so no brotli,
// gzip or C compiler), and the binary serves the page and the app's
// WebAssembly, pre-compressed.
func TestCleanCloneBuild(t *testing.T) {
	if os.Getenv(cleanBuildVar) == "" {
		t.Skipf("set %s=1 to run it (.ci/run does): it clones this repository and runs make build with only go, make and git on PATH", cleanBuildVar)
	}
	clone := filepath.Join(t.TempDir(), "chatapp")
	if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", ".", clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	path := toolPath(t, "go", "make", "git")
	if _, err := exec.LookPath(filepath.Join(path, "brotli")); err == nil {
		t.Fatal("brotli on the stripped PATH")
	}
	make := exec.Command("make", "build")
	make.Dir = clone
	make.Env = append(os.Environ(), "PATH="+path)
	make.Path = filepath.Join(path, "make")
	out, err := make.CombinedOutput()
	t.Logf("make build:\n%s", out)
	if err != nil {
		t.Fatalf("make build in a clean clone: %v", err)
	}

	p := startBinary(t, filepath.Join(clone, "chatapp"), t.TempDir())
	resp, err := http.Get("http://" + p.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %s", resp.Status)
	}
	raw := fetchWasm(t, p.addr, "")
	if len(raw) < 1<<20 || !bytes.HasPrefix(raw, []byte("\x00asm")) {
		t.Fatalf("app.wasm: %d bytes, not WebAssembly", len(raw))
	}
	for _, enc := range []string{"gzip", "br"} {
		if got := fetchWasm(t, p.addr, enc); !bytes.Equal(got, raw) {
			t.Errorf("app.wasm as %s decodes to %d bytes, want the %d of the plain one", enc, len(got), len(raw))
		}
	}
}

// fetchWasm GETs /web/app.wasm accepting encoding (empty: none), checks
// that it came in that encoding and returns it decoded.
func fetchWasm(t *testing.T, addr, encoding string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/web/app.wasm", nil)
	req.Header.Set("Accept-Encoding", encoding) // set, so the transport adds no gzip of its own
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != encoding {
		t.Fatalf("app.wasm (Accept-Encoding %q): %s, Content-Encoding %q", encoding, resp.Status, resp.Header.Get("Content-Encoding"))
	}
	var body io.Reader = resp.Body
	switch encoding {
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	case "br":
		body = brotli.NewReader(resp.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("app.wasm as %q: %v", encoding, err)
	}
	return b
}

// TestDist builds the linux/amd64 release binary with `make dist` (into a
// temp dir; the other platforms cost minutes of CPU and differ only in
// GOOS/GOARCH) and checks its name, its checksum line, that it is static
// and stamped with the version, and that it serves the app.
func TestDist(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("runs the linux/amd64 binary; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	const version = "v0.0.0-disttest"
	dist := t.TempDir()
	cmd := exec.Command("make", "dist", "DIST="+dist, "DIST_PLATFORMS=linux/amd64", "VERSION="+version)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	name := "chatapp_" + version + "_linux_amd64"
	bin := filepath.Join(dist, name)
	entries, _ := os.ReadDir(dist)
	if len(entries) != 2 {
		t.Errorf("dist holds %v, want %s and SHA256SUMS", entries, name)
	}

	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(fileBytes(t, bin))
	if want := hex.EncodeToString(sum[:]) + "  " + name + "\n"; string(sums) != want {
		t.Errorf("SHA256SUMS is %q, want %q", sums, want)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (program header %v)", name, p.Type)
		}
	}
	f.Close()

	got, err := exec.Command(bin, "version").Output()
	if err != nil || string(got) != "chatapp "+version+"\n" {
		t.Errorf("%s version: %q %v", name, got, err)
	}
	p := startBinary(t, bin, t.TempDir())
	resp, err := http.Get("http://" + p.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("<html")) {
		t.Fatalf("GET /: %s %.200q", resp.Status, page)
	}
}
