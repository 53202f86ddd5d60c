package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// notInAgentBuild are the packages the agent build must not link: the
// coordinator's side, libopenapi and its validator (whose JSON Schema
// compiler alone allocates 1.7 MB at start), bbolt, and the tz database.
var notInAgentBuild = []string{
	"github.com/portolan/portolan/coordinator",
	"github.com/portolan/portolan/console",
	"github.com/portolan/portolan/threescale",
	"github.com/portolan/portolan/usage",
	"github.com/portolan/portolan/composition/boltstore",
	"github.com/portolan/portolan/composition/consulstore",
	"github.com/portolan/portolan/swagger/openapischema",
	"github.com/pb33f/",
	"go.etcd.io/bbolt",
	"time/tzdata",
}

func TestAgentBuildLinksNoCoordinatorNorLibopenapi(t *testing.T) {
	deps := func(tags string) []string {
		out, err := exec.Command("go", "list", "-tags", tags, "-deps", "github.com/portolan/portolan/cmd/portolan").CombinedOutput()
		require.NoError(t, err, "go list -deps: %s", out)
		return strings.Fields(string(out))
	}
	linked := func(pkgs []string, prefix string) bool {
		for _, p := range pkgs {
			if p == prefix || strings.HasPrefix(p, prefix+"/") || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(p, prefix)) {
				return true
			}
		}
		return false
	}
	agent, full := deps("urfave_cli_no_docs,agentonly"), deps("urfave_cli_no_docs")
	for _, p := range notInAgentBuild {
		assert.False(t, linked(agent, p), "the agent build links %s again: see who imports it with go list -tags agentonly -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/portolan", p)
		assert.True(t, linked(full, p), "the full build no longer links %s: drop it from this list", p)
	}
	for _, p := range []string{"github.com/portolan/portolan/agent", "github.com/portolan/portolan/agent/mgmt", "github.com/portolan/portolan/swagger"} {
		assert.True(t, linked(agent, p), p)
	}
}

// The agent build answers as the agent build: its commands, its version,
// and where a command of the full build is.
func TestAgentBuildCommands(t *testing.T) {
	bin := testenv.AgentBinary(t)
	run := func(args ...string) (code int, stdout, stderr string) {
		cmd := exec.Command(bin, args...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &exit)
			code = exit.ExitCode()
		}
		return code, out.String(), errb.String()
	}

	code, help, _ := run("--help")
	require.Equal(t, 0, code)
	var listed []string
	section := help[strings.Index(help, "COMMANDS:")+len("COMMANDS:") : strings.Index(help, "GLOBAL OPTIONS:")]
	for line := range strings.Lines(section) {
		if f := strings.Fields(line); len(f) > 0 {
			listed = append(listed, strings.TrimSuffix(f[0], ","))
		}
	}
	assert.Equal(t, []string{"agent", "status", "map", "version", "completion", "help"}, listed)

	code, out, stderr := run("version", "--json")
	require.Equal(t, 0, code, stderr)
	var v versionInfo
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.Equal(t, "agent", v.Build)

	// Every command of the full build is here or named as the full build's.
	inAgent := map[string]bool{}
	for _, c := range listed {
		inAgent[c] = true
	}
	for _, c := range commands() {
		if inAgent[c.Name] {
			continue
		}
		code, _, stderr := run(c.Name)
		assert.Equal(t, 2, code, c.Name)
		assert.Contains(t, stderr, `"`+c.Name+`" is in the full build`, c.Name)
	}

	code, _, stderr = run("status", "--coordinator")
	assert.Equal(t, statusUnknown, code)
	assert.Contains(t, stderr, "this is the agent build of portolan")

	// A --config file both builds read: the full build's sections are
	// skipped, a misspelt one is still an error.
	dir := t.TempDir()
	both := filepath.Join(dir, "both.yaml")
	require.NoError(t, os.WriteFile(both, []byte("log-level: warn\ncoordinator:\n  listen: 127.0.0.1:7070\nagent:\n  service: news\n"), 0o600))
	code, out, stderr = run("--config", both, "version")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "build agent")
	typo := filepath.Join(dir, "typo.yaml")
	require.NoError(t, os.WriteFile(typo, []byte("coordinatr:\n  listen: 127.0.0.1:7070\n"), 0o600))
	code, _, stderr = run("--config", typo, "version")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, `unknown key "coordinatr"`)
}
