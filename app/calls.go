package app

import (
	"encoding/json"
	"maps"
	"slices"

	"chatapp/shared"
)

// codeLost is the code a call gets when its connection ends before the
// answer. The server never sends it (its codes are three digits), so a
// callback treats it like any refusal.
const codeLost = "lost"

// calls is the request/ack bookkeeping: every request goes out with an
// ack id, and its callback runs with the answer, or with codeLost when
// the connection it was written on ends first. It knows nothing of the
// socket (link.go) nor of the chat (client.go); the service guards it
// with its mutex.
type calls struct {
	next    int64
	waiting map[int64]call
}

type call struct {
	gen  int64 // the connection the request was written on
	done func(shared.Response)
}

// frame records a request on connection gen and returns its frame.
func (c *calls) frame(gen int64, name string, payload any, done func(shared.Response)) []byte {
	c.next++
	if c.waiting == nil {
		c.waiting = map[int64]call{}
	}
	c.waiting[c.next] = call{gen: gen, done: done}
	data, err := json.Marshal([]any{name, payload})
	if err != nil { // plain structs of strings: cannot fail
		panic("chatapp: encode request: " + err.Error())
	}
	return append([]byte{shared.EIOMessage}, shared.AppendPacket(nil, shared.Packet{
		Type: shared.PacketEvent, ID: c.next, Data: data,
	})...)
}

// answer returns the callback of ack id, once.
func (c *calls) answer(id int64) (func(shared.Response), bool) {
	cl, ok := c.waiting[id]
	if !ok {
		return nil, false
	}
	delete(c.waiting, id)
	return cl.done, true
}

// lost returns the callbacks of the requests written on connection gen,
// which will never be answered, and forgets them.
func (c *calls) lost(gen int64) []func(shared.Response) {
	var out []func(shared.Response)
	for _, id := range slices.Sorted(maps.Keys(c.waiting)) { // in the order they were sent
		if cl := c.waiting[id]; cl.gen == gen {
			out = append(out, cl.done)
			delete(c.waiting, id)
		}
	}
	return out
}
