package sio

import (
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"chatapp/shared"
)

// discardTransport accepts every frame at once.
type discardTransport struct{}

func (discardTransport) write(bool, []byte) error { return nil }
func (discardTransport) flush() error             { return nil }
func (discardTransport) close(statusCode, string) {}
func (discardTransport) closeNow()                {}

// newBenchSockets returns n sockets whose writers discard, with outboxes
// warmed up to their working size.
func newBenchSockets(tb testing.TB, n int, frame []byte) []*Socket {
	srv := newServer(Config{SendBuffer: 1 << 30}, echoLayer{})
	req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	socks := make([]*Socket, n)
	for i := range socks {
		socks[i] = newSocket(srv, discardTransport{}, req)
	}
	tb.Cleanup(func() {
		for _, s := range socks {
			s.end(0, "", false)
			<-s.writerDone
		}
	})
	for range 64 {
		for _, s := range socks {
			s.Send(frame, 0)
		}
	}
	drain(socks)
	return socks
}

// drain waits until every socket has written everything.
func drain(socks []*Socket) {
	for _, s := range socks {
		for {
			s.mu.Lock()
			idle := s.queued == 0
			s.mu.Unlock()
			if idle {
				break
			}
			runtime.Gosched()
		}
	}
}

func benchFrame(tb testing.TB) []byte {
	frame, err := shared.EventFrame(shared.EventMessage, shared.Message{
		Seq: 123456, Time: "2026-01-02T03:04:05.000Z", Sender: "alice", Recipient: shared.All,
		Command: shared.CommandChat, Type: shared.TypeText, Data: "hello, everyone",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return frame
}

// TestSendFanoutDoesNotAllocate: once encoded, a frame reaches every
// target, through Send and the writer, without allocating.
func TestSendFanoutDoesNotAllocate(t *testing.T) {
	frame := benchFrame(t)
	socks := newBenchSockets(t, 1000, frame)
	allocs := testing.AllocsPerRun(50, func() {
		for _, s := range socks {
			if !s.Send(frame, 0) {
				t.Fatal("Send failed")
			}
		}
		drain(socks)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per fan-out to 1000 sockets", allocs)
	}
}

// BenchmarkSendFanout queues one encoded chat message on n sockets whose
// writers drain to a discarding transport: the cost of the fan-out path
// per target (ns/send). It never waits for the writers, so outboxes grow
// past what an idle socket keeps and its allocations are that growth;
// TestSendFanoutDoesNotAllocate checks the steady state, where writers
// keep up.
func BenchmarkSendFanout(b *testing.B) {
	frame := benchFrame(b)
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			socks := newBenchSockets(b, n, frame)
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range socks {
					if !s.Send(frame, 0) {
						b.Fatal("Send failed")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/send")
		})
	}
}
