package main

// The upgrade test of issue 10: a data directory written by the first
// release (testdata/v1/chatapp.db, made by that release's code with
// TestWriteFixtureV1 below) opens with the binary under test with every
// account, token, room, membership and message intact. Every later schema
// migration must keep TestUpgradeFromV1 green.
//
// To regenerate the fixture (only ever with the release's own code, at the
// commit that added it; a fixture written by newer code tests nothing):
//
//	CHATAPP_WRITE_FIXTURE=testdata/v1 go test -count=1 -run TestWriteFixtureV1 .
//
// It writes chatapp.db and fixture.json (the plain session tokens, which
// the database stores only as hashes, and every message as the server
// delivered it). The script of accounts, rooms and messages is v1Script.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"chatapp/server"
	"chatapp/server/store"
	"chatapp/shared"
)

// v1Account is an account of the fixture.
type v1Account struct{ id, password, alias, today string }

var v1Accounts = []v1Account{
	{"alice", "alice-pass-1", "Alice", "at work"},
	{"Bob", "bob-pass-22", "밥", ""},
	{"carol", "carol-pass-3", "Carol", "🎉 on holiday"},
	{"dave", "dave-pass-4", "", ""},
}

// v1Room is a room as it stands at the end of the script.
type v1Room struct {
	id, name, owner string
	members         []string
}

var v1Rooms = []v1Room{
	{"Dev-Team", "Dev team", "Bob", []string{"Bob", "carol"}},
	{"general", "General", "alice", []string{"alice", "Bob", "carol"}},
	{"quiet", "Quiet corner", "carol", nil}, // its owner left
}

// v1Step is one request of the script, sent by the account as.
type v1Step struct {
	as    string
	event string
	arg   any
}

func v1Chat(as, command, to, data, cid string) v1Step {
	return v1Step{as, shared.EventMessage, shared.SendMessage{Recipient: to, Command: command, Type: shared.TypeText, Data: data, CID: cid}}
}

func v1RoomReq(as, command, id, name string) v1Step {
	return v1Step{as, shared.EventRoom, shared.RoomRequest{Command: command, RoomID: id, RoomName: name}}
}

// v1Script makes the fixture after every account has logged in: rooms
// (one renamed, one left by its owner, one deleted with its messages, so
// the seq high-water mark is above the newest stored message), direct
// messages (one to an account that is offline later, notes to self),
// room messages and messages to ALL, with and without cids.
var v1Script = []v1Step{
	v1RoomReq("alice", shared.RoomCreate, "general", "General"),
	v1RoomReq("Bob", shared.RoomJoin, "GENERAL", ""),
	v1RoomReq("carol", shared.RoomJoin, "general", ""),
	v1RoomReq("Bob", shared.RoomCreate, "Dev-Team", "Developers"),
	v1RoomReq("Bob", shared.RoomUpdate, "dev-team", "Dev team"),
	v1RoomReq("carol", shared.RoomJoin, "Dev-Team", ""),
	v1RoomReq("carol", shared.RoomCreate, "quiet", "Quiet corner"),
	v1RoomReq("carol", shared.RoomLeave, "quiet", ""),
	v1Chat("alice", shared.CommandChat, shared.All, "Hello everyone", "a-1"),
	v1Chat("alice", shared.CommandChat, "bob", "hi Bob, lunch?", "a-2"),
	v1Chat("Bob", shared.CommandChat, "alice", "sure, 12:30", ""),
	v1Chat("alice", shared.CommandChat, "alice", "note to self: buy milk", "a-3"),
	v1Chat("carol", shared.CommandChat, "dave", "dave, are you there?", "c-1"),
	v1Chat("alice", shared.CommandGroupchat, "general", "welcome to General", "a-4"),
	v1Chat("Bob", shared.CommandGroupchat, "general", "한국어 메시지도 됩니다 <b>not markup</b>", "b-1"),
	v1Chat("carol", shared.CommandGroupchat, "Dev-Team", "deploy at 5", "c-2"),
	v1Chat("Bob", shared.CommandGroupchat, "dev-team", strings.Repeat("0123456789", 400), ""),
	v1Chat("carol", shared.CommandChat, shared.All, "hello from carol", "c-3"),
	v1Chat("dave", shared.CommandChat, "carol", "yes, here", "d-1"),
	v1Chat("Bob", shared.CommandChat, shared.All, "bye for now", "b-2"),
	v1RoomReq("alice", shared.RoomCreate, "scratch", "Scratch"),
	v1Chat("alice", shared.CommandGroupchat, "scratch", "temp 1", "a-5"),
	v1Chat("alice", shared.CommandGroupchat, "scratch", "temp 2", ""),
	v1RoomReq("alice", shared.RoomDelete, "scratch", ""),
	{"Bob", shared.EventLogout, struct{}{}}, // revokes Bob's token
}

