package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Result is what one run measured. It is printed as a table, or as one
// JSON line with --json.
type Result struct {
	Scenario    string  `json:"scenario"`
	URL         string  `json:"url"`
	Run         string  `json:"run"`
	Clients     int     `json:"clients"`
	Senders     int     `json:"senders"`
	Rate        float64 `json:"rate"` // per sender; 0 = closed loop
	Size        int     `json:"size"`
	WarmupS     float64 `json:"warmup_s"`
	DurationS   float64 `json:"duration_s"` // the measured window
	Connections int     `json:"connections"`

	Setup Setup `json:"setup"`

	// The measured window (not idle).
	Accepted         int64   `json:"accepted"`
	AcceptedPerSec   float64 `json:"accepted_per_s"`
	Deliveries       int64   `json:"deliveries"`
	DeliveriesPerSec float64 `json:"deliveries_per_s"`
	Latency          Latency `json:"latency"`     // end to end, messages sent in the window
	AckLatency       Latency `json:"ack_latency"` // send to ack

	// Correctness over the whole run.
	PerMessage  int   `json:"deliveries_per_message"` // expected
	Undelivered int64 `json:"undelivered"`            // expected minus received after the drain
	Disorder    int64 `json:"disorder"`               // deliveries whose seq was not above the previous one
	Foreign     int64 `json:"foreign"`                // message events without a bench send time
	Echoes      int64 `json:"echoes"`                 // dm: copies sent back to the sending socket

	Errors map[string]int64 `json:"errors,omitempty"` // answer codes other than 200; "disconnect", "connect"

	Storm     *StormResult `json:"storm,omitempty"`
	Server    *ServerStats `json:"server,omitempty"`
	Generator Generator    `json:"generator"`
	Notes     []string     `json:"notes,omitempty"`
}

// Setup is the connect+login phase.
type Setup struct {
	Logins       int     `json:"logins"`
	Seconds      float64 `json:"seconds"`
	LoginsPerSec float64 `json:"logins_per_s"`
	Latency      Latency `json:"latency"` // dial, CONNECT and login of one client
}

// ServerStats are sampled from /proc/<pid> around the measured window.
type ServerStats struct {
	PID            int     `json:"pid"`
	CPUSeconds     float64 `json:"cpu_s"`
	CPUPercent     float64 `json:"cpu_percent"` // of one core
	CPUPerDelivery float64 `json:"cpu_us_per_delivery"`
	// UserPerDelivery is the user-space part of CPUPerDelivery (utime);
	// the rest is kernel time, mostly the socket writes and reads.
	UserPerDelivery float64 `json:"cpu_user_us_per_delivery"`
	CPUPerMessage   float64 `json:"cpu_us_per_message"`
	RSSBefore       int64   `json:"rss_before_bytes"` // before the first connection
	RSSAfter        int64   `json:"rss_after_bytes"`  // at the end of the window
	RSSPerConnBytes float64 `json:"rss_per_conn_bytes"`
}

// Generator is this process's own CPU use in the measured window.
type Generator struct {
	CPUSeconds float64 `json:"cpu_s"`
	CPUPercent float64 `json:"cpu_percent"` // of one core
	Cores      int     `json:"cores"`       // GOMAXPROCS
	Saturated  bool    `json:"saturated"`
}

// StormResult is the reconnect storm.
type StormResult struct {
	Missed           int     `json:"missed_per_client"`
	ToAll            bool    `json:"to_all"`
	Sent             int64   `json:"sent"` // accepted while the clients were away
	SendSeconds      float64 `json:"send_s"`
	Reconnected      int     `json:"reconnected"`
	Redials          int64   `json:"redials"` // reconnections after the server dropped a client that had not caught up
	CaughtUp         int     `json:"caught_up"`
	AllCaughtUpS     float64 `json:"all_caught_up_s"` // from the first reconnect to the last catch-up
	CatchUp          Latency `json:"catch_up"`        // per client, from the start of the storm
	Lost             int64   `json:"lost"`
	Duplicated       int64   `json:"duplicated"`
	Disordered       int64   `json:"disordered"`
	Unexpected       int64   `json:"unexpected"`
	Partial          int64   `json:"partial_206"`
	ExactlyOnce      bool    `json:"exactly_once_in_order"`
	CPUSeconds       float64 `json:"server_cpu_s,omitempty"` // server CPU during the reconnect
	CPUPerReplayedUs float64 `json:"server_cpu_us_per_replayed,omitempty"`
}

