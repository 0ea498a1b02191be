package store

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"chatapp/shared"
)

// BenchmarkAppendParallel measures durable appends from many goroutines:
// group commit turns them into one fsync per batch. msgs/batch is the
// average batch size.
func BenchmarkAppendParallel(b *testing.B) {
	for _, par := range []int{1, 8, 32} {
		// RunParallel starts par × GOMAXPROCS goroutines.
		b.Run(fmt.Sprint("goroutines=", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			s, _ := newStore(b, Options{})
			var id atomic.Int64
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				sender := fmt.Sprint("u", id.Add(1))
				m := shared.Message{Sender: sender, Recipient: shared.All, Command: shared.CommandChat,
					Type: shared.TypeText, Data: "hello, this is a message of ordinary length"}
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

// BenchmarkAppendDM is BenchmarkAppendParallel with direct messages: each
// goroutine writes to its own partner, so every batch touches as many
// conversations as it holds messages (the dm scenario of chatapp bench).
func BenchmarkAppendDM(b *testing.B) {
	for _, par := range []int{1, 8, 32} {
		b.Run(fmt.Sprint("goroutines=", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			s, _ := newStore(b, Options{})
			var id atomic.Int64
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				n := id.Add(1)
				m := shared.Message{Sender: fmt.Sprint("u", n), Recipient: fmt.Sprint("v", n), Command: shared.CommandChat,
					Type: shared.TypeText, Data: "hello, this is a message of ordinary length"}
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
