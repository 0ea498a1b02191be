package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	chatlog "chatapp/server/log"
	"chatapp/server/log/jetstream/natstest"
)

// The benchmarks run against an embedded 3-server cluster in the same
// process (R3 stream, sync_interval always): the servers, the client and
// the benchmark share the machine's cores, as three nodes on one small
// machine would. Run them with
//
//	go test -run '^$' -bench . -benchtime 5s ./server/log/jetstream/
//
// They report events/s; docs/CLUSTER.md 13 keeps the figures.

var payload = make([]byte, 200) // about a chat message with its fields

func benchLog(b *testing.B) *Log {
	b.Helper()
	c := natstest.Start(b, 3)
	return openLog(b, c.Connect(b), Config{})
}

func benchRecord(i int64) chatlog.Record {
	return chatlog.Record{
		Topic: chatlog.Topic{Kind: chatlog.Message, Key: fmt.Sprintf("r:room%d", i%100)},
		ID:    fmt.Sprintf("user%d\x1fcid%d", i%1000, i),
		Data:  payload,
	}
}

// BenchmarkAppendSingle: many callers (nodes' handlers) each appending
// one record at a time, the way a node without batching would.
func BenchmarkAppendSingle(b *testing.B) {
	l := benchLog(b)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := l.Append(context.Background(), []chatlog.Record{benchRecord(n.Add(1))})
			if err != nil || res[0].Err != nil {
				b.Errorf("append: %v %+v", err, res)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkAppendBatch: one caller appending batches of 100 (a node's
// group commit under load).
func BenchmarkAppendBatch(b *testing.B) {
	l := benchLog(b)
	const size = 100
	var i int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		recs := make([]chatlog.Record, size)
		for j := range recs {
			i++
			recs[j] = benchRecord(i)
		}
		appendOK(b, l, recs...)
	}
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
}

// fill appends n records in batches of 500 and returns the last seq.
func fill(b *testing.B, l *Log, n int) uint64 {
	b.Helper()
	var last uint64
	for i := 0; i < n; i += 500 {
		recs := make([]chatlog.Record, min(500, n-i))
		for j := range recs {
			recs[j] = benchRecord(int64(i + j))
		}
		for _, r := range appendOK(b, l, recs...) {
			last = max(last, r.Seq)
		}
	}
	return last
}

// BenchmarkFollow: one node's follower reading the stream from the start
// (what every node does live, and a restarting node catching up).
func BenchmarkFollow(b *testing.B) {
	l := benchLog(b)
	last := fill(b, l, b.N)
	b.ResetTimer()
	start := time.Now()
	done := errors.New("done")
	err := l.Follow(context.Background(), 0, func(ev chatlog.Event) error {
		if ev.Seq == last {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkReplay: the replay of one user's view (ALL-less: five of the
// hundred rooms and the user's direct conversations) over the last 1,000
// events of a 20,000-event stream, from the stream (a consumer per
// replay) and from a Tail's ring.
func BenchmarkReplay(b *testing.B) {
	l := benchLog(b)
	last := fill(b, l, 20000)
	f := chatlog.Filter{Convs: []string{"r:room1", "r:room2", "r:room3", "r:room4", "r:room5"}, DirectOf: "user1"}
	after := last - 1000
	b.Run("stream", func(b *testing.B) {
		for range b.N {
			evs, _, err := l.Replay(context.Background(), f, after, last, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) != 50 {
				b.Fatalf("replayed %d events, want 50", len(evs))
			}
		}
	})
	b.Run("ring", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tail := chatlog.NewTail(l, 0)
		go tail.Run(ctx, 0, func(chatlog.Event) error { return nil })
		if err := tail.Wait(ctx, last); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			evs, _, err := tail.Replay(ctx, f, after, last, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) != 50 {
				b.Fatalf("replayed %d events, want 50", len(evs))
			}
		}
	})
}
