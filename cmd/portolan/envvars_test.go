package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

func TestEnvVarName(t *testing.T) {
	assert.Equal(t, "PORTOLAN_LOG_LEVEL", envVarName(nil, "log-level"))
	assert.Equal(t, "PORTOLAN_A_B_C", envVarName(nil, "a-b-c"))
	assert.Equal(t, "PORTOLAN_EXPORT_TOKEN", envVarName([]string{"export"}, "token"))
	assert.Equal(t, "PORTOLAN_SWAGGER_SELECT_OUTPUT", envVarName([]string{"swagger", "select"}, "output"))
	assert.Equal(t, "PORTOLAN_HOME", envVarName([]string{"token", "create"}, "home"), "shared outside the daemons")
	assert.Equal(t, "PORTOLAN_AGENT_HOME", envVarName([]string{"agent"}, "home"), "the daemons share nothing")
	assert.Equal(t, "PORTOLAN_COORDINATOR_DATA_DIR", envVarName([]string{"coordinator"}, "data-dir"))
}

// customFlag is a flag type withEnv does not list; it is handled through
// its (promoted) EnvVars field.
type customFlag struct{ cli.StringFlag }

// bareFlag has no EnvVars field.
type bareFlag struct{}

func (bareFlag) String() string            { return "bare" }
func (bareFlag) Apply(*flag.FlagSet) error { return nil }
func (bareFlag) Names() []string           { return []string{"bare"} }
func (bareFlag) IsSet() bool               { return false }

func envVarsOf(t *testing.T, f cli.Flag) []string {
	t.Helper()
	ev, ok := f.(interface{ GetEnvVars() []string })
	require.True(t, ok, "%T has no GetEnvVars", f)
	return ev.GetEnvVars()
}

func TestWithEnvNamesEveryFlagType(t *testing.T) {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Aliases: []string{"d"}},
		&cli.StringSliceFlag{Name: "label"},
		&cli.IntFlag{Name: "max-conns"},
		&cli.BoolFlag{Name: "dry-run"},
		&cli.DurationFlag{Name: "heartbeat-interval"},
		&cli.Int64Flag{Name: "max-bytes"},
		&cli.Uint64Flag{Name: "revision"},
		&cli.UintFlag{Name: "port"},
		&cli.Float64Flag{Name: "ratio"},
		&cli.PathFlag{Name: "config-file"},
		&cli.IntSliceFlag{Name: "codes"},
		&cli.TimestampFlag{Name: "since", Layout: time.RFC3339},
		&cli.GenericFlag{Name: "mode"},
		&customFlag{cli.StringFlag{Name: "custom-thing"}},
	}
	got := withEnv([]string{"probe", "sub"}, flags)
	require.Len(t, got, len(flags))
	for _, f := range got {
		want := "PORTOLAN_PROBE_SUB_" + strings.ToUpper(strings.ReplaceAll(f.Names()[0], "-", "_"))
		assert.Equal(t, []string{want}, envVarsOf(t, f), "flag %s", f.Names()[0])
	}
}

func TestWithEnvKeepsExistingAddsConsulAndIsIdempotent(t *testing.T) {
	addr := &cli.StringFlag{Name: "consul"}
	tok := &cli.StringFlag{Name: "consul-token", EnvVars: []string{"CONSUL_HTTP_TOKEN"}}
	for range 2 {
		withEnv([]string{"agent"}, []cli.Flag{addr, tok})
	}
	assert.Equal(t, []string{"PORTOLAN_AGENT_CONSUL", "CONSUL_HTTP_ADDR"}, addr.EnvVars)
	assert.Equal(t, []string{"PORTOLAN_AGENT_CONSUL_TOKEN", "CONSUL_HTTP_TOKEN"}, tok.EnvVars)

	// map's --consul switches the source: CONSUL_HTTP_ADDR must not.
	mapAddr := &cli.StringFlag{Name: "consul"}
	withEnv([]string{"map"}, []cli.Flag{mapAddr})
	assert.Equal(t, []string{"PORTOLAN_MAP_CONSUL"}, mapAddr.EnvVars)
}

func TestWithEnvPanicsWithoutEnvVarsField(t *testing.T) {
	assert.PanicsWithValue(t, `withEnv: flag "bare" of type main.bareFlag has no EnvVars field`, func() {
		withEnv(nil, []cli.Flag{bareFlag{}})
	})
}

