package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// esc is the first byte of every ANSI escape sequence.
const esc = "\x1b"

func TestLogFormatAutoFollowsTheTerminal(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	var buf bytes.Buffer
	l, err := newLogger(logFormatAuto, "info", &buf, false)
	require.NoError(t, err)
	l.Info().Msg("to a pipe")
	var ev map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &ev), "JSON when not a terminal: %q", buf.String())
	assert.Equal(t, "to a pipe", ev["message"])

	buf.Reset()
	l, err = newLogger(logFormatAuto, "info", &buf, true)
	require.NoError(t, err)
	l.Info().Msg("to a terminal")
	out := buf.String()
	assert.False(t, strings.HasPrefix(out, "{"), "console on a terminal: %q", out)
	assert.Contains(t, out, "to a terminal")
	assert.Contains(t, out, esc, "coloured on a terminal")
}

func TestNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	for _, format := range []string{logFormatAuto, logFormatConsole} {
		var buf bytes.Buffer
		l, err := newLogger(format, "info", &buf, true)
		require.NoError(t, err)
		l.Warn().Str("k", "v").Msg("plain")
		assert.Contains(t, buf.String(), "plain")
		assert.NotContains(t, buf.String(), esc, "%s with NO_COLOR: %q", format, buf.String())
	}
}

func TestConsoleNotOnATerminalHasNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	var buf bytes.Buffer
	l, err := newLogger(logFormatConsole, "info", &buf, false)
	require.NoError(t, err)
	l.Error().Msg("to a file")
	assert.Contains(t, buf.String(), "ERR")
	assert.NotContains(t, buf.String(), esc)
}

// The app's logs to a buffer (not a terminal) are JSON by default, and
// --log-format console still gives the console format, uncoloured.
func TestAppLogsJSONWhenNotATerminal(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	app, _, stderr := testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "probe"}))
	assert.Equal(t, []string{"info", "warn", "error"}, jsonLevels(t, stderr.String()))

	app, _, stderr = testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "--log-format", "console", "probe"}))
	assert.Contains(t, stderr.String(), "WRN")
	assert.NotContains(t, stderr.String(), esc)
}

// map's output, in every format, carries no escape sequence with NO_COLOR
// (nor without it: only --watch on a terminal clears the screen).
func TestMapOutputHasNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	_, srv := newFakeHome(t, testMap())
	for _, format := range []string{"table", "tree", "json", "dot"} {
		code, out, errOut := runMapCmd(t, "--home", srv.URL, "--token", "agent-token", "-o", format)
		require.Equal(t, 0, code, errOut)
		assert.NotEmpty(t, out, format)
		assert.NotContains(t, out, esc, format)
		assert.NotContains(t, errOut, esc, format)
	}
}
