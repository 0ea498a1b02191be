package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wireConstPrefix names the constants of package shared that are on the
// wire: event names, answer codes, commands, message types.
var wireConstPrefix = regexp.MustCompile(`^(Event|Code|Command|Room|Presence|Type)[A-Z]`)

// wireConstants parses shared/*.go and returns every string constant of
// each const block that holds at least one wire constant, by name (a
// constant added to such a block later is picked up, whatever its name).
func wireConstants(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("shared/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			block := map[string]string{}
			wire := false
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING || !name.IsExported() {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					block[name.Name] = v
					wire = wire || wireConstPrefix.MatchString(name.Name)
				}
			}
			if wire {
				for k, v := range block {
					out[k] = v
				}
			}
		}
	}
	return out
}

// TestProtocolDocCoversShared: every event name, command, message type
// and answer code in package shared appears in docs/PROTOCOL.md, in
// backticks or in quotes, so the public contract cannot fall behind the
// code.
func TestProtocolDocCoversShared(t *testing.T) {
	doc, err := os.ReadFile("docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	consts := wireConstants(t)
	for _, want := range []string{"EventLogin", "CodeOK", "CommandGroupchat", "RoomCreate", "PresenceOnline", "TypeText", "All"} {
		if _, ok := consts[want]; !ok {
			t.Fatalf("the parse of shared/ misses %s: %v", want, consts)
		}
	}
	for name, v := range consts {
		if !strings.Contains(string(doc), "`"+v+"`") && !strings.Contains(string(doc), `"`+v+`"`) {
			t.Errorf("docs/PROTOCOL.md does not mention %q (shared.%s)", v, name)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "(docs/PROTOCOL.md)") || strings.Contains(string(readme), "../shared/") {
		t.Error("README.md should link docs/PROTOCOL.md, not a document outside the repository")
	}
}