// v1Fixture is fixture.json: what the database holds only as hashes, and
// the messages as v1 delivered them.
type v1Fixture struct {
	Tokens   map[string]string `json:"tokens"`   // live login tokens by account id
	Revoked  map[string]string `json:"revoked"`  // tokens revoked by logout
	LastSeq  shared.Seq        `json:"lastSeq"`  // the seq high-water mark (deleted messages included)
	Messages []shared.Message  `json:"messages"` // every stored message, in seq order
}

// TestWriteFixtureV1 writes the fixture into $CHATAPP_WRITE_FIXTURE with
// an in-process server (tokens live a century, so the committed fixture
// does not expire; bcrypt at the default cost 10, as the release stored).
func TestWriteFixtureV1(t *testing.T) {
	out := os.Getenv("CHATAPP_WRITE_FIXTURE")
	if out == "" {
		t.Skip("a generator, not a test: set CHATAPP_WRITE_FIXTURE=testdata/v1 to rewrite the fixture")
	}
	data := t.TempDir()
	var srv *server.Server
	st, err := store.Open(data, store.Options{OnCommitFrom: func(m []shared.Message, o []any) { srv.FanoutFrom(m, o) }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err = server.New(server.Config{HashCost: 10, TokenTTL: 100 * 365 * 24 * time.Hour, MsgRate: -1, MaxConnsPerIP: -1},
		server.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	fx := v1Fixture{Tokens: map[string]string{}, Revoked: map[string]string{}}
	clients := map[string]*sioClient{}
	for _, a := range v1Accounts {
		c, err := dialSIO(ln.Addr().String(), a.id, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		req := shared.Login{ID: a.id, Password: a.password}
		if a.alias != "" {
			req.Alias = &a.alias
		}
		if a.today != "" {
			req.Today = &a.today
		}
		r, err := c.req(shared.EventLogin, req)
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("login %s: %+v %v", a.id, r, err)
		}
		clients[a.id] = c
		fx.Tokens[a.id] = r.Token
	}
	sent := map[shared.Seq]bool{}
	for i, s := range v1Script {
		r, err := clients[s.as].req(s.event, s.arg)
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("step %d (%s %s): %+v %v", i, s.as, s.event, r, err)
		}
		if s.event == shared.EventMessage {
			seq, _ := shared.ParseSeq(r.Seq)
			sent[seq] = true
			fx.LastSeq = max(fx.LastSeq, seq)
		}
		if s.event == shared.EventLogout {
			fx.Revoked[s.as] = fx.Tokens[s.as]
			delete(fx.Tokens, s.as)
		}
	}
	// Every message reached someone online (everyone is): their union is
	// what was stored, less the deleted room's.
	byseq := map[shared.Seq]shared.Message{}
	deadline := time.Now().Add(10 * time.Second)
	for len(byseq) < len(sent) && time.Now().Before(deadline) {
		for _, c := range clients {
			for _, m := range c.received() {
				byseq[m.Seq] = m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(byseq) != len(sent) {
		t.Fatalf("delivered %d of %d messages", len(byseq), len(sent))
	}
	for _, m := range byseq {
		if !strings.EqualFold(m.Recipient, "scratch") {
			fx.Messages = append(fx.Messages, m)
		}
	}
	slices.SortFunc(fx.Messages, func(a, b shared.Message) int { return int(a.Seq - b.Seq) })

	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, store.FileName+"-wal")); err == nil {
		t.Fatal("the WAL outlived a clean close; the fixture would be incomplete")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(data, store.FileName), filepath.Join(out, store.FileName))
	b, err := json.MarshalIndent(fx, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "fixture.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d messages, last seq %d", out, len(fx.Messages), fx.LastSeq)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func readV1Fixture(t *testing.T) v1Fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/v1/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx v1Fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Messages) == 0 || len(fx.Tokens) == 0 || len(fx.Revoked) == 0 {
		t.Fatalf("testdata/v1/fixture.json is incomplete: %+v", fx)
	}
	return fx
}

// v1View is the part of a message the first release stored: what must
// survive an upgrade unchanged. Later versions may add fields.
type v1View struct {
	Seq                                    shared.Seq
	Time, Sender, Recipient, Command, Type string
	Data, CID                              string
}

func v1Views(ms []shared.Message) []v1View {
	vs := make([]v1View, len(ms))
	for i, m := range ms {
		vs[i] = v1View{m.Seq, m.Time, m.Sender, m.Recipient, m.Command, m.Type, m.Data, m.CID}
	}
	return vs
}

func v1Member(room, user string) bool {
	for _, r := range v1Rooms {
		if strings.EqualFold(r.id, room) {
			return slices.ContainsFunc(r.members, func(m string) bool { return strings.EqualFold(m, user) })
		}
	}
	return false
}

// v1Visible are the fixture's messages user may see, in seq order: direct
// messages to or from them, ALL, and the rooms they are a member of.
func v1Visible(fx v1Fixture, user string) []shared.Message {
	var out []shared.Message
	for _, m := range fx.Messages {
		if m.Command == shared.CommandGroupchat && v1Member(m.Recipient, user) ||
			m.Command == shared.CommandChat && (m.Recipient == shared.All ||
				strings.EqualFold(m.Sender, user) || strings.EqualFold(m.Recipient, user)) {
			out = append(out, m)
		}
	}
	return out
}

// v1Conversation are the fixture's messages of one conversation as user
// sees it, in seq order.
func v1Conversation(fx v1Fixture, user, target, command string) []shared.Message {
	var out []shared.Message
	for _, m := range fx.Messages {
		switch {
		case m.Command != command:
		case command == shared.CommandGroupchat || target == shared.All:
			if strings.EqualFold(m.Recipient, target) {
				out = append(out, m)
			}
		case strings.EqualFold(m.Sender, user) && strings.EqualFold(m.Recipient, target),
			strings.EqualFold(m.Sender, target) && strings.EqualFold(m.Recipient, user):
			out = append(out, m)
		}
	}
	return out
}

func sameMessages(t *testing.T, what string, got, want []shared.Message) {
	t.Helper()
	g, w := v1Views(got), v1Views(want)
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			t.Errorf("%s: %d messages, want %d; first difference at %d:\n got %.300v\nwant %.300v",
				what, len(g), len(w), i, g[i:min(i+1, len(g))], w[i:min(i+1, len(w))])
			return
		}
	}
}

