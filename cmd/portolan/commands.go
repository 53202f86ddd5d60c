package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// ctxOf returns the command's context, never nil.
func ctxOf(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}

// required fails on the first flag of names that is empty, naming it and
// its environment variable.
func required(c *cli.Context, names ...string) error {
	for _, n := range names {
		if c.String(n) == "" {
			return fmt.Errorf("--%s is required (or %s)", n, flagEnvVar(c, n))
		}
	}
	return nil
}

func contextWithTimeout(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctxOf(c), c.Duration("timeout"))
}

// noArguments refuses the arguments of a command that takes none: urfave/cli
// reads no flag after the first argument, so a flag there (a --ttl, a
// --service) would be silently ignored. Exit status 2, as a usage error.
func noArguments(c *cli.Context) error {
	if c.NArg() == 0 {
		return nil
	}
	name := strings.TrimPrefix(c.Command.HelpName, c.App.HelpName+" ")
	return cli.Exit(fmt.Sprintf("%s: unexpected argument %q: %s takes none, and reads no flag after one\nusage: %s", name, c.Args().First(), name, usageLine(c)), 2)
}

// withUsageErrors gives every command, and subcommand, the short answer to a
// usage error (usageError), and every command that only groups subcommands
// the answer to an unknown one (unknownCommand).
func withUsageErrors(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		if cmd == nil {
			continue
		}
		cmd.OnUsageError = usageError
		if len(cmd.Subcommands) > 0 && cmd.Action == nil {
			cmd.Action = unknownCommand
		}
		withUsageErrors(cmd.Subcommands)
	}
	return cmds
}

// isRoot tells whether c is the app's own context, not a command's.
func isRoot(c *cli.Context) bool {
	return c.Command == nil || c.Command.Name == c.App.Name
}

// usageError answers a flag the command does not know, or a bad value, in
// three lines instead of the whole help page: the error (with the closest
// flag when one is close), the command's usage line, and where to read more.
// It exits 2, as flag errors do elsewhere.
func usageError(c *cli.Context, err error, _ bool) error {
	name, flags, prefix := c.App.HelpName, c.App.Flags, ""
	if !isRoot(c) {
		name, flags, prefix = c.Command.HelpName, c.Command.Flags, strings.TrimPrefix(c.Command.HelpName, c.App.HelpName+" ")+": "
	}
	msg := err.Error()
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		if want := flagValueWant(flags, m[2]); want != "" {
			msg = m[1] + want
		}
	}
	if provided, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		word := strings.TrimLeft(provided, "-")
		if s := closest(word, names); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		} else if !isRoot(c) && c.App.Command(word) == nil && isGlobalFlag(c.App, word) {
			msg += fmt.Sprintf(" (--%s is a global option: give it before the command)", word)
		}
	}
	return cli.Exit(fmt.Sprintf("%s%s\nusage: %s\nrun '%s --help' for more", prefix, msg, usageLine(c), name), 2)
}

// badFlagValue is the flag package's error for a value its flag cannot
// parse, which says only "parse error".
var badFlagValue = regexp.MustCompile(`^(invalid value ".*" for flag -([a-z0-9-]+): )parse error$`)

// flagValueWant says what the flag name of flags takes, for a value it
// could not parse; "" when there is nothing better to say.
func flagValueWant(flags []cli.Flag, name string) string {
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		switch f.(type) {
		case *cli.DurationFlag:
			return "want a duration with its unit, e.g. 500ms, 30s, 5m or 24h (h is the largest unit)"
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
			return "want a whole number"
		}
	}
	return ""
}

// isGlobalFlag tells whether name is one of app's own flags.
func isGlobalFlag(app *cli.App, name string) bool {
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// usageLine is the one-line usage of c's command: the first line of its
// UsageText when it has one.
func usageLine(c *cli.Context) string {
	if isRoot(c) {
		return c.App.HelpName + " [global options] command [options] [arguments...]"
	}
	cmd := c.Command
	if cmd.UsageText != "" {
		first, _, _ := strings.Cut(strings.TrimSpace(cmd.UsageText), "\n")
		return first
	}
	line := cmd.HelpName
	for _, sub := range cmd.Subcommands {
		if sub.Name != "help" { // urfave/cli gives every command a help subcommand
			line += " command"
			break
		}
	}
	line += " [options]"
	if cmd.ArgsUsage != "" {
		line += " " + cmd.ArgsUsage
	}
	return line
}

// unknownCommand is the action of the app and of every command that only
// groups subcommands: alone it shows the help; with a word that names no
// command it says so, with the closest command when one is close.
func unknownCommand(c *cli.Context) error {
	name, cmds := c.App.HelpName, c.App.Commands
	if !isRoot(c) {
		name, cmds = c.Command.HelpName, c.Command.Subcommands
	}
	if c.NArg() == 0 {
		if isRoot(c) {
			return cli.ShowAppHelp(c)
		}
		return cli.ShowSubcommandHelp(c)
	}
	word := c.Args().First()
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden {
			names = append(names, cmd.Names()...)
		}
	}
	msg := fmt.Sprintf("%s: unknown command %q", strings.TrimPrefix(name, c.App.HelpName+" "), word)
	if isRoot(c) {
		msg = fmt.Sprintf("unknown command %q", word)
		if fullBuildOnly(word) {
			return cli.Exit(fmt.Sprintf("%s: this is the agent build of portolan; %q is in the full build (the portolan binary and image)", msg, word), 2)
		}
	}
	if s := closest(word, names); s != "" {
		msg += fmt.Sprintf(": did you mean %q?", s)
	}
	return cli.Exit(fmt.Sprintf("%s\nrun '%s --help' for the commands", msg, name), 2)
}

// closest is the name nearest to word within a small edit distance (one
// edit per three letters, at least one, a swap of two neighbours counting
// one), "" when none is that near.
func closest(word string, names []string) string {
	best, bestDist := "", max(1, len(word)/3)+1
	for _, n := range names {
		if d := editDistance(word, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