func TestWithEnvCommandsRecurses(t *testing.T) {
	leaf := &cli.StringFlag{Name: "listen-addr"}
	mid := &cli.BoolFlag{Name: "all"}
	top := &cli.DurationFlag{Name: "wait"}
	cmds := []*cli.Command{{
		Name:  "top",
		Flags: []cli.Flag{top},
		Subcommands: []*cli.Command{{
			Name:        "mid",
			Flags:       []cli.Flag{mid},
			Subcommands: []*cli.Command{{Name: "leaf", Flags: []cli.Flag{leaf}}},
		}},
	}, nil}
	withEnvCommands(cmds)
	assert.Equal(t, []string{"PORTOLAN_TOP_WAIT"}, top.EnvVars)
	assert.Equal(t, []string{"PORTOLAN_TOP_MID_ALL"}, mid.EnvVars)
	assert.Equal(t, []string{"PORTOLAN_TOP_MID_LEAF_LISTEN_ADDR"}, leaf.EnvVars)
}

// appFlag is one flag of newApp's tree and the command path it is in.
type appFlag struct {
	path string
	flag cli.Flag
}

// appFlags walks every flag of app, global ones under "portolan".
func appFlags(app *cli.App) []appFlag {
	var out []appFlag
	for _, f := range app.Flags {
		out = append(out, appFlag{"portolan", f})
	}
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := path + " " + c.Name
			for _, f := range c.Flags {
				out = append(out, appFlag{p, f})
			}
			walk(p, c.Subcommands)
		}
	}
	walk("portolan", app.Commands)
	return out
}

// flagMeaning is what two flags reading one variable must share: type and
// usage.
func flagMeaning(f cli.Flag) string {
	usage := ""
	if d, ok := f.(cli.DocGenerationFlag); ok {
		usage = d.GetUsage()
	}
	return fmt.Sprintf("%s %s", reflect.TypeOf(f), usage)
}

// TestEnvVarsDoNotCollide walks every flag of every command: each (but the
// one-shot ones) reads its
// PORTOLAN_* variable, and a variable read by two flags is allowed only for
// the shared flags, and only when they mean the same (same type and usage).
// Consul's variables mean what Consul says wherever they are read.
func TestEnvVarsDoNotCollide(t *testing.T) {
	readers := map[string][]appFlag{}
	for _, af := range appFlags(newApp()) {
		if af.flag == cli.HelpFlag || af.flag == cli.VersionFlag || slices.Contains(commandLineOnly, af.flag.Names()[0]) {
			continue // TestOneShotFlagsReadNoEnvironment
		}
		vars := envVarsOf(t, af.flag)
		require.NotEmpty(t, vars, "%s --%s reads no variable", af.path, af.flag.Names()[0])
		assert.True(t, strings.HasPrefix(vars[0], envPrefix), "%s --%s: first variable %s", af.path, af.flag.Names()[0], vars[0])
		for _, v := range vars {
			readers[v] = append(readers[v], af)
		}
	}
	for v, fs := range readers {
		if len(fs) < 2 || strings.HasPrefix(v, "CONSUL_") || isDaemonAddrEnvVar(v) {
			continue
		}
		name := fs[0].flag.Names()[0]
		require.Contains(t, sharedFlagNames, name, "%s is read by %d flags but --%s is not shared", v, len(fs), name)
		for _, af := range fs[1:] {
			assert.Equal(t, name, af.flag.Names()[0], "%s: %s", v, af.path)
			assert.Equal(t, flagMeaning(fs[0].flag), flagMeaning(af.flag), "%s means one thing in %s and another in %s", v, fs[0].path, af.path)
			assert.False(t, slices.Contains(daemonCommands, strings.Fields(af.path)[1]), "%s read by daemon %s", v, af.path)
		}
	}
	// The two collisions of issue 17.
	for v, want := range map[string][]string{
		"PORTOLAN_SWAGGER_SELECT_OUTPUT": {"portolan swagger select"},
		"PORTOLAN_MAP_OUTPUT":            {"portolan map"},
		"PORTOLAN_MAP_TOKEN":             {"portolan map"},
		"PORTOLAN_EXPORT_TOKEN":          {"portolan export"},
		"PORTOLAN_AGENT_TOKEN":           {"portolan agent"},
	} {
		var got []string
		for _, af := range readers[v] {
			got = append(got, af.path)
		}
		assert.Equal(t, want, got, v)
	}
	assert.Empty(t, readers["PORTOLAN_OUTPUT"])
	assert.Empty(t, readers["PORTOLAN_TOKEN"])
}

