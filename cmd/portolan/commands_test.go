package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/testenv"
)

// runApp runs newApp in-process and returns the exit code, standard output
// and standard error.
func runApp(args ...string) (code int, stdout, stderr string) {
	app, out, errBuf := testApp(nil)
	code = run(app, append([]string{"portolan"}, args...), errBuf)
	return code, out.String(), errBuf.String()
}

func TestMistypedCommandSuggests(t *testing.T) {
	code, stdout, stderr := runApp("mpa")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout, "no help page")
	assert.Equal(t, "portolan: unknown command \"mpa\": did you mean \"map\"?\nrun 'portolan --help' for the commands\n", stderr)

	code, _, stderr = runApp("swagger", "lsit", "spec.yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `portolan: swagger: unknown command "lsit": did you mean "list"?`)

	code, _, stderr = runApp("zzzzzz")
	assert.Equal(t, 2, code)
	assert.Equal(t, "portolan: unknown command \"zzzzzz\"\nrun 'portolan --help' for the commands\n", stderr, "nothing close: no guess")
}

func TestUnknownFlagIsThreeLines(t *testing.T) {
	code, stdout, stderr := runApp("map", "--foo")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout, "no help page")
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	require.Len(t, lines, 3, stderr)
	assert.Equal(t, "portolan: map: flag provided but not defined: -foo", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "usage: portolan map "), lines[1])
	assert.Equal(t, "run 'portolan map --help' for more", lines[2])

	_, _, stderr = runApp("map", "--hom", "x")
	assert.Contains(t, stderr, "portolan: map: flag provided but not defined: -hom (did you mean --home?)\n")

	_, _, stderr = runApp("coordinator", "--config", "x.yaml")
	assert.Contains(t, stderr, "portolan: coordinator: flag provided but not defined: -config (--config is a global option: give it before the command)\n")

	code, _, stderr = runApp("token", "create", "--bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "portolan: token create: flag provided but not defined: -bogus\nusage: portolan token create")
	assert.Contains(t, stderr, "run 'portolan token create --help' for more\n")

	code, _, stderr = runApp("--bogus", "map")
	assert.Equal(t, 2, code)
	assert.Equal(t, "portolan: flag provided but not defined: -bogus\nusage: portolan [global options] command [options] [arguments...]\nrun 'portolan --help' for more\n", stderr)
}

// A flag after a command's positional arguments (which those commands read
// there) is checked as one before them: three lines and exit status 2.
func TestUnknownFlagAfterArgumentsIsAUsageError(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "openapi", "spec.yaml", "--prefix"}, "portolan: import openapi: flag provided but not defined: -prefix\nusage: portolan import openapi FILE|URL "},
		{[]string{"import", "composition", "c.json", "--hom", "x"}, "portolan: import composition: flag provided but not defined: -hom (did you mean --home?)\nusage: portolan import composition "},
		{[]string{"token", "revoke", "0123abcd", "--hom", "x"}, "portolan: token revoke: flag provided but not defined: -hom (did you mean --home?)\nusage: portolan token revoke "},
		{[]string{"swagger", "list", "spec.yaml", "--inclde", "tag:x"}, "portolan: swagger list: flag provided but not defined: -inclde (did you mean --include?)\nusage: portolan swagger list SPEC "},
		{[]string{"swagger", "select", "spec.yaml", "--include"}, "portolan: swagger select: flag needs an argument: -include\nusage: portolan swagger select SPEC "},
	} {
		code, stdout, stderr := runApp(tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		assert.Empty(t, stdout, "%v", tc.args)
		assert.True(t, strings.HasPrefix(stderr, tc.want), "%v: want %q..., got %q", tc.args, tc.want, stderr)
		assert.Len(t, strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"), 3, "%v: %s", tc.args, stderr)
	}
}

// urfave/cli reads no flag after an argument, so a command that takes no
// argument refuses one (exit status 2) instead of ignoring the flags after
// it: `apply -f a.yaml b.yaml --dry-run` must not apply for real.
func TestStrayArgumentIsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "-f", "a.yaml", "b.yaml", "--dry-run"}, `portolan: apply: unexpected argument "b.yaml": give each file or directory with its own -f`},
		{[]string{"diff", "-f", "a.yaml", "b.yaml"}, `portolan: diff: unexpected argument "b.yaml"`},
		{[]string{"token", "create", "--token", "t", "news", "--ttl", "1h"}, `portolan: token create: unexpected argument "news": token create takes none`},
		{[]string{"token", "list", "--token", "t", "x"}, `portolan: token list: unexpected argument "x"`},
		{[]string{"export", "--token", "t", "x"}, `portolan: export: unexpected argument "x"`},
		{[]string{"gossip", "rotate-key", "--token", "t", "x"}, `portolan: gossip rotate-key: unexpected argument "x"`},
		{[]string{"coordinator", "x", "--listen", "0.0.0.0:7070"}, `portolan: coordinator: unexpected argument "x"`},
		{[]string{"tls", "ca", "create", "x"}, `portolan: tls ca create: unexpected argument "x"`},
		{[]string{"tls", "cert", "create", "x", "--server"}, `portolan: tls cert create: unexpected argument "x"`},
		{[]string{"status", "x", "--coordinator"}, `portolan: status: unexpected argument "x": status takes none`},
		{[]string{"map", "--token", "t", "x"}, `portolan: map: unexpected argument "x"`},
		{[]string{"import", "composition", "--token", "t"}, `portolan: import composition: want one FILE argument (- for standard input), got 0`},
		{[]string{"import", "composition", "--token", "t", "a.json", "b.json"}, `portolan: import composition: want one FILE argument (- for standard input), got 2`},
	} {
		code, stdout, stderr := runApp(tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		assert.Empty(t, stdout, "%v", tc.args)
		assert.True(t, strings.HasPrefix(stderr, tc.want), "%v: want %q..., got %q", tc.args, tc.want, stderr)
	}
}

