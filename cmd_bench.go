package main

import (
	"os"

	"chatapp/bench"
)

// benchCmd is `chatapp bench`: the load generator of package bench.
type benchCmd struct {
	bench.Options `embed:""`
}

// Run runs the scenario against --url. The table (or the --json line)
// goes to stdout; the progress line, when stderr is a terminal, to stderr.
func (cmd *benchCmd) Run(e *env) error {
	return bench.Run(e.ctx, cmd.Options, e.stdout, os.Stderr)
}
