package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// configFileAt writes content to a file of mode perm and returns its path.
func configFileAt(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "portolan.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	require.NoError(t, os.Chmod(p, perm)) // whatever the umask
	return p
}

// configProbe runs newApp with a "probe" command (flags --listen, --label
// repeatable, --home shared) under `--config file` and the given args, and
// returns what the command saw.
func configProbe(t *testing.T, file string, args ...string) (seen map[string]any, code int, stderr string) {
	t.Helper()
	seen = map[string]any{}
	app, _, errBuf := testApp(nil)
	app.Commands = append(app.Commands, withConfigCommands(withEnvCommands([]*cli.Command{{
		Name: "probe",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "default"},
			&cli.StringSliceFlag{Name: "label"},
			&cli.StringFlag{Name: "home"},
			&cli.BoolFlag{Name: "dry-run"},
		},
		Action: func(c *cli.Context) error {
			seen["listen"], seen["label"], seen["home"], seen["dry-run"] = c.String("listen"), c.StringSlice("label"), c.String("home"), c.Bool("dry-run")
			seen["log-level"] = c.String(flagLogLevel)
			return nil
		},
	}}))...)
	code = run(app, append([]string{"portolan", "--config", file, "probe"}, args...), errBuf)
	return seen, code, errBuf.String()
}

func TestConfigFileValuesApplied(t *testing.T) {
	file := configFileAt(t, `
log-level: warn
home: https://home.example:7070
probe:
  listen: 0.0.0.0:9
  label: [pool=a, tier=b]
  dry-run: true
`, 0o644)
	seen, code, stderr := configProbe(t, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "0.0.0.0:9", seen["listen"])
	assert.Equal(t, []string{"pool=a", "tier=b"}, seen["label"])
	assert.Equal(t, "https://home.example:7070", seen["home"], "a shared flag at the top level")
	assert.Equal(t, true, seen["dry-run"])
	assert.Equal(t, "warn", seen["log-level"], "a global flag at the top level")
}

func TestConfigFileSectionBeatsTopLevel(t *testing.T) {
	file := configFileAt(t, "home: https://top:1\nprobe:\n  home: https://section:2\n", 0o600)
	seen, code, stderr := configProbe(t, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "https://section:2", seen["home"])
}

func TestConfigFileFlagAndEnvWin(t *testing.T) {
	file := configFileAt(t, "home: https://file:1\nprobe:\n  listen: file\n  label: [from=file]\n", 0o600)
	seen, code, stderr := configProbe(t, file, "--listen", "flag", "--label", "from=flag")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "flag", seen["listen"])
	assert.Equal(t, []string{"from=flag"}, seen["label"])
	assert.Equal(t, "https://file:1", seen["home"])

	t.Setenv("PORTOLAN_PROBE_LISTEN", "env")
	t.Setenv("PORTOLAN_HOME", "https://env:2")
	seen, code, stderr = configProbe(t, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "env", seen["listen"])
	assert.Equal(t, "https://env:2", seen["home"])
	assert.Equal(t, []string{"from=file"}, seen["label"])
}

func TestConfigFileFromEnv(t *testing.T) {
	t.Setenv("PORTOLAN_CONFIG", configFileAt(t, "probe:\n  listen: via-env\n", 0o600))
	app, _, errBuf := testApp(nil)
	var got string
	app.Commands = append(app.Commands, withConfigCommands([]*cli.Command{{
		Name: "probe", Flags: []cli.Flag{&cli.StringFlag{Name: "listen"}},
		Action: func(c *cli.Context) error { got = c.String("listen"); return nil },
	}})...)
	require.Equal(t, 0, run(app, []string{"portolan", "probe"}, errBuf), errBuf.String())
	assert.Equal(t, "via-env", got)
}

func TestConfigFileErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		content string
		perm    os.FileMode
		want    []string
	}{
		"unknown top-level key":       {"home: x\nlisten: y\n", 0o600, []string{"line 2", `unknown key "listen"`, "not a flag of portolan"}},
		"unknown key in a section":    {"probe:\n  listen: a\n  lisen: b\n", 0o600, []string{"line 3", `unknown key "lisen"`, "not a flag of portolan probe"}},
		"unknown key in a subcommand": {"swagger:\n  select:\n    outptu: x\n", 0o600, []string{"line 3", `unknown key "outptu"`, "portolan swagger select"}},
		"bad YAML":                    {"probe:\n  listen: a\n   bad: [\n", 0o600, []string{"line 3"}},
		"not a mapping":               {"- a\n- b\n", 0o600, []string{"line 1", "want a mapping"}},
		"section not a mapping":       {"probe: 3\n", 0o600, []string{"line 1", "probe: want a mapping"}},
		"nested value":                {"probe:\n  listen: {a: b}\n", 0o600, []string{"line 2", "listen: want a value"}},
		"bad value":                   {"probe:\n  dry-run: maybe\n", 0o600, []string{"line 2", "dry-run", `"maybe"`}},
		"secret readable by all":      {"agent:\n  token: s3cret\n", 0o644, []string{"line 2", "holds a secret (token)", "readable by everyone", "--token-file"}},
	} {
		t.Run(name, func(t *testing.T) {
			file := configFileAt(t, tc.content, tc.perm)
			_, code, stderr := configProbe(t, file)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, stderr, "--config "+file)
			for _, w := range tc.want {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "s3cret")
		})
	}
}

func TestConfigFileSecretAllowedWhenPrivate(t *testing.T) {
	file := configFileAt(t, "agent:\n  token: s3cret\nprobe:\n  listen: x\n", 0o600)
	seen, code, stderr := configProbe(t, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "x", seen["listen"])
}

func TestConfigFileMissing(t *testing.T) {
	_, code, stderr := configProbe(t, filepath.Join(t.TempDir(), "absent.yaml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--config")
	assert.Contains(t, stderr, "absent.yaml")
}

func TestConfigFileEmptyIsFine(t *testing.T) {
	seen, code, stderr := configProbe(t, configFileAt(t, "# nothing yet\n", 0o600))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "default", seen["listen"])
}

// The top-level home is the client commands': it does not reach a daemon
// (as PORTOLAN_HOME does not), whose own section does.
func TestConfigFileTopLevelSkipsDaemons(t *testing.T) {
	var got []string
	daemon := func() *cli.Command {
		return &cli.Command{
			Name: "agent", Flags: []cli.Flag{&cli.StringFlag{Name: "home"}, &cli.StringFlag{Name: "service"}},
			Action: func(c *cli.Context) error { got = []string{c.String("home"), c.String("service")}; return nil },
		}
	}
	for _, tc := range []struct {
		content string
		want    []string
	}{
		{"home: https://client:1\nagent:\n  service: news\n", []string{"", "news"}},
		{"home: https://client:1\nagent:\n  home: https://daemon:2\n", []string{"https://daemon:2", ""}},
	} {
		var errBuf bytes.Buffer
		app := &cli.App{
			Name: "portolan", Writer: &bytes.Buffer{}, ErrWriter: &errBuf, ExitErrHandler: func(*cli.Context, error) {},
			Flags: withEnv(nil, globalFlags()), Before: setupConfig,
			Commands: withConfigCommands([]*cli.Command{daemon()}),
		}
		file := configFileAt(t, tc.content, 0o600)
		require.Equal(t, 0, run(app, []string{"portolan", "--config", file, "agent"}, &errBuf), errBuf.String())
		assert.Equal(t, tc.want, got, tc.content)
	}
}

// The real tree: swagger select's section, nested, reaches its flags.
func TestConfigFileRealCommands(t *testing.T) {
	file := configFileAt(t, "home: https://client:1\nswagger:\n  select:\n    include: ['op:a']\n", 0o600)
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"a","responses":{"200":{"description":"ok"}}}},"/b":{"get":{"operationId":"b","responses":{"200":{"description":"ok"}}}}}}`), 0o600))
	app, stdout, stderr := testApp(nil)
	require.Equal(t, 0, run(app, []string{"portolan", "--config", file, "swagger", "select", spec}, stderr), stderr.String())
	assert.Contains(t, stdout.String(), `"a"`)
	assert.NotContains(t, stdout.String(), `"b"`)
}

// The token command's section (a mapping) is no secret: a config file
// holding it may be readable by everyone.
func TestConfigTokenCommandSectionIsNoSecret(t *testing.T) {
	cfg := configFileAt(t, "token:\n  create:\n    ttl: 24h\n    service: news\n", 0o644)
	code, _, stderr := runApp("--config", cfg, "version")
	assert.Equal(t, 0, code, stderr)
}
