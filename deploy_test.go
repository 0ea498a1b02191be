package main

// Tests of deploy/: the systemd unit passes systemd-analyze verify, the
// Containerfile has what the README promises, and both name only real
// CHATAPP_* variables; the healthcheck command the Containerfile runs
// works.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/alecthomas/kong"
)

// TestSystemdUnit runs `systemd-analyze verify` on deploy/chatapp.service
// (with ExecStart pointed at the binary under test, which verify requires
// to exist) and fails on any complaint, warnings included; and checks the
// settings the issue asks for are there.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("deploy/chatapp.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=chatapp", "StateDirectory=chatapp", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "Restart=on-failure",
		"KillSignal=SIGTERM", "Environment=CHATAPP_DATA=/var/lib/chatapp", "ExecStart=/usr/local/bin/chatapp serve\n"} {
		if !strings.Contains(string(unit), "\n"+want) {
			t.Errorf("deploy/chatapp.service lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: .ci/run installs Debian's systemd package")
		}
		t.Skip("install Debian's systemd package (as .ci/run does) to verify the unit with systemd-analyze")
	}
	dir := t.TempDir()
	local := strings.Replace(string(unit), "ExecStart=/usr/local/bin/chatapp ", "ExecStart="+binary(t)+" ", 1)
	if err := os.WriteFile(filepath.Join(dir, "chatapp.service"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", filepath.Join(dir, "chatapp.service")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestContainerfile checks deploy/Containerfile's instructions: a
// multi-stage build that copies every package the binary is built from,
// and a final stage on a minimal base that runs as non-root with the data
// volume, port 3000 and the health check.
func TestContainerfile(t *testing.T) {
	instr := containerInstructions(t, "deploy/Containerfile")
	var froms, copies []string
	for _, in := range instr {
		switch in[0] {
		case "FROM":
			froms = append(froms, in[1])
		case "COPY":
			copies = append(copies, in[1])
		}
	}
	if len(froms) < 2 || !strings.HasSuffix(froms[0], " AS build") {
		t.Errorf("not a multi-stage build: FROM %q", froms)
	}
	if last := froms[len(froms)-1]; !strings.Contains(last, "distroless/static") && last != "scratch" {
		t.Errorf("final stage on %q, want a minimal base", last)
	}
	final := instr[slices.IndexFunc(instr, func(in [2]string) bool { return in[0] == "FROM" && in[1] == froms[len(froms)-1] }):]
	want := map[string]string{
		"USER":        "65532:65532",
		"VOLUME":      "/data",
		"EXPOSE":      "3000",
		"STOPSIGNAL":  "SIGTERM",
		"ENTRYPOINT":  `["/usr/local/bin/chatapp"]`,
		"HEALTHCHECK": `CMD ["/usr/local/bin/chatapp", "healthcheck"]`,
	}
	for _, in := range final {
		if w, ok := want[in[0]]; ok && strings.HasSuffix(in[1], w) {
			delete(want, in[0])
		}
		if in[0] == "ENV" && !strings.Contains(in[1], "CHATAPP_DATA=/data") {
			t.Errorf("ENV %q does not point CHATAPP_DATA at the volume", in[1])
		}
	}
	for k, v := range want {
		t.Errorf("final stage lacks %s %s", k, v)
	}

	// Every directory of the module the binary is built from is copied
	// into the build stage.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := os.Getwd()
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") || rel == "." {
			continue // another module, or the root's *.go
		}
		top := strings.Split(rel, string(filepath.Separator))[0]
		if !slices.Contains(copies, top+" "+top) {
			t.Errorf("the build stage does not COPY %s (the binary imports %s)", top, rel)
		}
	}
}

// containerInstructions reads a Containerfile into (instruction,
// arguments) pairs, joining continuation lines and dropping comments.
func containerInstructions(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" && cur == "" {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur += rest + " "
			continue
		}
		cur += line
		word, args, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(word), strings.Join(strings.Fields(args), " ")})
		cur = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeployVariables: every CHATAPP_* variable the deploy files set (or
// suggest in a comment) is read by a flag of serve, so that a typo does
// not silently do nothing.
func TestDeployVariables(t *testing.T) {
	parser, err := kong.New(&cli{}, kong.Name("chatapp"), kong.DefaultEnvars("CHATAPP"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range parser.Model.Children {
		if n.Name != "serve" {
			continue
		}
		for _, group := range n.AllFlags(true) {
			for _, f := range group {
				for _, env := range f.Envs {
					known[env] = true
				}
			}
		}
	}
	if !known["CHATAPP_PORT"] {
		t.Fatalf("the CLI model has no CHATAPP_PORT: %v", known)
	}
	// The variables the tests read, which the README names too.
	for _, v := range []string{"CHATAPP_BIN", "CHATAPP_CLEAN_BUILD", "CHATAPP_SOAK", "CHATAPP_WRITE_FIXTURE"} {
		known[v] = true
	}
	re := regexp.MustCompile(`CHATAPP_[A-Z_]+=`)
	for _, path := range []string{"deploy/chatapp.service", "deploy/Containerfile", "README.md"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllString(string(b), -1) {
			if v := strings.TrimSuffix(m, "="); !known[v] {
				t.Errorf("%s sets %s, which no serve flag reads", path, v)
			}
		}
	}
}

// TestHealthcheckCommand: `chatapp healthcheck` exits 0 while the server
// answers /healthz, finding it by CHATAPP_PORT as in the container, and
// fails once it is stopped.
func TestHealthcheckCommand(t *testing.T) {
	p := startServer(t, t.TempDir())
	_, port, _ := strings.Cut(p.addr, ":")
	check := func() (string, error) {
		cmd := exec.Command(binary(t), "healthcheck")
		cmd.Env = append(os.Environ(), "CHATAPP_PORT="+port)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil || out != "ok\n" {
		t.Fatalf("healthcheck of a running server: %v %q", err, out)
	}
	if err, _ := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err == nil || !strings.HasPrefix(out, "chatapp: health check:") {
		t.Fatalf("healthcheck of a stopped server: %v %q", err, out)
	}
}
