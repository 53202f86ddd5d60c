package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