// TestUpgradeFromV1 serves a copy of the first release's data directory
// with the binary under test and checks, through the protocol, that
// everything the release stored is there.
func TestUpgradeFromV1(t *testing.T) {
	fx := readV1Fixture(t)
	data := t.TempDir()
	copyFile(t, filepath.Join("testdata", "v1", store.FileName), filepath.Join(data, store.FileName))
	p := startServer(t, data, "--msg-rate", "0")

	// Accounts: each password still logs in (in any case of the id), a
	// wrong one does not, and the profiles are as they were.
	for _, a := range v1Accounts {
		c, err := dialSIO(p.addr, a.id, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.req(shared.EventLogin, shared.Login{ID: a.id, Password: a.password + "x"}); err != nil || r.Code != shared.CodeUnauthorized {
			t.Errorf("%s with a wrong password: %+v %v", a.id, r, err)
		}
		r, err := c.req(shared.EventLogin, shared.Login{ID: strings.ToUpper(a.id), Password: a.password})
		if err != nil || r.Code != shared.CodeOK {
			t.Fatalf("login %s: %+v %v", a.id, r, err)
		}
		if r.User == nil || *r.User != (shared.Profile{ID: a.id, Alias: a.alias, Today: a.today}) {
			t.Errorf("login %s: user %+v", a.id, r.User)
		}
		checkV1Rooms(t, c)
		checkV1History(t, fx, c, a.id)
		c.close()
	}

	// Tokens: the live ones resume their sessions and replay everything
	// their user may see; the revoked one stays revoked.
	for id, token := range fx.Tokens {
		c, err := resumeSIO(p.addr, id, token, 0)
		if err != nil {
			t.Fatalf("token of %s: %v", id, err)
		}
		want := v1Visible(fx, id)
		if err := c.waitSeq(want[len(want)-1].Seq, 10*time.Second); err != nil {
			t.Fatalf("replay to %s: %v (got %d messages)", id, err, len(c.received()))
		}
		sameMessages(t, "replay to "+id, c.received(), want)
		c.close()
	}
	for id, token := range fx.Revoked {
		c, err := dialSIO(p.addr, id, map[string]string{"token": token}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.connErr != "invalid session" {
			t.Errorf("revoked token of %s: CONNECT_ERROR %q", id, c.connErr)
		}
		c.close()
	}

	// Retries are still recognised by cid, and a new message takes the
	// next seq after the high-water mark (never one of the deleted room's).
	c, err := resumeSIO(p.addr, "alice", fx.Tokens["alice"], fx.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	first := fx.Messages[slices.IndexFunc(fx.Messages, func(m shared.Message) bool { return m.CID == "a-2" })]
	r, err := c.chat(first.Command, first.Recipient, first.Data, first.CID)
	if err != nil || r.Code != shared.CodeOK || r.Seq != first.Seq.String() {
		t.Errorf("retry of cid a-2: %+v %v, want seq %d", r, err, first.Seq)
	}
	r, err = c.chat(shared.CommandChat, shared.All, "after the upgrade", "")
	if err != nil || r.Code != shared.CodeOK || r.Seq != (fx.LastSeq+1).String() {
		t.Errorf("new message: %+v %v, want seq %d", r, err, fx.LastSeq+1)
	}
	if err, _ := p.stop(t, os.Interrupt); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// checkV1Rooms checks the room list sent after login.
func checkV1Rooms(t *testing.T, c *sioClient) {
	t.Helper()
	var list shared.RoomEvent
	err := c.waitUntil(10*time.Second, func() bool {
		for _, e := range c.events {
			if e.name == shared.EventRoom && json.Unmarshal(e.arg, &list) == nil && list.Command == shared.RoomList {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("%s: room list: %v", c.name, err)
	}
	var want []shared.RoomInfo
	for _, r := range v1Rooms {
		want = append(want, shared.RoomInfo{ID: r.id, Name: r.name, Owner: r.owner, Members: len(r.members)})
	}
	if !slices.Equal(list.Rooms, want) {
		t.Errorf("%s: rooms %+v, want %+v", c.name, list.Rooms, want)
	}
}

// checkV1History reads every conversation of the fixture as user: room
// history for members (403 for the others), direct messages, notes to
// self and ALL.
func checkV1History(t *testing.T, fx v1Fixture, c *sioClient, user string) {
	t.Helper()
	hist := func(target, command string) (shared.Response, error) {
		r, err := c.req(shared.EventHistory, shared.HistoryRequest{Target: target, Command: command})
		if err == nil && r.Code != shared.CodeOK && r.Code != shared.CodeForbidden {
			err = fmt.Errorf("history %s %s: %+v", command, target, r)
		}
		return r, err
	}
	for _, room := range v1Rooms {
		r, err := hist(room.id, shared.CommandGroupchat)
		if err != nil {
			t.Fatal(err)
		}
		member := v1Member(room.id, user)
		if member != (r.Code == shared.CodeOK) {
			t.Errorf("%s: history of room %s answered %s (member: %v)", user, room.id, r.Code, member)
		}
		if !member {
			continue
		}
		sameMessages(t, user+": room "+room.id, r.Messages, v1Conversation(fx, user, room.id, shared.CommandGroupchat))
	}
	for _, other := range append(v1Accounts, v1Account{id: shared.All}) {
		r, err := hist(other.id, shared.CommandChat)
		if err == nil && r.Code != shared.CodeOK {
			err = errors.New(r.Code)
		}
		if err != nil {
			t.Fatalf("%s: history with %s: %v", user, other.id, err)
		}
		sameMessages(t, user+": chat with "+other.id, r.Messages, v1Conversation(fx, user, other.id, shared.CommandChat))
	}
}
