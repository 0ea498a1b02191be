package bench

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Limits that keep a run bounded whatever the flags say.
const (
	MaxClients     = 20000
	MaxDuration    = 10 * time.Minute
	MaxWarmup      = time.Minute
	MaxTimeout     = 10 * time.Minute
	MaxConcurrency = 2000
	MaxMissed      = 1_000_000 // storm: messages sent in total while clients are away
	minSize        = 16        // the send time, in hex
	maxSize        = 4000      // PROTOCOL.md's default --max-text
)

// Scenario names.
const (
	Fanout    = "fanout"
	DM        = "dm"
	Broadcast = "broadcast"
	Idle      = "idle"
	Storm     = "storm"
)

// Options are the flags of `chatapp bench`. main embeds them in its kong
// command; the tags are kong's. The zero value is not usable: call
// Validate (Run does) or fill the fields as kong's defaults would.
type Options struct {
	URL         string        `name:"url" default:"http://127.0.0.1:3000" help:"Server base URL (http, https, ws or wss); /socket.io/ is appended."`
	AllowRemote bool          `name:"allow-remote" help:"Allow a URL whose host is not a loopback address."`
	Scenario    string        `default:"fanout" enum:"fanout,dm,broadcast,idle,storm" help:"fanout: one room, --senders send groupchat; dm: clients in pairs; broadcast: messages to ALL; idle: hold logged-in connections; storm: reconnect all at once after missing messages."`
	Clients     int           `default:"200" help:"Connections, each logged in as its own account (at most 20000)."`
	Senders     int           `default:"0" help:"Connections that send: 0 means 5 for fanout and broadcast, every client for dm, 1 for storm."`
	Rate        float64       `default:"0" help:"Messages a second per sender; 0 is a closed loop (the next is sent when the previous is acked)."`
	Duration    time.Duration `default:"10s" help:"Measured window (idle: how long the connections are held; at most 10m)."`
	Warmup      time.Duration `default:"2s" help:"Traffic before the measured window (at most 1m)."`
	Size        int           `default:"64" help:"Bytes of message data, at least 16 (the send time) and at most 4000."`
	Missed      int           `default:"10" help:"storm: messages each client misses while away."`
	MissedAll   bool          `name:"missed-all" help:"storm: send the missed messages to ALL instead of to each client."`
	Concurrency int           `default:"200" help:"Connections opened and logged in at once during setup."`
	Timeout     time.Duration `default:"60s" help:"Longest wait of any phase (setup, drain, storm catch-up)."`
	Password    string        `default:"bench-password" help:"Password of every bench account (ids are b<run>-<n>)."`
	RunID       string        `name:"run" help:"Run id used in account ids (default: random)."`
	PID         int           `name:"pid" help:"Server process to sample from /proc (CPU time, RSS) around the measured window."`
	JSON        bool          `name:"json" help:"Print the result as one JSON line on stdout (the table goes to stderr)."`
}

// Validate checks the options and fills in the scenario defaults.
func (o *Options) Validate() error {
	if _, err := o.endpoint(); err != nil {
		return err
	}
	switch o.Scenario {
	case Fanout, DM, Broadcast, Idle, Storm:
	default:
		return fmt.Errorf("--scenario %q: expected fanout, dm, broadcast, idle or storm", o.Scenario)
	}
	switch {
	case o.Clients < 1 || o.Clients > MaxClients:
		return fmt.Errorf("--clients must be from 1 to %d", MaxClients)
	case o.Scenario == DM && o.Clients < 2:
		return errors.New("--clients must be at least 2 for dm")
	case o.Senders < 0:
		return errors.New("--senders must not be negative")
	case o.Rate < 0 || o.Rate > 1e5:
		return errors.New("--rate must be from 0 to 100000")
	case o.Duration <= 0 || o.Duration > MaxDuration:
		return fmt.Errorf("--duration must be above 0 and at most %v", MaxDuration)
	case o.Warmup < 0 || o.Warmup > MaxWarmup:
		return fmt.Errorf("--warmup must be from 0 to %v", MaxWarmup)
	case o.Size < minSize || o.Size > maxSize:
		return fmt.Errorf("--size must be from %d to %d", minSize, maxSize)
	case o.Missed < 1 || int64(o.Missed)*int64(o.Clients) > MaxMissed && !o.MissedAll || o.Missed > MaxMissed:
		return fmt.Errorf("--missed must be at least 1, and --missed × --clients at most %d", MaxMissed)
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return fmt.Errorf("--concurrency must be from 1 to %d", MaxConcurrency)
	case o.Timeout <= 0 || o.Timeout > MaxTimeout:
		return fmt.Errorf("--timeout must be above 0 and at most %v", MaxTimeout)
	case len(o.Password) < 6:
		return errors.New("--password must be at least 6 characters")
	case o.PID < 0:
		return errors.New("--pid must not be negative")
	}
	if o.RunID == "" {
		o.RunID = randomID()
	}
	for _, r := range o.RunID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') || len(o.RunID) > 12 {
			return errors.New("--run must be 1-12 letters or digits")
		}
	}
	if o.Senders == 0 {
		switch o.Scenario {
		case DM:
			o.Senders = o.Clients
		case Storm:
			o.Senders = 1
		default:
			o.Senders = 5
		}
	}
	if o.Scenario != Storm {
		o.Senders = min(o.Senders, o.Clients)
	}
	return nil
}

// endpoint returns the WebSocket URL of the Engine.IO endpoint, refusing
// hosts that are not loopback unless AllowRemote.
func (o *Options) endpoint() (string, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return "", fmt.Errorf("--url: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("--url %q: expected an http, https, ws or wss URL", o.URL)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("--url %q: no host", o.URL)
	}
	if !o.AllowRemote && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("--url %q: not a loopback address; pass --allow-remote to load another host", o.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/socket.io/"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery = "EIO=4&transport=websocket"
	u.Fragment = ""
	return u.String(), nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP literal. Other names are not resolved.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// randomID returns 6 random base-36 characters.
func randomID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b[:])
}
