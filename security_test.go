package main

// Issue 18 against the built binary: admin commands run in another
// process reach the sockets open on a running server.

import (
	"strings"
	"testing"
	"time"
)

// TestCLIChangesReachOpenSockets: 'user del' and 'user logout' in another
// process disconnect the account's open sockets (41) within 5 s; the
// deleted id stays reserved.
func TestCLIChangesReachOpenSockets(t *testing.T) {
	data := t.TempDir()
	p := startServer(t, data)
	erin, _, err := loginSIO(p.addr, "erin")
	if err != nil {
		t.Fatal(err)
	}
	defer erin.close()
	bob, _, err := loginSIO(p.addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.close()

	for _, step := range []struct {
		args []string
		who  *sioClient
		out  string
	}{
		{[]string{"user", "del", "erin"}, erin, "deleted erin"},
		{[]string{"user", "logout", "BOB"}, bob, "sessions of BOB revoked"},
	} {
		start := time.Now()
		out, errOut, code := chatapp(t, "", append([]string{"--data", data}, step.args...)...)
		if code != 0 || !strings.Contains(out, step.out) {
			t.Fatalf("%v: exit %d, %q %q", step.args, code, out, errOut)
		}
		err := step.who.waitUntil(5*time.Second, func() bool { return step.who.kicked })
		if err != nil {
			t.Fatalf("%v: %s not kicked within 5 s: %v", step.args, step.who, err)
		}
		t.Logf("%v: kicked %v after the command started", step.args, time.Since(start).Round(time.Millisecond))
	}

	if out, _, _ := chatapp(t, "", "--data", data, "user", "list", "--deleted"); !strings.HasPrefix(out, "erin\t") {
		t.Errorf("user list --deleted: %q", out)
	}
	if _, errOut, code := chatapp(t, "", "--data", data, "user", "add", "Erin", "--password", "another1", "--hash-cost", "4"); code == 0 || !strings.Contains(errOut, "reserved") {
		t.Errorf("user add of a deleted id: exit %d, %q", code, errOut)
	}
	if _, r, err := loginSIO(p.addr, "ERIN"); err == nil || r.Code != "403" {
		t.Errorf("sign-up as ERIN: %+v %v", r, err)
	}
}

// TestSecurityFlagDefaults: the defaults the README promises.
func TestSecurityFlagDefaults(t *testing.T) {
	out, _, code := chatapp(t, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d", code)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"--signup-per-ip=5", "--signup-rate=60", "--logins-per-ip=300", "--login-timeout=60s",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
}
