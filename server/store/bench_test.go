package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"chatapp/shared"
)

// BenchmarkAppendParallel measures durable appends from many goroutines
// to ALL: group commit turns them into one fsync per batch. msgs/batch is
// the average batch size.
func BenchmarkAppendParallel(b *testing.B) {
	benchAppend(b, func(n int64) shared.Message {
		return shared.Message{Sender: fmt.Sprint("u", n), Recipient: shared.All, Command: shared.CommandChat,
			Type: shared.TypeText, Data: "hello, this is a message of ordinary length"}
	})
}

// BenchmarkAppendDM is BenchmarkAppendParallel with direct messages: each
// goroutine writes to its own partner, so every batch touches as many
// conversations as it holds messages (the dm scenario of chatapp bench).
func BenchmarkAppendDM(b *testing.B) {
	benchAppend(b, func(n int64) shared.Message {
		return shared.Message{Sender: fmt.Sprint("u", n), Recipient: fmt.Sprint("v", n), Command: shared.CommandChat,
			Type: shared.TypeText, Data: "hello, this is a message of ordinary length"}
	})
}

// benchAppend appends from 1, 8 and 32 goroutines per P; the n-th
// goroutine appends message(n) over and over.
func benchAppend(b *testing.B, message func(n int64) shared.Message) {
	for _, par := range []int{1, 8, 32} {
		// RunParallel starts par × GOMAXPROCS goroutines.
		b.Run(fmt.Sprint("goroutines=", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			s, _ := newStore(b, Options{})
			var id atomic.Int64
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				m := message(id.Add(1))
				ctx := context.Background()
				for pb.Next() {
					if _, _, err := s.Append(ctx, m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := s.Stats()
			if st.Batches > 0 {
				b.ReportMetric(float64(st.Appended)/float64(st.Batches), "msgs/batch")
			}
		})
	}
}

// BenchmarkSince measures a recovery page: 256 messages visible to a user
// who is in 3 of 20 rooms, out of 20000 messages (DMs, ALL, rooms).
func BenchmarkSince(b *testing.B) {
	s, _ := newStore(b, Options{MaxBatch: 1024})
	ctx := context.Background()
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	mustUser(b, s, users...)
	for r := range 20 {
		id := fmt.Sprint("room", r)
		mustRoom(b, s, id, users[r%len(users)])
	}
	for _, r := range []string{"room1", "room2", "room3"} {
		if err := s.Join(ctx, r, "u0"); err != nil {
			b.Fatal(err)
		}
	}
	const total = 20000
	errs := make(chan error, total)
	sem := make(chan struct{}, 256)
	for i := range total {
		var m shared.Message
		switch i % 10 {
		case 0:
			m = chat(users[i%7+1], "ALL", "all")
		case 1, 2:
			m = chat(users[i%9+1], users[(i+3)%10], "dm")
		default:
			m = group(users[i%10], fmt.Sprint("room", i%20), "group message text")
		}
		sem <- struct{}{}
		go func() {
			_, _, err := s.Append(ctx, m)
			<-sem
			errs <- err
		}()
	}
	for range total {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	upto := s.LastSeq()
	n, _ := s.CountSince(ctx, "u0", 0, upto, total)
	first, _ := s.NthNewest(ctx, "u0", 0, upto, 1024)
	b.Logf("u0 sees %d of %d messages", n, total)

	b.Run("page=256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msgs, _, err := s.Since(ctx, "u0", first-1, upto, 256)
			if err != nil || len(msgs) != 256 {
				b.Fatal(len(msgs), err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Since(ctx, "u0", first-1, upto, 256); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("count-cap=1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.CountSince(ctx, "u0", 0, upto, 1000); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nthNewest=1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.NthNewest(ctx, "u0", 0, upto, 1000); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConversations is a login's conversations list (PROTOCOL.md 4.1)
// for a user with 500 conversations (400 direct, 99 rooms, ALL) holding
// 100,000 messages, with mentions, deletions and reactions, and a read
// mark half way through each conversation, so that every unread count
// reads its ranges. docs/PERFORMANCE.md states the figure.
func BenchmarkConversations(b *testing.B) {
	s, _ := newStore(b, Options{MaxBatch: 1024})
	ctx := context.Background()
	const peers, rooms, total = 400, 99, 100_000
	ids := []string{"me"}
	for i := range peers {
		ids = append(ids, fmt.Sprintf("peer%03d", i))
	}
	mustUser(b, s, ids...)
	var convs []shared.Message // a template message per conversation
	for i := range peers {
		convs = append(convs, chat("me", ids[1+i], "dm"))
	}
	for r := range rooms {
		id := fmt.Sprintf("room%02d", r)
		mustRoom(b, s, id, "me", ids[1+r], ids[1+(r+1)%peers])
		convs = append(convs, group("me", id, "room"))
	}
	convs = append(convs, chat("me", shared.All, "all"))

	rng := rand.New(rand.NewPCG(3, 5))
	msgs := make([]shared.Message, total)
	for i := range msgs {
		m := convs[rng.IntN(len(convs))]
		switch {
		case rng.IntN(2) == 0: // me
		case m.Command == shared.CommandGroupchat:
			m.Sender = ids[1+rng.IntN(peers)]
		case m.Recipient == shared.All:
			m.Sender = ids[1+rng.IntN(peers)]
		default:
			m.Sender, m.Recipient = m.Recipient, m.Sender
		}
		m.Data = fmt.Sprintf("message %d: hello, this is a message of ordinary length", i)
		if m.Command == shared.CommandGroupchat && rng.IntN(10) == 0 {
			m.Mentions = []string{"me"}
		}
		msgs[i] = m
	}
	stored := appendAll(b, s, msgs)
	for i, m := range stored {
		switch {
		case i%50 == 0:
			if _, _, err := s.Append(ctx, shared.Message{Command: shared.CommandDelete, Sender: m.Sender, Ref: m.Seq}); err != nil {
				b.Fatal(err)
			}
		case i%20 == 0:
			if _, _, err := s.Append(ctx, shared.Message{Command: shared.CommandReact, Sender: "peer000", Ref: m.Seq, Data: "👍"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Read half way through each conversation.
	byConv := map[Conv][]shared.Seq{}
	for _, m := range stored {
		c := ConvOf(m.Command, m.Sender, m.Recipient)
		byConv[c] = append(byConv[c], m.Seq)
	}
	for c, seqs := range byConv {
		if _, err := s.SetRead(ctx, "me", c, seqs[len(seqs)/2]); err != nil {
			b.Fatal(err)
		}
	}
	list, _, err := s.Conversations(ctx, "me", shared.MaxConversations)
	if err != nil || len(list) != peers+rooms+1 {
		b.Fatalf("%d conversations, %v", len(list), err)
	}
	unread := 0
	for _, c := range list {
		unread += c.Unread
	}
	b.Logf("%d conversations, %d events, %d unread", len(list), s.LastSeq(), unread)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Conversations(ctx, "me", shared.MaxConversations); err != nil {
			b.Fatal(err)
		}
	}
}

// appendAll appends msgs from 256 goroutines (big batches) and returns
// them as stored, in seq order.
func appendAll(b *testing.B, s *Store, msgs []shared.Message) []shared.Message {
	out := make([]shared.Message, len(msgs))
	errs := make(chan error, len(msgs))
	sem := make(chan struct{}, 256)
	for i, m := range msgs {
		sem <- struct{}{}
		go func() {
			got, _, err := s.Append(context.Background(), m)
			out[i] = got
			<-sem
			errs <- err
		}()
	}
	for range msgs {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	slices.SortFunc(out, func(a, b shared.Message) int { return int(a.Seq - b.Seq) })
	return out
}
