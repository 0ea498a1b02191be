package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"chatapp/shared"
)

// postFile uploads body to the server at addr as name with token.
func postFile(t *testing.T, addr, token, name string, body []byte) (int, shared.FileInfo) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/files", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Filename", name)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f shared.FileInfo
	json.NewDecoder(resp.Body).Decode(&f)
	return resp.StatusCode, f
}

func getFile(t *testing.T, addr, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestFilesFlagsBackupRestore: --max-file and --file-quota bound
// uploads; `chatapp backup` copies the files the snapshot refers to into
// FILE.files/, and `chatapp restore` puts them back into another data
// directory, where the server serves them again.
func TestFilesFlagsBackupRestore(t *testing.T) {
	data := t.TempDir()
	for _, bad := range [][]string{{"--max-file", "0"}, {"--file-quota", "100"}} {
		_, stderr, code := chatapp(t, "", append([]string{"--data", filepath.Join(data, "x"), "serve", "--port", "0"}, bad...)...)
		if code == 0 || !strings.HasPrefix(stderr, "chatapp:") || !strings.Contains(stderr, "--max-file") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", bad, code, stderr)
		}
	}

	p := startServer(t, data, "--max-file", "1000", "--file-quota", "8192")
	c, r, err := loginSIO(p.addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if code, _ := postFile(t, p.addr, r.Token, "big", bytes.Repeat([]byte("b"), 1001)); code != 413 {
		t.Fatalf("over --max-file: %d", code)
	}
	one := []byte("BLOB-ONE " + strings.Repeat("1", 500))
	code, f1 := postFile(t, p.addr, r.Token, "one.txt", one)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	if code, _ := postFile(t, p.addr, r.Token, "two.txt", []byte("BLOB-TWO")); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	if code, _ := postFile(t, p.addr, r.Token, "three.txt", []byte("three")); code != 413 {
		t.Fatalf("over --file-quota (2 × 4096): %d", code)
	}
	if a, err := c.req(shared.EventMessage, map[string]any{"recepient": "ALL", "command": "chat", "type": "file", "file": f1.ID}); err != nil || a.Code != "200" {
		t.Fatalf("message: %+v %v", a, err)
	}

	backup := filepath.Join(t.TempDir(), "chatapp.db")
	out, errOut, code := chatapp(t, "", "--data", data, "backup", backup)
	if code != 0 || !strings.Contains(out, "files: 2 in "+backup+".files (2 copied now") {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	data2 := t.TempDir()
	out, errOut, code = chatapp(t, "", "--data", data2, "restore", backup)
	if code != 0 || !strings.Contains(out, "files: 2 put back") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	p = startServer(t, data2)
	if code, b := getFile(t, p.addr, f1.URL); code != 200 || !bytes.Equal(b, one) {
		t.Fatalf("restored file: %d %q", code, b)
	}
	if _, err := os.Stat(filepath.Join(data2, "files", "tmp")); err == nil {
		t.Error("the restore left a temporary folder")
	}
}
