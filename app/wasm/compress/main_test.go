package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestCompress: both copies decode to the input, are smaller than it, and
// a second run writes the same bytes (no name or time in the gzip header).
func TestCompress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.wasm")
	// Compressible but not trivial: repeated words in random order.
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("func main package import return if else for range go defer chan select")
	var raw bytes.Buffer
	for raw.Len() < 128<<10 {
		raw.WriteString(words[r.IntN(len(words))])
		raw.WriteByte(byte(r.IntN(4)))
	}
	if err := os.WriteFile(path, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := run(path, &report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "app.wasm.br") {
		t.Errorf("report %q", report.String())
	}
	first := map[string][]byte{}
	for _, suffix := range []string{".gz", ".br"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		first[suffix] = b
		var dec io.Reader
		if suffix == ".gz" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if zr.Name != "" || !zr.ModTime.IsZero() {
				t.Errorf("gzip header names %q, time %v", zr.Name, zr.ModTime)
			}
			dec = zr
		} else {
			dec = brotli.NewReader(bytes.NewReader(b))
		}
		got, err := io.ReadAll(dec)
		if err != nil || !bytes.Equal(got, raw.Bytes()) {
			t.Fatalf("%s does not decode to the input (%d bytes, %v)", suffix, len(got), err)
		}
		if len(b) > raw.Len()/2 {
			t.Errorf("%s: %d bytes of %d", suffix, len(b), raw.Len())
		}
	}
	if err := run(path, io.Discard); err != nil {
		t.Fatal(err)
	}
	for suffix, b := range first {
		again, _ := os.ReadFile(path + suffix)
		if !bytes.Equal(again, b) {
			t.Errorf("%s differs between two runs", suffix)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCompressMissingFile(t *testing.T) {
	dir := t.TempDir()
	if err := run(filepath.Join(dir, "nope.wasm"), io.Discard); err == nil {
		t.Fatal("no error for a missing file")
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("files written: %v", left)
	}
}
