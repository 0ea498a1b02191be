// Command chatapp is a self-hosted chat server in one binary: the go-app
// PWA, the Socket.IO chat server it talks to, and an embedded SQLite store.
//
//	chatapp --port 3000          serve (the default command)
//	chatapp user add alice       manage accounts on the same data dir
//	chatapp conformance --port P serve the official protocol suites' app
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"chatapp/server"
	"chatapp/server/sio"
	"chatapp/server/store"
	"chatapp/shared"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is the command line. Every flag also reads CHATAPP_<NAME>.
type cli struct {
	Data      string `default:"./data" help:"Directory of the SQLite store (created if missing)."`
	LogLevel  string `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string `default:"text" enum:"text,json" help:"Log format: text or json."`

	Serve       serveCmd       `cmd:"" default:"withargs" help:"Run the chat server (the default command)."`
	User        userCmd        `cmd:"" help:"Manage accounts in the data dir."`
	Backup      backupCmd      `cmd:"" help:"Write a consistent copy of the database to FILE while the server runs."`
	Restore     restoreCmd     `cmd:"" help:"Replace the database with the backup FILE; the server must be stopped."`
	Healthcheck healthcheckCmd `cmd:"" help:"Exit 0 if the server on --port answers /healthz (for container health checks)."`
	Conformance conformanceCmd `cmd:"" hidden:"" help:"Serve the app the official Engine.IO/Socket.IO protocol test suites expect (a test fixture)."`
	Bench       benchCmd       `cmd:"" help:"Load-test a chat server (this one or any PROTOCOL.md server) and report throughput, latency and server CPU per delivery."`
	Version     versionCmd     `cmd:"" help:"Print the version."`
}

// env is what every command gets.
type env struct {
	ctx    context.Context
	log    *slog.Logger
	stdin  io.Reader
	stdout io.Writer
	data   string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var c cli
	exit := -1
	parser, err := kong.New(&c,
		kong.Name("chatapp"),
		kong.Description("A self-hosted chat server: a Socket.IO chat, an installable PWA and an embedded store in one binary."),
		kong.DefaultEnvars("CHATAPP"),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.UsageOnError(),
		kong.Help(printHelp), // cmd_help.go
	)
	if err != nil {
		fmt.Fprintf(stderr, "chatapp: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 { // --help
		return exit
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatapp: %v\n", err)
		return 2
	}
	log := newLogger(stderr, c.LogLevel, c.LogFormat)
	e := &env{ctx: ctx, log: log, stdin: stdin, stdout: stdout, data: c.Data}
	if err := kctx.Run(e); err != nil {
		fmt.Fprintf(stderr, "chatapp: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level)) // the enum has checked it
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

type serveCmd struct {
	Host           string   `default:"" help:"Interface to listen on (default: all)."`
	Port           int      `default:"3000" help:"TCP port to listen on (0 picks a free one)."`
	Signup         string   `default:"open" enum:"open,closed" help:"open: the first login of an unknown id creates the account; closed: only accounts made with 'chatapp user add'."`
	MaxPayload     int      `default:"65536" help:"Engine.IO maxPayload, in bytes."`
	MaxText        int      `default:"4000" help:"Longest message text, in characters."`
	MsgRate        float64  `default:"20" help:"Requests a second per socket (0 turns the limit off)."`
	MsgBurst       int      `default:"40" help:"Burst of requests per socket above --msg-rate."`
	HashCost       int      `default:"10" help:"bcrypt work factor of password hashes (4-31)."`
	SendBuffer     int      `default:"4194304" help:"Bytes queued to one socket before it is dropped as a slow consumer."`
	ReplayMax      int      `default:"1000" help:"Most messages replayed to a reconnecting socket."`
	MaxRooms       int      `default:"100" help:"Most rooms one user may own."`
	MaxFile        int64    `name:"max-file" default:"26214400" help:"Largest uploaded file, in bytes (25 MiB)."`
	FileQuota      int64    `name:"file-quota" default:"1073741824" help:"What one user's uploaded files may take together, in bytes (1 GiB); each counts at least 4096."`
	MaxConnsPerIP  int      `name:"max-conns-per-ip" default:"256" help:"Most TCP connections open at once from one address; more are closed as they are accepted (0 turns the limit off; raise it behind a reverse proxy on the same host)."`
	Limits         limits   `embed:""` // issue 18: limits.go
	AllowedOrigins []string `sep:"," help:"Other page origins allowed to connect, by WebSocket or by polling with CORS and credentials: scheme://host[:port], * for any, null for pages opened from disk (comma-separated)."`
	PublicURL      string   `name:"public-url" help:"The address the world uses for this server (e.g. https://chat.example.com): its origin is allowed, and requests for other host names than it and loopback ones get 421 (stops DNS rebinding)."`
	Public         string   `type:"existingdir" help:"Serve this folder's files at /public/ (e.g. the book's client pages with jQuery and socket.io.js)."`
	TLSCert        string   `name:"tls-cert" help:"PEM certificate (chain) file: serve HTTPS and WSS (needs --tls-key)."`
	TLSKey         string   `name:"tls-key" help:"PEM private key file of --tls-cert."`
	CPUProfile     string   `name:"cpu-profile" help:"Write a CPU profile (pprof) of the whole run to this file (docs/PERFORMANCE.md)."`
	MemProfile     string   `name:"mem-profile" help:"Write a heap profile (pprof) to this file when the server stops."`
}

func (cmd *serveCmd) Validate() error {
	switch {
	case cmd.Port < 0 || cmd.Port > 65535:
		return fmt.Errorf("--port %d is not a TCP port", cmd.Port)
	case cmd.MaxPayload < 1024:
		return errors.New("--max-payload must be at least 1024 bytes")
	case cmd.MaxText < 1:
		return errors.New("--max-text must be at least 1")
	case cmd.MsgRate < 0 || cmd.MsgBurst < 1:
		return errors.New("--msg-rate must be >= 0 and --msg-burst >= 1")
	case cmd.HashCost < 4 || cmd.HashCost > 31:
		return errors.New("--hash-cost must be from 4 to 31")
	case cmd.SendBuffer < 4096:
		return errors.New("--send-buffer must be at least 4096 bytes")
	case cmd.ReplayMax < 1:
		return errors.New("--replay-max must be at least 1")
	case cmd.MaxConnsPerIP < 0:
		return errors.New("--max-conns-per-ip must be >= 0")
	case cmd.Limits.invalid():
		return errors.New("--signup-per-ip, --signup-rate, --logins-per-ip and --login-timeout must be >= 0")
	case cmd.MaxRooms < 1:
		return errors.New("--max-rooms must be at least 1")
	case cmd.MaxFile < 1 || cmd.FileQuota < store.MinFileCharge:
		return fmt.Errorf("--max-file must be at least 1 byte and --file-quota at least %d", store.MinFileCharge)
	case (cmd.TLSCert == "") != (cmd.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	}
	for _, o := range cmd.AllowedOrigins {
		if o = strings.TrimSpace(o); o == "*" || o == "null" {
			continue
		}
		if _, err := sio.ParseOrigin(o); err != nil {
			return fmt.Errorf("--allowed-origins: %q is not scheme://host[:port], * or null", o)
		}
	}
	if cmd.PublicURL != "" {
		if _, err := server.ParsePublicURL(cmd.PublicURL); err != nil {
			return fmt.Errorf("--public-url: %w", err)
		}
	}
	return nil
}

func (cmd *serveCmd) Run(e *env) error {
	if cmd.CPUProfile != "" {
		f, err := os.Create(cmd.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if cmd.MemProfile != "" {
		defer writeHeapProfile(e.log, cmd.MemProfile)
	}
	var tlsConfig *tls.Config
	if cmd.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cmd.TLSCert, cmd.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	raiseFileLimit(e.log)
	ln, err := listen(cmd.Host, cmd.Port)
	if err != nil {
		return err
	}
	defer ln.Close()
	var srv *server.Server
	st, err := store.Open(e.data, store.Options{
		Logger:       e.log,
		OnCommitFrom: func(m []shared.Message, origins []any) { srv.FanoutFrom(m, origins) },
	})
	if err != nil {
		return err
	}
	defer st.Close()
	ui, err := newUIHandler(e.log)
	if err != nil {
		return err
	}
	rate := cmd.MsgRate
	if rate == 0 {
		rate = -1 // off
	}
	srv, err = server.New(server.Config{
		SignupClosed:    cmd.Signup == "closed",
		MaxPayload:      cmd.MaxPayload,
		MaxText:         cmd.MaxText,
		MsgRate:         rate,
		MsgBurst:        cmd.MsgBurst,
		HashCost:        cmd.HashCost,
		SendBuffer:      cmd.SendBuffer,
		ReplayMax:       cmd.ReplayMax,
		MaxRoomsPerUser: cmd.MaxRooms,
		MaxFile:         cmd.MaxFile,
		FileQuota:       cmd.FileQuota,
		MaxConnsPerIP:   cmp.Or(cmd.MaxConnsPerIP, -1), // 0: off
		AllowedOrigins:  cmd.AllowedOrigins,
		PublicURL:       cmd.PublicURL,
		PublicDir:       cmd.Public,
		TLS:             tlsConfig, // Serve puts it above the per-address count
		SignupPerIP:     cmd.Limits.SignupPerIP,
		SignupRate:      cmd.Limits.SignupRate,
		LoginsPerIP:     cmd.Limits.LoginsPerIP,
		LoginTimeout:    cmd.Limits.LoginTimeout,
	}, server.Deps{Store: st, Logger: e.log, UI: ui})
	if err != nil {
		return err
	}
	e.log.Info("chatapp starting", "version", version, "data", e.data)
	if err := srv.Serve(e.ctx, ln); err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	e.log.Info("stopped")
	return nil
}

type userCmd struct {
	Add    userAddCmd    `cmd:"" help:"Create an account."`
	Passwd userPasswdCmd `cmd:"" help:"Set an account's password and revoke its sessions."`
	Del    userDelCmd    `cmd:"" help:"Delete an account and end its sessions; its id stays reserved."`
	Logout userLogoutCmd `cmd:"" help:"End every session of an account (its open sockets are disconnected)."`
	List   userListCmd   `cmd:"" help:"List accounts (--deleted: the reserved ids of deleted ones)."`
}

type userAddCmd struct {
	ID       string `arg:"" help:"Account id."`
	Password string `help:"Password (default: read a line from standard input)."`
	Alias    string `help:"Display name."`
	Today    string `help:"Status line."`
	HashCost int    `default:"10" help:"bcrypt work factor (4-31)."`
}

func (cmd *userAddCmd) Run(e *env) error {
	if err := shared.ValidUserID("id", cmd.ID); err != nil {
		return errors.New(err.Message)
	}
	if err := shared.ValidName("alias", cmd.Alias, shared.MaxAlias); err != nil {
		return errors.New(err.Message)
	}
	if err := shared.ValidText("today", cmd.Today, shared.MaxToday); err != nil {
		return errors.New(err.Message)
	}
	hash, err := passwordHash(e, cmd.Password, cmd.HashCost)
	if err != nil {
		return err
	}
	return withStore(e, func(st *store.Store) error {
		err := st.CreateUser(e.ctx, store.User{ID: cmd.ID, Alias: cmd.Alias, Today: cmd.Today, Hash: hash})
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("user %s already exists", cmd.ID)
		}
		if errors.Is(err, store.ErrDeleted) {
			return fmt.Errorf("the id %s was deleted and stays reserved", cmd.ID)
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "created %s\n", cmd.ID)
		}
		return err
	})
}

type userPasswdCmd struct {
	ID       string `arg:"" help:"Account id."`
	Password string `help:"New password (default: read a line from standard input)."`
	HashCost int    `default:"10" help:"bcrypt work factor (4-31)."`
}

func (cmd *userPasswdCmd) Run(e *env) error {
	hash, err := passwordHash(e, cmd.Password, cmd.HashCost)
	if err != nil {
		return err
	}
	return withStore(e, func(st *store.Store) error {
		err := st.SetPassword(e.ctx, cmd.ID, hash)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user %s", cmd.ID)
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "password of %s changed; its sessions are revoked\n", cmd.ID)
		}
		return err
	})
}

type userDelCmd struct {
	ID string `arg:"" help:"Account id."`
}

// Run deletes the account. A running server sees the change in its
// revocation log within a second or so and disconnects the account's
// sockets; the id stays reserved.
func (cmd *userDelCmd) Run(e *env) error {
	return withStore(e, func(st *store.Store) error {
		d, err := st.DeleteUser(e.ctx, cmd.ID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user %s", cmd.ID)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted %s; the id stays reserved\n", cmd.ID)
		for _, room := range slices.Sorted(maps.Keys(d.Passed)) {
			fmt.Fprintf(e.stdout, "room %s now belongs to %s\n", room, d.Passed[room])
		}
		for _, room := range d.Emptied {
			fmt.Fprintf(e.stdout, "room %s had no other member and was deleted\n", room)
		}
		return nil
	})
}

type userLogoutCmd struct {
	ID string `arg:"" help:"Account id."`
}

func (cmd *userLogoutCmd) Run(e *env) error {
	return withStore(e, func(st *store.Store) error {
		err := st.RevokeSessions(e.ctx, cmd.ID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user %s", cmd.ID)
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "sessions of %s revoked\n", cmd.ID)
		}
		return err
	})
}

type userListCmd struct {
	Deleted bool `help:"List the ids of deleted accounts (reserved: nobody can sign up with them) and when they were deleted."`
}

func (cmd *userListCmd) Run(e *env) error {
	return withStore(e, func(st *store.Store) error {
		if cmd.Deleted {
			list, err := st.DeletedUsers(e.ctx)
			if err != nil {
				return err
			}
			for _, d := range list {
				fmt.Fprintf(e.stdout, "%s\t%s\n", d.ID, d.Deleted)
			}
			return nil
		}
		users, err := st.Users(e.ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", u.ID, u.Alias, u.Today)
		}
		return nil
	})
}

// passwordHash hashes the password given by flag or read from standard
// input.
func passwordHash(e *env, flag string, cost int) ([]byte, error) {
	pw, err := password(e, flag)
	if err != nil {
		return nil, err
	}
	return server.HashPassword(pw, cost)
}

// password returns flag, or a line read from standard input, checked
// against the protocol's password rules.
func password(e *env, flag string) (string, error) {
	pw := flag
	if pw == "" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password: give --password or one line on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if n := shared.RuneLen(pw); n < shared.MinPassword || n > shared.MaxPassword {
		return "", errors.New("the password must be 6 to 128 characters")
	}
	return pw, nil
}

func withStore(e *env, f func(*store.Store) error) error {
	st, err := store.Open(e.data, store.Options{Logger: e.log})
	if err != nil {
		return err
	}
	if err := f(st); err != nil {
		st.Close()
		return err
	}
	return st.Close()
}

type conformanceCmd struct {
	Host string `default:"127.0.0.1" help:"Interface to listen on."`
	Port int    `default:"3000" help:"TCP port to listen on."`
}

func (cmd *conformanceCmd) Run(e *env) error {
	ln, err := listen(cmd.Host, cmd.Port)
	if err != nil {
		return err
	}
	return sio.ServeConformance(e.ctx, ln, e.log)
}

// listen opens the TCP listener; its error names the address and the
// reason in one line ("listen on :3000: bind: address already in use").
func listen(host string, port int) (net.Listener, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	fmt.Fprintf(e.stdout, "chatapp %s\n", version)
	return nil
}

// writeHeapProfile writes a heap profile of live objects to path.
func writeHeapProfile(log *slog.Logger, path string) {
	f, err := os.Create(path)
	if err == nil {
		runtime.GC() // up-to-date statistics of what is live
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Error("heap profile", "err", err)
	}
}
