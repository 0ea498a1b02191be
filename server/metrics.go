package server

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"chatapp/shared"
)

// metrics are the server's own counters, exported at /metrics in the
// Prometheus text format with those of the transport and the store. They
// count events, never who or what: no user data is exported.
type metrics struct {
	answers     [len(answerCodes)]atomic.Int64 // by code, same index as answerCodes
	appendHist  histogram                      // store append latency, request to durable
	loginFailed atomic.Int64
	// passwordChecks counts bcrypt comparisons (logins, and the dummy of
	// unknown ids with sign-up closed): what the login throttle bounds.
	passwordChecks atomic.Int64
	loginTimeouts  atomic.Int64
	uploads        [len(uploadResults)]atomic.Int64 // by result, same index as uploadResults
}

var answerCodes = [...]string{
	shared.CodeOK, shared.CodeBadRequest, shared.CodeUnauthorized, shared.CodeForbidden,
	shared.CodeNotFound, shared.CodeConflict, shared.CodeTooLarge, shared.CodeTooManyRequests,
	shared.CodeInternal,
}

func (m *metrics) answered(code string) {
	for i, c := range answerCodes {
		if c == code {
			m.answers[i].Add(1)
			return
		}
	}
}

// histogram is a fixed-bucket latency histogram safe for concurrent use.
type histogram struct {
	counts [len(latencyBuckets) + 1]atomic.Int64 // the last is +Inf
	sumNs  atomic.Int64
}

// latencyBuckets are upper bounds in seconds.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(latencyBuckets) && s > latencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

func (h *histogram) write(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum int64
	for i, le := range latencyBuckets {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, le, cum)
	}
	cum += h.counts[len(latencyBuckets)].Load()
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, cum, name, float64(h.sumNs.Load())/1e9, name, cum)
}

// serveMetrics writes every metric in the Prometheus text format.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	ts := s.sio.Stats()
	gauge("chatapp_connections", "Engine.IO sessions open now.", ts.Connections)
	counter("chatapp_connections_accepted_total", "Engine.IO sessions opened since start.", ts.Accepted)
	counter("chatapp_connections_rejected_total", "Socket requests refused with an HTTP error.", ts.Rejected)
	counter("chatapp_polling_sessions_total", "Sessions opened by a polling handshake since start.", ts.Polling)
	counter("chatapp_upgrades_total", "Sessions upgraded from polling to WebSocket.", ts.Upgrades)
	counter("chatapp_slow_consumer_kicks_total", "Sessions closed because their send queue overflowed.", ts.SlowConsumerKicks)
	counter("chatapp_write_timeouts_total", "Sessions closed because a write timed out.", ts.WriteTimeouts)
	counter("chatapp_ping_timeouts_total", "Sessions closed because no pong came in time.", ts.PingTimeouts)
	counter("chatapp_protocol_errors_total", "Sessions closed for invalid client input.", ts.ProtocolErrors)
	online, users, rooms := s.hub.counts()
	gauge("chatapp_sockets_logged_in", "Sockets logged in now.", int64(online))
	gauge("chatapp_users_online", "Users with at least one socket now.", int64(users))
	gauge("chatapp_rooms", "Rooms.", int64(rooms))
	st := s.store.Stats()
	counter("chatapp_messages_stored_total", "Messages stored since start.", st.Appended)
	counter("chatapp_messages_duplicate_total", "Retries answered with an earlier message (same cid).", st.Dups)
	counter("chatapp_store_batches_total", "Group-commit transactions since start.", st.Batches)
	counter("chatapp_login_failures_total", "Logins refused for a wrong password or unknown id.", s.metrics.loginFailed.Load())
	counter("chatapp_password_checks_total", "Password hashes compared (logins; unknown ids with sign-up closed).", s.metrics.passwordChecks.Load())
	counter("chatapp_login_timeouts_total", "Sockets disconnected for staying anonymous past --login-timeout.", s.metrics.loginTimeouts.Load())
	fmt.Fprintf(w, "# HELP chatapp_answers_total Answers sent, by code.\n# TYPE chatapp_answers_total counter\n")
	for i, c := range answerCodes {
		fmt.Fprintf(w, "chatapp_answers_total{code=%q} %d\n", c, s.metrics.answers[i].Load())
	}
	s.metrics.appendHist.write(w, "chatapp_store_append_seconds", "Time from a message request to its durable append.")
	files, fileBytes := s.store.FileStats()
	gauge("chatapp_files", "Uploaded files on disk (the same bytes are kept once).", files)
	gauge("chatapp_file_bytes", "Bytes of uploaded files on disk.", fileBytes)
	fmt.Fprintf(w, "# HELP chatapp_uploads_total Uploads (POST /files), by result.\n# TYPE chatapp_uploads_total counter\n")
	for i, r := range uploadResults {
		fmt.Fprintf(w, "chatapp_uploads_total{result=%q} %d\n", r, s.metrics.uploads[i].Load())
	}
}
