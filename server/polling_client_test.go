package server

import (
	"chatapp/server/sio/siotest"
	"chatapp/shared"
)

// pc is a test client that starts on HTTP long-polling, as the stock
// client does, and can upgrade to WebSocket mid-session. It is a tc, so
// req, take, message, none and count work as for a WebSocket client.
type pc struct {
	*tc
}

// dialPolling opens a polling session and sends CONNECT with auth (nil:
// none); it waits for the CONNECT reply or CONNECT_ERROR.
func (ts *testServer) dialPolling(name string, auth any) *pc {
	ts.t.Helper()
	return &pc{ts.open(name, siotest.Options{Auth: auth, Polling: true})}
}

// loginPolling dials over polling and logs in; it fails the test unless 200.
func (ts *testServer) loginPolling(id string) (*pc, shared.Response) {
	ts.t.Helper()
	c := ts.dialPolling(id, nil)
	return c, ts.loginOn(c.tc, id)
}

// send writes one Engine.IO packet: a POST, or a WebSocket frame after
// the upgrade.
func (c *pc) send(pkt string) { c.writeText(pkt) }

// upgrade switches to WebSocket as the stock client does (siotest's
// Upgrade); it fails the test if the server refuses.
func (c *pc) upgrade() {
	c.t.Helper()
	if err := c.Upgrade(); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
}
