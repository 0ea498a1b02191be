package server

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"chatapp/shared"
)

// A replay longer than one store page (replayPage): all of it in order
// under ReplayMax, only the newest ReplayMax after a 206 above it.
func TestReplayLongerThanAPage(t *testing.T) {
	const missed = replayPage + 44
	for _, max := range []int{0, missed, missed - 20} { // 0: the default, 1000
		t.Run(fmt.Sprint("max=", max), func(t *testing.T) {
			ts := newTestServer(t, Config{MsgRate: -1, ReplayMax: max})
			a, ra := ts.login("alice")
			a.close()
			ts.login("bob")
			var mu sync.Mutex
			var seqs []shared.Seq
			var wg sync.WaitGroup
			for i := range missed {
				wg.Go(func() {
					m, _, err := ts.st.Append(context.Background(), shared.Message{Sender: "bob", Recipient: "alice",
						Command: shared.CommandChat, Type: shared.TypeText, Data: fmt.Sprint(i)})
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					seqs = append(seqs, m.Seq)
					mu.Unlock()
				})
			}
			wg.Wait()
			slices.Sort(seqs)
			want := seqs
			a = ts.dial("alice", map[string]any{"token": ra.Token, "offset": ra.Offset})
			if max == missed-20 {
				want = seqs[20:]
				var r shared.Response
				a.take("response", &r)
				if r.Command != "recover" || r.Code != "206" || r.Before != want[0].String() {
					t.Fatalf("206: %+v", r)
				}
			}
			for _, seq := range want {
				if m := a.message(); m.Seq != seq {
					t.Fatalf("got seq %s, want %s", m.Seq, seq)
				}
			}
			a.none("message", 50*time.Millisecond)
			if n := a.count("response"); n != 0 {
				t.Fatalf("%d unexpected responses", n)
			}
		})
	}
}
