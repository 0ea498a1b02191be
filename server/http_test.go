package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	ts := newTestServer(t, Config{})
	resp, body := get(t, ts.http.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, "page") {
		t.Fatalf("page: %d %q", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self' 'wasm-unsafe-eval'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q in it", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("CSP allows eval: %s", csp)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t, Config{})
	if resp, body := get(t, ts.http.URL+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	a, _ := ts.login("secretive-alice")
	a.req("message", map[string]any{"recepient": "ALL", "command": "chat", "type": "text", "data": "private words"})
	a.req("message", map[string]any{"recepient": "nobody", "command": "chat", "type": "text", "data": "x"})
	resp, body := get(t, ts.http.URL+"/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{
		"chatapp_connections 1\n",
		"chatapp_sockets_logged_in 1\n",
		"chatapp_users_online 1\n",
		"chatapp_messages_stored_total 1\n",
		`chatapp_answers_total{code="200"} 2`,
		`chatapp_answers_total{code="404"} 1`,
		"chatapp_store_append_seconds_count 1\n",
		"# TYPE chatapp_slow_consumer_kicks_total counter\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	for _, secret := range []string{"secretive", "private", "Alias"} {
		if strings.Contains(body, secret) {
			t.Errorf("metrics reveal %q", secret)
		}
	}
}
