package app

import (
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// statusPath is where #status sits in Shell's tree:
// component → div#root → header → span#status.
var statusPath = []int{0, 0, 1}

func TestShell_RendersOfflineStatus(t *testing.T) {
	t.Parallel()

	e := app.NewTestEngine()
	s := &Shell{}
	if err := e.Load(s); err != nil {
		t.Fatalf("load: %v", err)
	}
	e.ConsumeAll()

	checks := []struct {
		name     string
		expected app.UI
		path     []int
	}{
		{
			name:     "root carries the readiness marker, false on the server",
			expected: app.Div().ID("root").Class("shell").DataSet("mounted", false),
			path:     []int{0},
		},
		{
			name:     "title",
			expected: app.Text("chatapp"),
			path:     []int{0, 0, 0, 1},
		},
		{
			name: "status element",
			expected: app.Span().
				ID("status").
				Class("status").
				DataSet("state", "offline").
				Role("status"),
			path: statusPath,
		},
		{
			name:     "status text",
			expected: app.Text("offline"),
			path:     append(append([]int(nil), statusPath...), 0),
		},
	}
	for _, c := range checks {
		if err := app.Match(c.expected, s, c.path...); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// OnMount never runs in the test engine (it is a server build), so call it
// directly, as the browser would, and check the re-rendered root.
func TestShell_OnMountSetsMarker(t *testing.T) {
	t.Parallel()

	s := &Shell{}
	s.OnMount(app.Context{})

	root := s.Render()
	want := app.Div().ID("root").Class("shell").DataSet("mounted", true)
	if err := app.Match(want, root); err != nil {
		t.Fatal(err)
	}
}

func TestRoutes_RegistersRoot(t *testing.T) {
	t.Parallel()

	// Routes is idempotent: calling it twice must not panic.
	Routes()
	Routes()
}
