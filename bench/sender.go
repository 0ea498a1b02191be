package bench

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"time"
)

// maxOutstanding is the most unacked messages one sender keeps in flight
// in open-loop mode (--rate > 0) and during the storm's send phase.
const maxOutstanding = 1024

// ringSize holds the send records of every message in flight.
const ringSize = 2 * maxOutstanding

// sender sends messages on one connection and matches their acks. Its
// send methods run on one goroutine; acked runs on the connection's read
// loop. The records are atomics so that the two never race.
type sender struct {
	c   *conn
	r   *runner
	cmd string // chat or groupchat

	at          [ringSize]atomic.Int64 // send time (ns) by ack id
	to          [ringSize]atomic.Int32 // recipient index by ack id (storm)
	outstanding atomic.Int64
	wake        chan struct{} // an ack arrived

	buf  []byte
	pad  []byte
	seqs []stormSeq // storm: accepted (recipient, seq); appended by acked
}

type stormSeq struct {
	to  int32
	seq int64
}

func newSender(r *runner, c *conn, cmd string) *sender {
	s := &sender{c: c, r: r, cmd: cmd, wake: make(chan struct{}, 1)}
	s.pad = bytes.Repeat([]byte{'x'}, r.o.Size-minSize)
	c.snd = s
	return s
}

// send emits one message to recipient (an account or room id; idx is its
// index for the storm's bookkeeping) with the send time in its data.
func (s *sender) send(recipient string, idx int32) error {
	id := s.c.nextID.Add(1) - 1
	now := time.Now().UnixNano()
	b := append(s.buf[:0], "42"...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `["message",{"recepient":"`...)
	b = append(b, recipient...)
	b = append(b, `","command":"`...)
	b = append(b, s.cmd...)
	b = append(b, `","type":"text","data":"`...)
	b = appendStamp(b, now)
	b = append(b, s.pad...)
	b = append(b, `"}]`...)
	s.buf = b
	s.at[id%ringSize].Store(now)
	s.to[id%ringSize].Store(idx)
	s.outstanding.Add(1)
	return s.c.write(b)
}

// acked handles the ack of message id. It runs on the read loop.
func (s *sender) acked(id int64, code []byte, seq int64) {
	sent := s.at[id%ringSize].Load()
	if string(code) == "200" {
		s.r.accepted.Add(1)
		if s.r.inWindow(sent) {
			s.r.ackLat.record(s.c.idx, time.Duration(time.Now().UnixNano()-sent))
		}
		if s.r.o.Scenario == Storm {
			s.seqs = append(s.seqs, stormSeq{s.to[id%ringSize].Load(), seq})
		}
	} else {
		s.r.addError(string(code))
	}
	s.outstanding.Add(-1) // after seqs: a reader that sees 0 sees them
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// waitBelow waits until fewer than n messages are in flight. It returns
// false if stop closed or the connection ended first.
func (s *sender) waitBelow(n int64, stop <-chan struct{}) bool {
	for s.outstanding.Load() >= n {
		select {
		case <-s.wake:
		case <-stop:
			return false
		case <-s.c.done:
			return false
		}
	}
	return true
}

// loop sends to recipient until stop closes: closed loop when rate is 0,
// else rate messages a second on a fixed schedule (at most maxOutstanding
// in flight; a schedule more than a second behind is restarted rather
// than caught up in a burst).
func (s *sender) loop(recipient string, rate float64, stop <-chan struct{}) {
	if rate <= 0 {
		for s.waitBelow(1, stop) {
			if s.send(recipient, 0) != nil {
				return
			}
		}
		return
	}
	interval := time.Duration(float64(time.Second) / rate)
	// Senders start spread over one interval, not all at once.
	next := time.Now().Add(time.Duration(s.c.idx%64) * interval / 64)
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		if d := time.Until(next); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
		select {
		case <-stop:
			return
		default:
		}
		next = next.Add(interval)
		if time.Since(next) > time.Second {
			next = time.Now()
		}
		if !s.waitBelow(maxOutstanding, stop) || s.send(recipient, 0) != nil {
			return
		}
	}
}
