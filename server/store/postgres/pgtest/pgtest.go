// Package pgtest gives tests a throwaway PostgreSQL: Main starts a
// private cluster for the test binary and drops it at the end, DB gives
// each test a fresh database of it (docs/CLUSTER.md 14). Tests never
// assume a PostgreSQL server is running, and never skip when it cannot be
// started: they fail and say why (CI installs Debian's postgresql).
//
// It uses Debian's postgresql-common tools as root, because initdb
// refuses to run as root: `pg_createcluster VERSION NAME -p PORT --
// --auth=trust` (the server then runs as the postgres user), `pg_ctlcluster
// --skip-systemctl-redirect VERSION NAME start`, and `pg_dropcluster
// --stop` to clean up. The cluster listens on 127.0.0.1 at a port the OS
// said was free. Clusters left behind by a killed test process are
// dropped by the next run.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// prefix names the clusters this package creates: prefix + pid.
const prefix = "chatapp_test_"

var (
	adminDSN string       // the cluster's postgres database, set by Main
	startErr error        // why Main could not start it
	dbs      atomic.Int64 // databases made so far, for unique names
)

// Main starts the cluster, runs the tests, drops the cluster and exits.
// Call it from TestMain of every package whose tests use DB. If the
// cluster cannot be started, every test that calls DB fails with the
// reason.
func Main(m *testing.M) {
	name := prefix + strconv.Itoa(os.Getpid())
	version, err := start(name)
	if err != nil {
		startErr = err
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	code := m.Run()
	if err == nil {
		if err := drop(version, name); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// start creates and starts cluster name of the newest installed
// PostgreSQL and sets adminDSN.
func start(name string) (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL tests run as root (pg_createcluster; initdb refuses root, pg_createcluster needs it)")
	}
	version, err := newestVersion()
	if err != nil {
		return "", err
	}
	dropStale(version)
	port, err := freePort()
	if err != nil {
		return "", err
	}
	if err := run("pg_createcluster", version, name, "-p", strconv.Itoa(port), "--", "--auth=trust"); err != nil {
		return "", err
	}
	if err := run("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"); err != nil {
		_ = drop(version, name)
		return "", err
	}
	adminDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	// Wait until it answers; the start script returns when the server
	// runs, which is a little before it accepts connections on a loaded
	// machine.
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := pgx.Connect(ctx, adminDSN)
		if err == nil {
			c.Close(ctx)
			cancel()
			return version, nil
		}
		cancel()
		if time.Now().After(deadline) {
			_ = drop(version, name)
			return "", fmt.Errorf("cluster %s does not answer: %w", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newestVersion returns the major version of the newest PostgreSQL
// server installed (Debian puts each in /usr/lib/postgresql/VERSION).
func newestVersion() (string, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	var versions []int
	for _, b := range bins {
		if v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b)))); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return "", errors.New("no PostgreSQL server installed (apt-get install postgresql)")
	}
	if _, err := exec.LookPath("pg_createcluster"); err != nil {
		return "", errors.New("pg_createcluster not found (apt-get install postgresql-common)")
	}
	return strconv.Itoa(slices.Max(versions)), nil
}

var (
	staleName = regexp.MustCompile(`^` + prefix + `(\d+)$`)
	nonWord   = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// dropStale drops the clusters of test processes that no longer run.
func dropStale(version string) {
	entries, err := os.ReadDir(filepath.Join("/etc/postgresql", version))
	if err != nil {
		return
	}
	for _, e := range entries {
		m := staleName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue // ours, or its process still runs
		}
		_ = drop(version, e.Name())
	}
}

func drop(version, name string) error {
	return run("pg_dropcluster", "--stop", version, name)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// DB creates a fresh, empty database for t and returns its connection
// string (postgres://…, for pgx). The database is dropped when t ends.
func DB(t testing.TB) string {
	t.Helper()
	if adminDSN == "" {
		if startErr == nil {
			startErr = errors.New("pgtest.Main was not called from TestMain")
		}
		t.Fatalf("pgtest: no PostgreSQL: %v", startErr)
	}
	name := fmt.Sprintf("t%d_%s", dbs.Add(1), strings.ToLower(nonWord.ReplaceAllString(t.Name(), "_")))
	name = name[:min(len(name), 63)] // PostgreSQL's identifier limit
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			t.Errorf("pgtest: connect to drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return strings.Replace(adminDSN, "/postgres?", "/"+name+"?", 1)
}