// WriteJSON writes res as one line.
func (res *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteTable writes res for people.
func (res *Result) WriteTable(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	mode := "closed loop"
	if res.Rate > 0 {
		mode = fmt.Sprintf("%g msg/s per sender", res.Rate)
	}
	switch res.Scenario {
	case Idle:
		p("chatapp bench: idle, %d clients held %s, %s", res.Clients, secs(res.DurationS), res.URL)
	case Storm:
		p("chatapp bench: storm, %d clients, %d missed each, %s", res.Clients, res.Storm.Missed, res.URL)
	default:
		p("chatapp bench: %s, %d clients, %d senders, %s, %d B data, %s warmup + %s measured, %s",
			res.Scenario, res.Clients, res.Senders, mode, res.Size, secs(res.WarmupS), secs(res.DurationS), res.URL)
	}
	p("  (run %s; the server should run with --msg-rate 0 and a low --hash-cost, e.g. chatapp --hash-cost 4 --msg-rate 0)", res.Run)
	s := res.Setup
	p("%-13s %d logins in %s (%s/s); connect+login p50 %s p99 %s max %s", "setup", s.Logins, secs(s.Seconds),
		num(s.LoginsPerSec), ms(s.Latency.P50), ms(s.Latency.P99), ms(s.Latency.Max))
	switch res.Scenario {
	case Idle:
	case Storm:
		st := res.Storm
		if st.ToAll {
			p("%-13s %d messages to ALL accepted in %s", "missed", st.Sent, secs(st.SendSeconds))
		} else {
			p("%-13s %d messages (%d to each client) accepted in %s", "missed", st.Sent, st.Missed, secs(st.SendSeconds))
		}
		p("%-13s %d/%d reconnected, %d caught up; all caught up in %s", "reconnect", st.Reconnected, res.Clients, st.CaughtUp, secs(st.AllCaughtUpS))
		if st.Redials > 0 {
			p("%-13s the server dropped clients before they caught up: %d reconnections with their newest seq as offset", "", st.Redials)
		}
		p("%-13s p50 %s p90 %s p99 %s max %s (from the start of the storm)", "catch-up", ms(st.CatchUp.P50), ms(st.CatchUp.P90), ms(st.CatchUp.P99), ms(st.CatchUp.Max))
		verdict := "every missed message exactly once, in order"
		if !st.ExactlyOnce {
			verdict = "FAILED"
		}
		p("%-13s %s (lost %d, duplicated %d, out of order %d, unexpected %d, 206 %d)", "check", verdict, st.Lost, st.Duplicated, st.Disordered, st.Unexpected, st.Partial)
	default:
		p("%-13s %s msgs, %s msgs/s", "accepted", num(float64(res.Accepted)), num(res.AcceptedPerSec))
		p("%-13s %s, %s/s (%d per message)", "deliveries", num(float64(res.Deliveries)), num(res.DeliveriesPerSec), res.PerMessage)
		l := res.Latency
		p("%-13s p50 %s  p90 %s  p99 %s  max %s  (end to end, %s samples)", "latency", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), num(float64(l.N)))
		a := res.AckLatency
		p("%-13s p50 %s  p90 %s  p99 %s  max %s", "ack latency", ms(a.P50), ms(a.P90), ms(a.P99), ms(a.Max))
		p("%-13s undelivered %d, out of order %d, foreign %d, echoes to the sender %d", "check", res.Undelivered, res.Disorder, res.Foreign, res.Echoes)
	}
	if len(res.Errors) == 0 {
		p("%-13s none", "errors")
	} else {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(res.Errors)) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, res.Errors[k]))
		}
		p("%-13s %s", "errors", strings.Join(parts, ", "))
	}
	if sv := res.Server; sv != nil {
		line := fmt.Sprintf("pid %d: CPU %s (%.1f%% of a core)", sv.PID, secs(sv.CPUSeconds), sv.CPUPercent)
		if sv.CPUPerDelivery > 0 && res.Storm == nil {
			line += fmt.Sprintf(", %.2f µs per delivery (%.2f in user space), %.1f µs per message",
				sv.CPUPerDelivery, sv.UserPerDelivery, sv.CPUPerMessage)
		}
		line += fmt.Sprintf("; RSS %s (%s before), %s per connection", mib(sv.RSSAfter), mib(sv.RSSBefore), kib(sv.RSSPerConnBytes))
		p("%-13s %s", "server", line)
		if st := res.Storm; st != nil && st.CPUSeconds > 0 {
			p("%-13s server CPU %s during the reconnect, %.1f µs per replayed message", "", secs(st.CPUSeconds), st.CPUPerReplayedUs)
		}
	}
	g := res.Generator
	line := fmt.Sprintf("CPU %s, %.0f%% of one core (GOMAXPROCS %d)", secs(g.CPUSeconds), g.CPUPercent, g.Cores)
	if g.Saturated {
		line += " — GENERATOR SATURATED: these numbers measure the generator, not the server"
	}
	p("%-13s %s", "generator", line)
	for _, n := range res.Notes {
		p("%-13s %s", "note", n)
	}
}

func secs(s float64) string { return fmt.Sprintf("%.2f s", s) }

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// num formats v with thousands separators and at most one decimal.
func num(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	if v < 100 && v != float64(int64(v)) {
		s = fmt.Sprintf("%.1f", v)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
