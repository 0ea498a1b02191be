package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"chatapp/shared"
)

// TestBackupRestoreCommands: `chatapp backup` run beside a server under
// write load copies every message answered 200 before it started;
// `chatapp restore` refuses while the server runs and changes nothing,
// and once it is stopped puts the copy in place for the next start.
func TestBackupRestoreCommands(t *testing.T) {
	data := t.TempDir()
	p := startServer(t, data, "--msg-rate", "0")

	var (
		mu      sync.Mutex
		answers []shared.Message // answered 200, in answer order
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		id := fmt.Sprintf("writer%d", w)
		c, _, err := loginSIO(p.addr, id)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				data := fmt.Sprintf("%s #%d", id, i)
				r, err := c.chat(shared.CommandChat, shared.All, data, fmt.Sprint(i))
				if err != nil || r.Code != shared.CodeOK {
					t.Errorf("%s: %+v %v", id, r, err)
					return
				}
				seq, _ := shared.ParseSeq(r.Seq)
				mu.Lock()
				answers = append(answers, shared.Message{Seq: seq, Sender: id, Data: data})
				mu.Unlock()
			}
		})
	}
	answered := func() []shared.Message {
		mu.Lock()
		defer mu.Unlock()
		return append([]shared.Message(nil), answers...)
	}
	waitAnswered := func(n int) {
		for deadline := time.Now().Add(time.Minute); len(answered()) < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d messages answered in a minute", n)
			}
		}
	}

	waitAnswered(100)
	before := answered()
	backup := filepath.Join(t.TempDir(), "chatapp-backup.db")
	out, errOut, code := chatapp(t, "", "--data", data, "backup", backup)
	if code != 0 || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	waitAnswered(len(before) + 50) // the server went on writing

	dbBefore := fileBytes(t, filepath.Join(data, "chatapp.db"))
	out, errOut, code = chatapp(t, "", "--data", data, "restore", backup)
	if code == 0 || !strings.Contains(errOut, "in use") || !strings.HasPrefix(errOut, "chatapp:") {
		t.Fatalf("restore into a running server's data dir: exit %d\n%s%s", code, out, errOut)
	}
	close(stop)
	wg.Wait()
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("server exit: %v", err)
	}
	if len(fileBytes(t, filepath.Join(data, "chatapp.db"))) < len(dbBefore) {
		t.Fatal("the refused restore shrank the database")
	}
	total := len(answered())

	out, errOut, code = chatapp(t, "", "--data", data, "restore", backup)
	if code != 0 || !strings.Contains(out, "kept as") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	p = startServer(t, data, "--replay-max", "1000000")
	c, r, err := loginSIO(p.addr, "checker")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	last, _ := shared.ParseSeq(r.Offset)
	got := map[shared.Seq]shared.Message{}
	for older := shared.Seq(0); ; { // history pages back from the newest
		req := map[string]any{"target": shared.All, "command": shared.CommandChat, "limit": 100}
		if older > 0 {
			req["before"] = older.String()
		}
		h, err := c.req(shared.EventHistory, req)
		if err != nil || h.Code != shared.CodeOK {
			t.Fatalf("history: %+v %v", h, err)
		}
		for _, m := range h.Messages {
			got[m.Seq] = m
		}
		if len(h.Messages) < 100 {
			break
		}
		older = h.Messages[0].Seq
	}
	for _, m := range before {
		if g := got[m.Seq]; g.Sender != m.Sender || g.Data != m.Data {
			t.Fatalf("message %d (%s) answered before the backup: restored as %+v", m.Seq, m.Data, g)
		}
	}
	if len(got) < len(before) || len(got) >= total || last != maxSeq(got) {
		t.Errorf("restored %d messages up to seq %d (login offset %d); %d were answered before the backup, %d in all",
			len(got), maxSeq(got), last, len(before), total)
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func maxSeq(ms map[shared.Seq]shared.Message) shared.Seq {
	var m shared.Seq
	for s := range ms {
		m = max(m, s)
	}
	return m
}
