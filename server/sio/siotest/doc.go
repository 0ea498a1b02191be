// Package siotest is the Socket.IO client chatapp's tests share:
// Socket.IO v5 over Engine.IO v4, on a WebSocket or on HTTP long-polling
// with the upgrade to WebSocket that stock clients make. It answers the
// server's pings, sends requests with ack ids, and records the CONNECT
// reply, every event (messages decoded) and how the connection ended.
//
// Its waits return errors rather than failing a test: the server tests
// wrap it in helpers that fail at once (server/helpers_test.go), the
// black-box fault tests of package main expect some failures and decide
// (sioclient_test.go). The two other clients in the repository stay
// apart on purpose: app/client.go is the browser's, bench/conn.go the
// load generator's, which avoids allocations a test client need not.
//
// A Client is safe for concurrent use. Only tests import this package.
package siotest
