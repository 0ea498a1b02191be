package main

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
)

// helpExample is the one example line of `chatapp --help`.
const helpExample = "chatapp --port 8080 --data /var/lib/chatapp --signup closed"

// printHelp is kong's help, except for `chatapp --help`. serve is the
// default command, so a first-time user running `chatapp --help` wants
// its flags (--port above all), which kong shows only under
// `chatapp serve --help`. The top-level help is therefore the serve help
// (the global flags and every serve flag, as kong formats them) under
// usage lines for both forms, then the other commands and an example.
// Hidden commands (conformance) stay out of both lists.
func printHelp(opts kong.HelpOptions, ctx *kong.Context) error {
	if ctx.Selected() != nil {
		return kong.DefaultHelpPrinter(opts, ctx)
	}
	serve, err := kong.Trace(ctx.Kong, []string{"serve"})
	if err != nil {
		return err
	}
	if serve.Error != nil || serve.Selected() == nil {
		return kong.DefaultHelpPrinter(opts, ctx)
	}
	w := ctx.Stdout
	fmt.Fprintf(w, "Usage: %[1]s [serve] [flags]\n       %[1]s <command> [flags]\n\n%s\n",
		ctx.Model.Name, wrap(ctx.Model.Help, helpWidth, ""))
	opts.NoAppSummary = true
	if err := kong.DefaultHelpPrinter(opts, serve); err != nil {
		return err
	}
	var rows [][2]string
	first := 0
	for _, n := range ctx.Model.Leaves(true) {
		name := strings.TrimSuffix(n.Summary(), " [flags]")
		rows = append(rows, [2]string{name, n.Help})
		first = max(first, len(name))
	}
	fmt.Fprintln(w, "\nCommands:")
	indent := strings.Repeat(" ", 2+first+2)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", first, r[0], wrap(r[1], helpWidth-len(indent), indent))
	}
	_, err = fmt.Fprintf(w, "\nExample:\n  %s\n\nRun \"%s <command> --help\" for more information on a command.\n",
		helpExample, ctx.Model.Name)
	return err
}

// helpWidth is the width the top-level help wraps its own text at, as
// kong does when the output is not a terminal.
const helpWidth = 80

// wrap breaks text into lines of at most width bytes at spaces, and
// starts every line after the first with indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
		case n+1+len(word) > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}
