package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/server/store"
	"chatapp/shared"
)

// The login and resume path at the sizes of the storm benchmark
// (docs/PERFORMANCE.md): every login sends the presence list of every
// account, so its cost grows with the accounts.
var benchAccounts = []int{1000, 5000}

// benchHub returns a hub of n accounts with every other one online, and
// its online clients.
func benchHub(n int) (*hub, []*client) {
	h := newHub()
	var online []*client
	for i := range n {
		p := shared.Profile{ID: fmt.Sprintf("user-%05d", i), Alias: fmt.Sprintf("User %d", i), Today: "around"}
		h.addUser(p)
		if i%2 == 0 {
			c := &client{}
			h.login(c, p, func([]byte) {})
			online = append(online, c)
		}
	}
	h.takeNews(nil)
	return h, online
}

// BenchmarkPresenceList is the presence list of a storm: each login
// changes the list (the user comes online), and the user gets it.
func BenchmarkPresenceList(b *testing.B) {
	for _, n := range benchAccounts {
		b.Run(fmt.Sprintf("accounts=%d/changed", n), func(b *testing.B) {
			h, _ := benchHub(n)
			p := h.users["user-00001"].profile // offline in benchHub
			c := &client{}
			var news []presenceNews
			size := 0
			send := func(f []byte) { size = len(f) }
			b.ReportAllocs()
			for b.Loop() {
				h.login(c, p, send)
				h.logout(c)
				news = h.takeNews(news)
			}
			b.ReportMetric(float64(size), "bytes/list")
		})
		b.Run(fmt.Sprintf("accounts=%d/unchanged", n), func(b *testing.B) {
			h, _ := benchHub(n)
			b.ReportAllocs()
			for b.Loop() {
				presenceFrame(h)
			}
		})
	}
}

// BenchmarkPresenceNews is the online events of a storm on the hub's
// side: one delivery of a batch of news (users come online) to the n/2
// sockets online. It reports the cost per event (ns/news); how the
// sockets' writers drain it is sio's part.
func BenchmarkPresenceNews(b *testing.B) {
	for _, n := range benchAccounts {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("accounts=%d/batch=%d", n, batch), func(b *testing.B) {
				h, _ := benchHub(n)
				news := make([]presenceNews, batch)
				for i := range news {
					news[i] = presenceNews{ver: h.newsVer + 1 + uint64(i), frame: []byte(`42["presence",{"command":"online"}]`)}
				}
				sent := 0
				send := func(*client, []byte) { sent++ }
				b.ReportAllocs()
				for b.Loop() {
					h.deliverNews(news, send)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/news")
				if sent != b.N*batch*(n/2) {
					b.Fatalf("%d sent, want %d", sent, b.N*batch*(n/2))
				}
			})
		}
	}
}

// BenchmarkResume is a session resume through a real server: CONNECT with
// a token, then the room list and the presence list. Accounts are known to
// the hub; the others are offline.
func BenchmarkResume(b *testing.B) {
	for _, n := range benchAccounts {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			url, token := benchServer(b, n)
			auth, _ := json.Marshal(map[string]string{"token": token})
			connect := append([]byte("40"), auth...)
			b.ReportAllocs()
			for b.Loop() {
				ws := benchDial(b, url)
				if err := ws.Write(context.Background(), websocket.MessageText, connect); err != nil {
					b.Fatal(err)
				}
				benchReadUntil(b, ws, `42["presence",{"command":"list"`)
				ws.CloseNow()
			}
		})
	}
}

// BenchmarkLogin is a password login of a known account through a real
// server: the login event, its answer with a new token (stored, fsynced),
// the room list and the presence list.
func BenchmarkLogin(b *testing.B) {
	for _, n := range benchAccounts {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			url, _ := benchServer(b, n)
			login := []byte(`420["login",{"id":"bench","password":"secret-bench"}]`)
			b.ReportAllocs()
			for b.Loop() {
				ws := benchDial(b, url)
				if err := ws.Write(context.Background(), websocket.MessageText, []byte("40")); err != nil {
					b.Fatal(err)
				}
				benchReadUntil(b, ws, `40{`)
				if err := ws.Write(context.Background(), websocket.MessageText, login); err != nil {
					b.Fatal(err)
				}
				benchReadUntil(b, ws, `42["presence",{"command":"list"`)
				ws.CloseNow()
			}
		})
	}
}

// benchServer starts a server with n accounts known to the hub and one
// real account, bench, whose session token it returns.
func benchServer(b *testing.B, n int) (url, token string) {
	var srv *Server
	st, err := store.Open(b.TempDir(), store.Options{OnCommitFrom: func(m []shared.Message, o []any) { srv.FanoutFrom(m, o) }})
	if err != nil {
		b.Fatal(err)
	}
	srv, err = New(Config{HashCost: 4, MsgRate: -1}, Deps{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.sio.Shutdown(ctx)
		hs.Close()
		st.Close()
	})
	url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	for i := range n {
		srv.hub.addUser(shared.Profile{ID: fmt.Sprintf("user-%05d", i), Alias: fmt.Sprintf("User %d", i), Today: "around"})
	}
	ws := benchDial(b, url)
	defer ws.CloseNow()
	ctx := context.Background()
	ws.Write(ctx, websocket.MessageText, []byte("40"))
	benchReadUntil(b, ws, `40{`)
	ws.Write(ctx, websocket.MessageText, []byte(`420["login",{"id":"bench","password":"secret-bench"}]`))
	ack := benchReadUntil(b, ws, `430[`)
	var r []shared.Response
	if err := json.Unmarshal(ack[3:], &r); err != nil || len(r) != 1 || r[0].Token == "" {
		b.Fatalf("login: %s %v", ack, err)
	}
	return url, r[0].Token
}

func benchDial(b *testing.B, url string) *websocket.Conn {
	ws, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	return ws
}

// benchReadUntil reads Engine.IO packets (answering pings) until one
// starts with prefix, and returns it.
func benchReadUntil(b *testing.B, ws *websocket.Conn, prefix string) []byte {
	for {
		_, f, err := ws.Read(context.Background())
		if err != nil {
			b.Fatalf("waiting for %s: %v", prefix, err)
		}
		if string(f) == "2" { // ping

			ws.Write(context.Background(), websocket.MessageText, []byte("3"))
			continue
		}
		if bytes.HasPrefix(f, []byte(prefix)) {
			return f
		}
	}
}
