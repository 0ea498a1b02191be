package bench

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chatapp/server"
	"chatapp/server/store"
	"chatapp/shared"
)

// startChatapp runs the real chat server on 127.0.0.1 with a store in a
// temp dir, as `chatapp --hash-cost 4 --msg-rate 0` would, and returns
// its base URL.
func startChatapp(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var srv *server.Server
	st, err := store.Open(t.TempDir(), store.Options{Logger: log, OnCommit: func(m []shared.Message) { srv.Fanout(m) }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err = server.New(server.Config{HashCost: 4, MsgRate: -1}, server.Deps{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// startPeer runs the Node reference peer, or skips when Node or its
// packages (npm ci in bench/peer) are missing.
func startPeer(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if _, err := os.Stat(filepath.Join("peer", "node_modules", "socket.io")); err != nil {
		t.Skip("bench/peer/node_modules missing: run npm ci in bench/peer")
	}
	cmd := exec.Command(node, "server.js", "--port", "0")
	cmd.Dir = "peer"
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "peer listening on ")
	if err != nil || !ok {
		t.Fatalf("peer did not start: %q %v", line, err)
	}
	return "http://" + addr
}

func quick(url, scenario string) Options {
	return Options{
		URL: url, Scenario: scenario, Clients: 10, Duration: 700 * time.Millisecond, Warmup: 200 * time.Millisecond,
		Size: 64, Missed: 5, Concurrency: 10, Timeout: 20 * time.Second, Password: "bench-password", PID: os.Getpid(),
	}
}

func TestScenarios(t *testing.T) {
	targets := map[string]func(*testing.T) string{"chatapp": startChatapp, "peer": startPeer}
	for _, target := range []string{"chatapp", "peer"} {
		t.Run(target, func(t *testing.T) {
			url := targets[target](t)
			cases := []struct {
				name string
				edit func(*Options)
			}{
				{"fanout", func(o *Options) { o.Scenario = Fanout; o.Senders = 2 }},
				{"fanout-rate", func(o *Options) { o.Scenario = Fanout; o.Senders = 2; o.Rate = 50 }},
				{"dm", func(o *Options) { o.Scenario = DM; o.Clients = 9 }}, // one talks to itself
				{"broadcast", func(o *Options) { o.Scenario = Broadcast; o.Senders = 1 }},
				{"idle", func(o *Options) { o.Scenario = Idle }},
				{"storm", func(o *Options) { o.Scenario = Storm; o.Senders = 2 }},
				{"storm-all", func(o *Options) { o.Scenario = Storm; o.MissedAll = true }},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					o := quick(url, "")
					tc.edit(&o)
					res, err := Execute(t.Context(), o, nil)
					if err != nil {
						t.Fatal(err)
					}
					var table strings.Builder
					res.WriteTable(&table)
					t.Log("\n" + table.String())
					check(t, o, res)
				})
			}
		})
	}
}

func check(t *testing.T, o Options, res *Result) {
	t.Helper()
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	if res.Setup.Logins < o.Clients {
		t.Errorf("logins = %d, want ≥ %d", res.Setup.Logins, o.Clients)
	}
	if res.Server == nil || res.Generator.Cores < 1 {
		t.Fatalf("no server or generator stats: %+v %+v", res.Server, res.Generator)
	}
	switch o.Scenario {
	case Idle:
		if res.Connections != o.Clients {
			t.Errorf("connections = %d, want %d", res.Connections, o.Clients)
		}
	case Storm:
		st := res.Storm
		want := int64(o.Missed * o.Clients)
		if o.MissedAll {
			want = int64(o.Missed)
		}
		if st.Sent != want || !st.ExactlyOnce {
			t.Errorf("storm: sent %d (want %d), %+v", st.Sent, want, st)
		}
	default:
		if res.Accepted == 0 || res.Deliveries == 0 || res.Latency.N == 0 || res.AckLatency.N == 0 {
			t.Errorf("no traffic measured: %+v", res)
		}
		if res.Undelivered != 0 || res.Disorder != 0 || res.Foreign != 0 {
			t.Errorf("undelivered %d, disorder %d, foreign %d", res.Undelivered, res.Disorder, res.Foreign)
		}
		if sv := res.Server; sv.UserPerDelivery < 0 || sv.UserPerDelivery > sv.CPUPerDelivery {
			t.Errorf("user CPU %.2f µs per delivery is not part of the %.2f µs total", sv.UserPerDelivery, sv.CPUPerDelivery)
		}
		if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
			t.Errorf("latency out of order: %+v", res.Latency)
		}
		if o.Rate > 0 {
			// 2 senders × 50/s over 0.7 s, give or take the schedule.
			if want := 2 * o.Rate * o.Duration.Seconds(); float64(res.Accepted) < want*0.6 || float64(res.Accepted) > want*1.4 {
				t.Errorf("accepted %d at --rate %g, want about %.0f", res.Accepted, o.Rate, want)
			}
		}
	}
}

func TestRunJSON(t *testing.T) {
	url := startChatapp(t)
	o := quick(url, Fanout)
	o.JSON = true
	o.PID = 0
	var stdout, stderr strings.Builder
	if err := Run(t.Context(), o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, `{"scenario":"fanout"`) {
		t.Errorf("stdout is not one JSON line: %q", out)
	}
	if !strings.Contains(stderr.String(), "deliveries") {
		t.Errorf("no table on stderr: %q", stderr.String())
	}
}

func TestValidate(t *testing.T) {
	ok := quick("http://127.0.0.1:3000", Fanout)
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string // error substring; "" = valid
	}{
		{"defaults", func(o *Options) {}, ""},
		{"localhost", func(o *Options) { o.URL = "ws://localhost:1/" }, ""},
		{"ipv6 loopback", func(o *Options) { o.URL = "http://[::1]:3000" }, ""},
		{"remote refused", func(o *Options) { o.URL = "http://10.0.0.1:3000" }, "not a loopback"},
		{"remote name refused", func(o *Options) { o.URL = "http://example.com" }, "not a loopback"},
		{"bad scheme", func(o *Options) { o.URL = "ftp://127.0.0.1" }, "expected an http"},
		{"too many clients", func(o *Options) { o.Clients = MaxClients + 1 }, "--clients"},
		{"too long", func(o *Options) { o.Duration = time.Hour }, "--duration"},
		{"tiny size", func(o *Options) { o.Size = 8 }, "--size"},
		{"scenario", func(o *Options) { o.Scenario = "nope" }, "--scenario"},
		{"run id", func(o *Options) { o.RunID = "a b" }, "--run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	o := ok
	o.URL = "https://127.0.0.1:8443/chat/socket.io"
	o.Validate()
	if got, _ := o.endpoint(); got != "wss://127.0.0.1:8443/chat/socket.io/?EIO=4&transport=websocket" {
		t.Errorf("endpoint = %s", got)
	}
	o = ok
	o.Scenario, o.Clients, o.Senders = DM, 6, 0
	o.Validate()
	if o.Senders != 6 || o.RunID == "" {
		t.Errorf("dm defaults: senders %d, run %q", o.Senders, o.RunID)
	}
}

func TestParse(t *testing.T) {
	stamp := appendStamp(nil, 1764230400123456789)
	msg := []byte(`{"seq":"4711","time":"2025-11-27T08:00:00.000Z","sender":"b-1","recepient":"r","command":"groupchat","type":"text","data":"` + string(stamp) + `xxxx"}]`)
	if seq, sent := parseMessage(msg); seq != 4711 || sent != 1764230400123456789 {
		t.Errorf("parseMessage = %d, %d", seq, sent)
	}
	if seq, sent := parseMessage([]byte(`{"seq":12,"data":"hello"}]`)); seq != 12 || sent != 0 {
		t.Errorf("parseMessage of a foreign message = %d, %d", seq, sent)
	}
	code, seq := parseAck([]byte(`[{"command":"message","code":"200","message":"sent","seq":"99","time":"t"}]`))
	if string(code) != "200" || seq != 99 {
		t.Errorf("parseAck = %s, %d", code, seq)
	}
	if code, _ := parseAck([]byte(`[{"command":"message","code":"429","message":"slow down"}]`)); string(code) != "429" {
		t.Errorf("parseAck code = %s", code)
	}
	if id, n := parseInt([]byte("17[{}]")); id != 17 || n != 2 {
		t.Errorf("parseInt = %d, %d", id, n)
	}
}

func TestHist(t *testing.T) {
	for _, us := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 40} {
		i := bucketOf(us)
		if lo, hi := bucketLow(i), bucketLow(i+1); us < lo || us >= hi {
			t.Errorf("%d µs in bucket %d = [%d, %d)", us, i, lo, hi)
		}
	}
	var h hists
	for i := 1; i <= 1000; i++ {
		h.record(i, time.Duration(i)*time.Millisecond)
	}
	s := h.snapshot().summary()
	near := func(got, want float64) bool { return got > want*0.96 && got < want*1.04 }
	if s.N != 1000 || !near(s.P50, 500) || !near(s.P90, 900) || !near(s.P99, 990) || s.Max != 1000 {
		t.Errorf("summary = %+v", s)
	}
}

func TestVerify(t *testing.T) {
	lost, dup, dis, extra := verify([]int64{3, 5, 8}, []int64{3, 8, 8, 5, 9})
	if lost != 0 || dup != 1 || dis != 2 || extra != 1 {
		t.Errorf("verify = lost %d dup %d dis %d extra %d", lost, dup, dis, extra)
	}
	if lost, _, _, _ := verify([]int64{1, 2}, nil); lost != 2 {
		t.Errorf("lost = %d", lost)
	}
}

type nopHandler struct{}

func (nopHandler) message(*conn, int64, int64)     {}
func (nopHandler) ack(*conn, int64, []byte, int64) {}

// The read path allocates nothing per delivery or message ack.
func TestHandleAllocs(t *testing.T) {
	c := &conn{h: nopHandler{}, user: "b-1", userQ: []byte(`b-1"`), calls: map[int64]chan []byte{}}
	stamp := string(appendStamp(nil, time.Now().UnixNano()))
	msg := []byte(`42["message",{"seq":"7","time":"t","sender":"b-2","recepient":"b-1","command":"chat","type":"text","data":"` + stamp + `xx"}]`)
	echo := []byte(`42["message",{"seq":"8","time":"t","sender":"b-1","recepient":"b-2","command":"chat","type":"text","data":"` + stamp + `xx"}]`)
	ack := []byte(`4312[{"command":"message","code":"200","message":"sent","seq":"9","time":"t"}]`)
	presence := []byte(`42["presence",{"command":"online","user":{"id":"b-3","alias":"","today":"","online":true}}]`)
	if n := testing.AllocsPerRun(200, func() {
		c.handle(msg)
		c.handle(echo)
		c.handle(ack)
		c.handle(presence)
	}); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
	if c.delivered.Load() == 0 || c.echoes.Load() == 0 {
		t.Errorf("delivered %d, echoes %d", c.delivered.Load(), c.echoes.Load())
	}
}
