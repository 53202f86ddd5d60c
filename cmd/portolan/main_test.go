package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/testenv"
)

// testApp returns newApp() writing to buffers, with an extra "probe"
// command whose action is given.
func testApp(action cli.ActionFunc) (app *cli.App, stdout, stderr *bytes.Buffer) {
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	app = newApp()
	app.Writer, app.ErrWriter = stdout, stderr
	if action != nil {
		app.Commands = append(app.Commands, &cli.Command{Name: "probe", Action: action})
	}
	return app, stdout, stderr
}

// logProbe logs one event at each level through loggerFrom.
func logProbe(c *cli.Context) error {
	l := loggerFrom(c)
	l.Debug().Msg("d")
	l.Info().Msg("i")
	l.Warn().Msg("w")
	l.Error().Msg("e")
	return nil
}

// jsonLevels decodes JSON log lines and returns their levels.
func jsonLevels(t *testing.T, out string) []string {
	t.Helper()
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &ev), "line %q", line)
		levels = append(levels, ev["level"].(string))
	}
	return levels
}

func TestVersion(t *testing.T) {
	old := version
	version = "1.2.3-test"
	t.Cleanup(func() { version = old })

	app, stdout, _ := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "--version"}))
	assert.Equal(t, "portolan version 1.2.3-test\n", stdout.String())
}

func TestHelpListsGlobalFlags(t *testing.T) {
	app, stdout, _ := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "--help"}))
	out := stdout.String()
	assert.Contains(t, out, "portolan")
	assert.Contains(t, out, "--log-format")
	assert.Contains(t, out, "--log-level")
	assert.Contains(t, out, "PORTOLAN_LOG_LEVEL")
}

func TestDefaultLoggerIsJSONInfo(t *testing.T) {
	app, _, stderr := testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "probe"}))
	assert.Equal(t, []string{"info", "warn", "error"}, jsonLevels(t, stderr.String()))
}

func TestFlagsSetLogger(t *testing.T) {
	app, _, stderr := testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "--log-level", "warn", "probe"}))
	assert.Equal(t, []string{"warn", "error"}, jsonLevels(t, stderr.String()))

	app, _, stderr = testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "--log-format", "console", "--log-level", "error", "probe"}))
	out := stderr.String()
	assert.Contains(t, out, "ERR")
	assert.NotContains(t, out, "WRN")
	assert.False(t, strings.HasPrefix(strings.TrimSpace(out), "{"), "console output, got %q", out)
}

func TestEnvSetsFlag(t *testing.T) {
	t.Setenv("PORTOLAN_LOG_LEVEL", "debug")
	t.Setenv("PORTOLAN_LOG_FORMAT", "json")
	app, _, stderr := testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "probe"}))
	assert.Equal(t, []string{"debug", "info", "warn", "error"}, jsonLevels(t, stderr.String()))
}