// PORTOLAN_MAP_OUTPUT, set for map, no longer names swagger select's output
// file: swagger select writes to standard output.
func TestEnvOfOneCommandDoesNotReachAnother(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("PORTOLAN_MAP_OUTPUT", "json")
	spec := filepath.Join(dir, "spec.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"a","responses":{"200":{"description":"ok"}}}}}}`), 0o600))
	app, stdout, stderr := testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "swagger", "select", spec}), stderr.String())
	assert.Contains(t, stdout.String(), `"operationId"`)
	_, err := os.Stat(filepath.Join(dir, "json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no file named json")

	t.Setenv("PORTOLAN_SWAGGER_SELECT_OUTPUT", filepath.Join(dir, "out.json"))
	app, _, stderr = testApp(nil)
	require.NoError(t, app.Run([]string{"portolan", "swagger", "select", spec}), stderr.String())
	assert.FileExists(t, filepath.Join(dir, "out.json"))
}

func TestFlagEnvVarNamesTheCommandsVariable(t *testing.T) {
	var got string
	app := newApp()
	app.Commands = append(app.Commands, withEnvCommands([]*cli.Command{{
		Name:   "probe",
		Flags:  []cli.Flag{&cli.StringFlag{Name: "token"}},
		Action: func(c *cli.Context) error { got = flagEnvVar(c, "token"); return nil },
	}})...)
	require.NoError(t, app.Run([]string{"portolan", "probe"}))
	assert.Equal(t, "PORTOLAN_PROBE_TOKEN", got)
}

// notFlagVars are PORTOLAN_* names in the docs and deploy files that are not
// flag variables: build arguments, compose interpolations, test settings,
// CI secret names.
var notFlagVars = []string{
	"PORTOLAN_BIN", "PORTOLAN_AGENT_BIN", "PORTOLAN_CONSUL_BIN", "PORTOLAN_HELM_BIN", "PORTOLAN_3SCALE_DIR", "PORTOLAN_IMAGE",
	"PORTOLAN_JOIN_TOKEN_BASIC", "PORTOLAN_JOIN_TOKEN_PREMIUM", "PORTOLAN_COMPOSE_PORT", "PORTOLAN_COMPOSE_IMAGE", "PORTOLAN_COMPOSE_NEWSAPI_IMAGE", "PORTOLAN_ADMIN_TOKEN",
}

// TestDocsNameRealEnvVars reads README.md, deploy/ and examples/: every
// PORTOLAN_* variable they name is one a flag reads (or a known non-flag
// name), so that a renamed variable cannot linger in a compose file.
func TestDocsNameRealEnvVars(t *testing.T) {
	known := map[string]bool{}
	for _, af := range appFlags(newApp()) {
		if ev, ok := af.flag.(interface{ GetEnvVars() []string }); ok {
			for _, v := range ev.GetEnvVars() {
				known[v] = true
			}
		}
	}
	for _, v := range notFlagVars {
		known[v] = true
	}
	root := filepath.Join("..", "..")
	files := []string{filepath.Join(root, "README.md")}
	for _, dir := range []string{"deploy", "examples"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch ext := filepath.Ext(p); {
			case ext == ".go", ext == ".json", ext == ".sum", ext == ".mod":
				return nil
			}
			files = append(files, p)
			return nil
		}))
	}
	name := regexp.MustCompile(`PORTOLAN_[A-Z0-9_]+`)
	checked := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, v := range name.FindAllString(string(data), -1) {
			if strings.HasSuffix(v, "_") { // a prefix: PORTOLAN_AGENT_<FLAG>
				continue
			}
			checked++
			assert.True(t, known[v], "%s names %s, which no flag reads", p, v)
		}
	}
	assert.Greater(t, checked, 20, "the files name the variables they set")
}

// isDaemonAddrEnvVar reports whether v is a daemon's address that status
// reads too (daemonAddrEnvVars).
func isDaemonAddrEnvVar(v string) bool {
	for _, byFlag := range daemonAddrEnvVars {
		for _, env := range byFlag {
			if env == v {
				return true
			}
		}
	}
	return false
}

// A flag that acts once on purpose reads no environment variable: left in a
// container's environment, PORTOLAN_COORDINATOR_START_EMPTY would start
// home empty after any later loss of its composition instead of refusing.
func TestOneShotFlagsReadNoEnvironment(t *testing.T) {
	var seen int
	eachCommand(nil, newApp().Commands, func(path []string, cmd *cli.Command) {
		for _, f := range cmd.Flags {
			if slices.Contains(commandLineOnly, f.Names()[0]) {
				seen++
				field, ok := flagField(f, "EnvVars", reflect.TypeOf([]string(nil)))
				require.True(t, ok)
				assert.Empty(t, field.Interface(), "%v --%s reads the environment", path, f.Names()[0])
			}
		}
	})
	assert.Positive(t, seen, "the coordinator has --start-empty")
}