// A command without subcommands shows no "command" in its usage line
// (urfave/cli gives every command a help subcommand of its own).
func TestUsageLineOfALeafCommandNamesNoSubcommand(t *testing.T) {
	code, _, stderr := runApp("coordinator", "--bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "\nusage: portolan coordinator [options]\n")
	_, _, stderr = runApp("gossip", "--bogus")
	assert.Contains(t, stderr, "\nusage: portolan gossip command [options]\n", "a command with subcommands keeps it")
}

// A value a flag cannot parse is answered with what the flag wants, not the
// flag package's bare "parse error".
func TestBadFlagValueSaysWhatTheFlagWants(t *testing.T) {
	code, _, stderr := runApp("token", "create", "--ttl", "1d")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `portolan: token create: invalid value "1d" for flag -ttl: want a duration with its unit, e.g. 500ms, 30s, 5m or 24h`)
	_, _, stderr = runApp("map", "--limit", "ten")
	assert.Contains(t, stderr, `portolan: map: invalid value "ten" for flag -limit: want a whole number`)
	code, _, stderr = runApp("import", "openapi", "spec.yaml", "--timeout", "3")
	assert.Equal(t, 2, code, "after the arguments too")
	assert.Contains(t, stderr, `invalid value "3" for flag -timeout: want a duration`)
}

// urfave/cli takes a back-quoted word of a flag's usage as the placeholder
// of its value, which garbles the help line ("--gossip-key-grace portolan
// gossip rotate-key"): no flag's usage has one.
func TestFlagUsagesHaveNoBackquotes(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			for _, f := range cmd.Flags {
				if df, ok := f.(cli.DocGenerationFlag); ok {
					assert.NotContains(t, df.GetUsage(), "`", "%s %s --%s", path, cmd.Name, f.Names()[0])
				}
			}
			walk(path+" "+cmd.Name, cmd.Subcommands)
		}
	}
	walk("portolan", newApp().Commands)
}

func TestNoArgumentsShowsHelp(t *testing.T) {
	code, stdout, stderr := runApp()
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "COMMANDS:")
	code, stdout, _ = runApp("swagger")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "select")
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"map", "map", 0}, {"mpa", "map", 1}, {"hom", "home", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}} {
		assert.Equal(t, tc.d, editDistance(tc.a, tc.b), "%s/%s", tc.a, tc.b)
	}
	assert.Equal(t, "map", closest("mpa", []string{"agent", "map", "apply"}))
	assert.Equal(t, "", closest("x", []string{"agent", "map"}))
}

// The binary answers a mistyped command the same way.
func TestBinaryUsageErrors(t *testing.T) {
	bin := testenv.Binary(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "mpa")
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, stderr.String(), `did you mean "map"?`)
}