func TestEnvBadLevelIsAnError(t *testing.T) {
	t.Setenv("PORTOLAN_LOG_LEVEL", "bogus")
	app, _, _ := testApp(nil)
	err := app.Run([]string{"portolan"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bogus")
}

func TestEnvBadFormatIsAnError(t *testing.T) {
	t.Setenv("PORTOLAN_LOG_FORMAT", "xml")
	app, _, _ := testApp(logProbe)
	err := app.Run([]string{"portolan", "probe"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"xml"`)
}

func TestCommandLineBeatsEnv(t *testing.T) {
	t.Setenv("PORTOLAN_LOG_LEVEL", "bogus")
	app, _, stderr := testApp(logProbe)
	require.NoError(t, app.Run([]string{"portolan", "--log-level", "error", "probe"}))
	assert.Equal(t, []string{"error"}, jsonLevels(t, stderr.String()))
}

func TestRunExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	app, _, _ := testApp(func(*cli.Context) error { return cli.Exit("boom", 3) })
	assert.Equal(t, 3, run(app, []string{"portolan", "probe"}, &stderr))
	assert.Equal(t, "portolan: boom\n", stderr.String())

	stderr.Reset()
	app, _, _ = testApp(func(*cli.Context) error { return errors.New("plain") })
	assert.Equal(t, 1, run(app, []string{"portolan", "probe"}, &stderr))
	assert.Equal(t, "portolan: plain\n", stderr.String())

	stderr.Reset()
	app, _, _ = testApp(logProbe)
	assert.Equal(t, 1, run(app, []string{"portolan", "--log-level", "loud", "probe"}, &stderr))
	assert.Contains(t, stderr.String(), `portolan: invalid log level "loud"`)

	stderr.Reset()
	app, _, _ = testApp(nil)
	assert.Equal(t, 0, run(app, []string{"portolan", "--version"}, &stderr))
	assert.Empty(t, stderr.String())
}

func TestNewLoggerRejectsBadValues(t *testing.T) {
	var buf bytes.Buffer
	_, err := newLogger("xml", "info", &buf, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"xml"`)

	_, err = newLogger("json", "verbose", &buf, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"verbose"`)

	_, err = newLogger("", "info", &buf, false)
	require.Error(t, err)
	_, err = newLogger("json", "", &buf, false)
	require.Error(t, err)
}

func TestNewLoggerLevelsAndFormats(t *testing.T) {
	for name, want := range map[string]zerolog.Level{
		"debug": zerolog.DebugLevel, "info": zerolog.InfoLevel,
		"warn": zerolog.WarnLevel, "ERROR": zerolog.ErrorLevel,
	} {
		l, err := newLogger("json", name, &bytes.Buffer{}, false)
		require.NoError(t, err, name)
		assert.Equal(t, want, l.GetLevel(), name)
	}

	var buf bytes.Buffer
	l, err := newLogger("json", "info", &buf, false)
	require.NoError(t, err)
	l.Debug().Msg("hidden")
	l.Info().Str("k", "v").Msg("shown")
	var ev map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &ev))
	assert.Equal(t, "shown", ev["message"])
	assert.Equal(t, "v", ev["k"])
	assert.Contains(t, ev, "time")

	buf.Reset()
	l, err = newLogger("console", "info", &buf, false)
	require.NoError(t, err)
	l.Info().Msg("hello")
	assert.Contains(t, buf.String(), "INF")
	assert.Contains(t, buf.String(), "hello")
}

func TestLoggerFromWithoutBefore(t *testing.T) {
	var buf bytes.Buffer
	app := &cli.App{ErrWriter: &buf}
	c := cli.NewContext(app, nil, nil)
	l := loggerFrom(c)
	l.Info().Msg("fallback")
	assert.Contains(t, buf.String(), `"message":"fallback"`)
}

// TestBinaryVersion runs the built binary when PORTOLAN_BIN names it
// (make test sets it).
func TestBinaryVersion(t *testing.T) {
	testenv.SkipShort(t)
	bin := os.Getenv("PORTOLAN_BIN")
	if bin == "" {
		t.Skip("PORTOLAN_BIN not set; run through make test")
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.HasPrefix(string(out), "portolan version "), "got %q", out)

	out, err = exec.Command(bin, "--log-level", "bogus").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, string(out), `portolan: invalid log level "bogus"`)
}

// A global flag before a command whose flags may follow its arguments is the
// app's, not the command's: it must not be refused as unknown.
func TestGlobalFlagWithInterspersedCommand(t *testing.T) {
	var stderr bytes.Buffer
	code := run(newApp(), []string{"portolan", "--log-level", "warn", "import", "composition",
		"/nonexistent/composition.json", "--token", "x"}, &stderr)
	assert.Equal(t, 1, code)
	assert.NotContains(t, stderr.String(), "no such flag")
	assert.Contains(t, stderr.String(), "/nonexistent/composition.json")
}

// A negative --gc-heap-floor stops the coordinator before it starts, naming
// the flag.
func TestCoordinatorRefusesANegativeHeapFloor(t *testing.T) {
	var stderr bytes.Buffer
	code := run(newApp(), []string{"portolan", "coordinator", "--data-dir", t.TempDir(), "--gc-heap-floor", "-1"}, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "--gc-heap-floor: -1 is negative (0 turns it off)")
}
