package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOriginAndPublicFlags: --allowed-origins takes exact origins, * and
// null (each opt-in logged as a warning at start); a value that is none of
// them, a --public-url that is not an http(s) origin or a --public that is
// not a folder stops the server before it touches anything, with one line.
func TestOriginAndPublicFlags(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "--allowed-origins", "*,null,https://app.example.com", "--public-url", "https://chat.example.com")
	for _, warn := range []string{"allowed origins include *", "allowed origins include null"} {
		if !slices.ContainsFunc(strings.Split(p.log(), "\n"), func(l string) bool {
			return strings.Contains(l, `"level":"WARN"`) && strings.Contains(l, warn)
		}) {
			t.Errorf("no warning %q:\n%s", warn, p.log())
		}
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, tt := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--allowed-origins", "app.example.com"}, `--allowed-origins: "app.example.com" is not scheme://host[:port], * or null`},
		{[]string{"--allowed-origins", "https://ok.example,https://x.example/path"}, "--allowed-origins"},
		{[]string{"--public-url", "ftp://chat.example.com"}, "--public-url: the public URL must start with http:// or https://"},
		{[]string{"--public-url", "https://chat.example.com/chat"}, "--public-url"},
		{[]string{"--public", filepath.Join(t.TempDir(), "missing")}, "--public"},
		{[]string{"--public", file}, "--public"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		_, stderr, code := chatapp(t, "", append([]string{"--data", data, "serve", "--host", "127.0.0.1", "--port", "0"}, tt.flags...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "chatapp:") || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr:\n%s", tt.flags, code, stderr)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("%q: the data dir was created", tt.flags)
		}
	}
}
