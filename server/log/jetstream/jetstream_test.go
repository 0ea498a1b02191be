package jetstream

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	chatlog "chatapp/server/log"
	"chatapp/server/log/jetstream/natstest"
	"chatapp/server/log/logtest"
)

var streams atomic.Int64

// openLog opens a Log on a fresh stream (its own name and subject
// prefix) of the cluster behind nc.
func openLog(t testing.TB, nc *nats.Conn, cfg Config) *Log {
	t.Helper()
	n := streams.Add(1)
	cfg.Stream = fmt.Sprintf("T%d", n)
	cfg.Prefix = fmt.Sprintf("t%d", n)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := Open(ctx, nc, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestConformance runs the Log suite against R3 streams of an embedded
// 3-server cluster.
func TestConformance(t *testing.T) {
	c := natstest.Start(t, 3)
	nc := c.Connect(t)
	logtest.Run(t, func(t *testing.T) chatlog.Log {
		return openLog(t, nc, Config{})
	})
}

func TestStreamConfig(t *testing.T) {
	c := natstest.Start(t, 3)
	l := openLog(t, c.Connect(t), Config{})
	info, err := l.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sc := info.Config
	if sc.Replicas != 3 || sc.Storage.String() != "File" || sc.Duplicates != 2*time.Minute ||
		len(sc.Subjects) != 1 || sc.Subjects[0] != l.cfg.Prefix+".>" || !sc.AllowDirect {
		t.Fatalf("stream config %+v", sc)
	}
	if got := len(info.Cluster.Replicas) + 1; got != 3 {
		t.Fatalf("stream has %d replicas placed, want 3", got)
	}
	// Open again on an existing stream: the same stream, not an error.
	l2, err := Open(t.Context(), c.Connect(t), l.cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if l2.cfg.Stream != l.cfg.Stream {
		t.Fatal("reopen changed the stream")
	}
}
