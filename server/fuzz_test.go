package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"chatapp/server/store"
	"chatapp/shared"
)

// errorLog is a slog handler that keeps every record at Error level: the
// server logs one for a panic it recovered and for every 500.
type errorLog struct {
	mu   sync.Mutex
	recs []string
}

func (h *errorLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h *errorLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *errorLog) WithGroup(string) slog.Handler                { return h }
func (h *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	h.mu.Lock()
	h.recs = append(h.recs, b.String())
	h.mu.Unlock()
	return nil
}

func (h *errorLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.recs
	h.recs = nil
	return r
}

// FuzzServerFrames feeds each input, as one WebSocket text frame, to a live
// server on a socket logged in as mallory, then asks that socket for the
// room list. The socket must answer or be closed; the server must log no
// error (no recovered panic, no 500); and another user's socket must keep
// working. The seeds are the frames of the bad-input matrix.
func FuzzServerFrames(f *testing.F) {
	for _, bc := range badCases() {
		for _, fr := range bc.frames {
			if !bc.binary {
				f.Add([]byte(fr))
			}
		}
	}
	for _, s := range []string{
		`421["message",{"recepient":"alice","command":"chat","type":"text","data":"hi"}]`,
		`421["room",{"command":"create","roomId":"fz","roomName":"Fuzz"}]`,
		`421["room",{"command":"join","roomId":"fz"}]`,
		`421["history",{"target":"alice"}]`, `421["logout",{}]`,
		`421["login",{"id":"mallory","password":"secret-mallory","offset":"0"}]`,
		// Version 2 (seq 1 is the first message the fuzz session sends).
		`421["message",{"recepient":"alice","command":"chat","data":"re","replyTo":"1"}]`,
		`421["message",{"command":"edit","ref":"1","data":"edited @alice"}]`,
		`421["message",{"command":"react","ref":"1","data":"👍"}]`,
		`421["message",{"command":"delete","ref":"1"}]`,
		`421["typing",{"recepient":"alice","command":"chat"}]`, `42["typing",{"recepient":"ALL","command":"chat"}]`,
		`421["read",{"target":"alice","command":"chat","seq":"1"}]`,
	} {
		f.Add([]byte(s))
	}

	elog := &errorLog{}
	log := slog.New(elog)
	dir := f.TempDir()
	var srv *Server
	st, err := store.Open(dir, store.Options{Logger: log, OnCommit: func(m []shared.Message) { srv.Fanout(m) }})
	if err != nil {
		f.Fatal(err)
	}
	for _, id := range []string{"alice", "mallory"} {
		hash, _ := HashPassword("secret-"+id, 4)
		if err := st.CreateUser(context.Background(), store.User{ID: id, Hash: hash}); err != nil {
			f.Fatal(err)
		}
	}
	srv, err = New(Config{HashCost: 4, MsgRate: -1}, Deps{Store: st, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.sio.Shutdown(ctx)
		hs.Close()
		st.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	// dial connects with auth and waits for the CONNECT reply.
	dial := func(auth string) (*websocket.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		ws.SetReadLimit(32 << 20)
		if _, b, err := ws.Read(ctx); err != nil || len(b) == 0 || b[0] != '0' {
			ws.CloseNow()
			return nil, fmt.Errorf("open packet %q: %v", b, err)
		}
		ws.Write(ctx, websocket.MessageText, []byte("40"+auth))
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				ws.CloseNow()
				return nil, err
			}
			if strings.HasPrefix(string(b), "40{") {
				return ws, nil
			}
			if strings.HasPrefix(string(b), "44") {
				ws.CloseNow()
				return nil, fmt.Errorf("CONNECT_ERROR %s", b)
			}
		}
	}
	// ask sends frame (if any), then the room list request with ack id
	// 77, and waits up to 5 s for that answer or for the connection to
	// end. It reports whether the socket answered.
	ask := func(ws *websocket.Conn, frame []byte) (answered bool, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if frame != nil {
			ws.Write(ctx, websocket.MessageText, frame)
		}
		ws.Write(ctx, websocket.MessageText, []byte(`4277["room",{"command":"list"}]`))
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return false, fmt.Errorf("neither answered nor closed within 5 s")
				}
				return false, nil
			}
			if s := string(b); s == "2" {
				ws.Write(ctx, websocket.MessageText, []byte("3"))
			} else if strings.HasPrefix(s, "4377[") {
				return true, nil
			}
		}
	}
	// token makes a session for id straight in the store: no login, so no
	// password check and no login throttle, whatever the inputs did.
	token := func(tb testing.TB, id string) string {
		tok, th := newToken()
		if err := st.CreateToken(context.Background(), th, id, time.Now().Add(time.Hour)); err != nil {
			tb.Fatal(err)
		}
		return tok
	}
	alice, err := dial(`{"token":"` + token(f, "alice") + `"}`)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { alice.CloseNow() })
	var aliceMu sync.Mutex // the fuzz function may run in parallel

	f.Fuzz(func(t *testing.T, frame []byte) {
		ws, err := dial(`{"token":"` + token(t, "mallory") + `"}`)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer ws.CloseNow()
		if _, err := ask(ws, frame); err != nil {
			t.Fatalf("after %q: %v", frame, err)
		}
		ws.CloseNow()
		aliceMu.Lock()
		answered, err := ask(alice, nil)
		aliceMu.Unlock()
		if !answered || err != nil {
			t.Fatalf("alice's socket after %q: answered %v, %v", frame, answered, err)
		}
		if errs := elog.take(); len(errs) > 0 {
			t.Fatalf("server errors after %q:\n%s", frame, strings.Join(errs, "\n"))
		}
	})
}
