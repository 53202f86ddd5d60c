package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestCommandInheritsNoneOfTheAgentsSecrets: CMD starts with the agent's
// environment but the secrets only the agent needs: the management
// proxy's admin token (by the agent's own variable, and under a name of
// the operator's) and the join token. An app that dumps its environment
// (a debug page, a crash report) leaks neither; its own settings stay.
func TestCommandInheritsNoneOfTheAgentsSecrets(t *testing.T) {
	co := testenv.StartCoordinator(t)
	spec := filepath.Join(testenv.ThreescaleDir(t), "account_management_api.json")
	out := filepath.Join(t.TempDir(), "env")
	t.Setenv("PORTOLAN_AGENT_MGMT_TOKEN", co.Token) // the env twin of --mgmt-token
	t.Setenv("APP_ADMIN_TOKEN", co.Token)           // README: --mgmt-token "$THREESCALE_TOKEN"
	t.Setenv("APP_JOIN_TOKEN", testenv.AgentToken)  // StartAgent's --token
	t.Setenv("APP_SETTING", "kept")
	a := testenv.StartAgent(t, co, "--service", "app", "--mgmt-listen", testenv.FreeAddr(t), "--mgmt-spec", spec,
		"--", "sh", "-c", `env > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 30`, out)

	var env string
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(out)
		env = string(b)
		return err == nil
	}, 15*time.Second, 20*time.Millisecond, "the command writes its environment\n%s", a.Output.String())
	lines := strings.Split(env, "\n")
	assert.Contains(t, lines, "APP_SETTING=kept", "the app's own settings reach it")
	for _, name := range []string{"PORTOLAN_AGENT_MGMT_TOKEN", "APP_ADMIN_TOKEN", "APP_JOIN_TOKEN"} {
		for _, l := range lines {
			assert.False(t, strings.HasPrefix(l, name+"="), "%s reached the command", name)
		}
	}
	assert.False(t, strings.Contains(env, co.Token), "the admin token reached the command")
	assert.False(t, strings.Contains(env, testenv.AgentToken), "the join token reached the command")

	a.Output.Contains(t, "kept out of the command's environment", "APP_ADMIN_TOKEN")
	assert.False(t, strings.Contains(a.Output.String(), co.Token), "the agent logged the admin token")
}

// TestCommandGetsNoneOfTheAgentsConsulToken: an agent registering in Consul
// holds a token that may register and deregister its service; the app does
// not get it, whether it came as CONSUL_HTTP_TOKEN (which consul/api and
// the consul CLI read by default, and the agent reads for --consul-token),
// under a name of the operator's, or as CONSUL_HTTP_TOKEN_FILE. Consul need
// not answer: CMD starts regardless.
func TestCommandGetsNoneOfTheAgentsConsulToken(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tokenFile := filepath.Join(t.TempDir(), "consul-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("consul-token-of-the-agent\n"), 0o600))
	for name, env := range map[string]map[string]string{
		"CONSUL_HTTP_TOKEN":      {"CONSUL_HTTP_TOKEN": "consul-token-of-the-agent", "APP_CONSUL": "consul-token-of-the-agent"},
		"CONSUL_HTTP_TOKEN_FILE": {"CONSUL_HTTP_TOKEN_FILE": tokenFile, "APP_CONSUL": "consul-token-of-the-agent"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			t.Setenv("APP_SETTING", "kept")
			out := filepath.Join(t.TempDir(), "env")
			a := testenv.StartAgent(t, co, "--service", "app", "--consul", "http://"+testenv.FreeAddr(t),
				"--", "sh", "-c", `env > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 30`, out)
			var got string
			require.Eventually(t, func() bool {
				b, err := os.ReadFile(out)
				got = string(b)
				return err == nil
			}, 15*time.Second, 20*time.Millisecond, "the command writes its environment\n%s", a.Output.String())
			lines := strings.Split(got, "\n")
			assert.Contains(t, lines, "APP_SETTING=kept", "the app's own settings reach it")
			for k := range env {
				for _, l := range lines {
					assert.False(t, strings.HasPrefix(l, k+"="), "%s reached the command", k)
				}
				a.Output.Contains(t, k) // the names withheld are logged
			}
			assert.NotContains(t, got, "consul-token-of-the-agent")
		})
	}
}
