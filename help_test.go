package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// helpOf runs chatapp with args and returns what it printed; it fails
// unless the exit code is 0.
func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("chatapp %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// serveFlags are the names of the serve command's flags, from the CLI
// model, so a flag added later is checked too.
func serveFlags(t *testing.T) []string {
	t.Helper()
	parser, err := kong.New(&cli{}, kong.Name("chatapp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range parser.Model.Children {
		if n.Name != "serve" {
			continue
		}
		for _, group := range n.AllFlags(true) {
			for _, f := range group {
				names = append(names, f.Name)
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("serve flags %v", names)
	}
	return names
}

// TestHelp: `chatapp --help` shows what a first-time user needs (every
// serve flag, the commands, an example), `chatapp serve --help` every serve
// flag, and neither the hidden conformance command.
func TestHelp(t *testing.T) {
	top := helpOf(t, "--help")
	if short := helpOf(t, "-h"); short != top {
		t.Errorf("-h and --help differ")
	}
	serve := helpOf(t, "serve", "--help")
	for _, name := range serveFlags(t) {
		for what, out := range map[string]string{"chatapp --help": top, "chatapp serve --help": serve} {
			if !strings.Contains(out, "--"+name+"=") && !strings.Contains(out, "--"+name+" ") {
				t.Errorf("%s does not show --%s", what, name)
			}
		}
	}
	for _, want := range []string{"--port=3000", "--data=", "--signup=", "--tls-cert=",
		"Usage: chatapp [serve] [flags]", "Commands:", "\n  serve ", "\n  user add <id> ", "\n  user list ",
		"\n  version ", "\n  backup <file> ", "\n  restore <file> ", "Example:\n  " + helpExample + "\n"} {
		if !strings.Contains(top, want) {
			t.Errorf("chatapp --help lacks %q:\n%s", want, top)
		}
	}
	for what, out := range map[string]string{"chatapp --help": top, "chatapp serve --help": serve, "chatapp user --help": helpOf(t, "user", "--help")} {
		if strings.Contains(out, "conformance") {
			t.Errorf("%s shows the hidden conformance command", what)
		}
	}
	for _, line := range strings.Split(top, "\n") {
		if len(line) > helpWidth {
			t.Errorf("line longer than %d: %q", helpWidth, line)
		}
	}
	// Hidden, not gone: the protocol suites still start it.
	if out := helpOf(t, "conformance", "--help"); !strings.Contains(out, "--port=") {
		t.Errorf("conformance --help:\n%s", out)
	}
}

// TestHelpExampleParses: the example line is a valid serve command line.
func TestHelpExampleParses(t *testing.T) {
	var c cli
	parser, err := kong.New(&c, kong.Name("chatapp"), kong.Exit(func(int) { t.Fatal("exit") }))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(helpExample)
	if args[0] != "chatapp" {
		t.Fatalf("example %q does not start with chatapp", helpExample)
	}
	kctx, err := parser.Parse(args[1:])
	if err != nil {
		t.Fatalf("example %q: %v", helpExample, err)
	}
	if got := kctx.Command(); got != "serve" || c.Serve.Port != 8080 {
		t.Fatalf("example runs %q on port %d", got, c.Serve.Port)
	}
}
