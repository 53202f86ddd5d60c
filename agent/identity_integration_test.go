package agent_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// credentialOf reads the instance credential an agent keeps in its cache
// dir, checking the file is the agent's alone.
func credentialOf(t *testing.T, a *testenv.Agent) string {
	t.Helper()
	file := filepath.Join(a.CacheDir, agent.CredentialFile)
	var saved struct {
		Instance   string `json:"instance"`
		Credential string `json:"credential"`
	}
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(file)
		return err == nil && json.Unmarshal(b, &saved) == nil && saved.Credential != ""
	}, 5*time.Second, 10*time.Millisecond, "the agent keeps its credential in %s", file)
	st, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dir, err := os.Stat(a.CacheDir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dir.Mode().Perm())
	return saved.Credential
}

func createJoinToken(t *testing.T, co *testenv.Coordinator, spec registry.JoinTokenSpec) *registry.JoinTokenCreated {
	t.Helper()
	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	created, err := admin.CreateJoinToken(context.Background(), &spec)
	require.NoError(t, err)
	return created
}

// TestAgentRegistersWithAJoinToken: `portolan agent --token JOINTOKEN`
// registers, then heartbeats with the credential home issued it (kept in
// its cache dir, 0600), and logs neither secret.
func TestAgentRegistersWithAJoinToken(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "newsapi", Labels: map[string]string{"pool": "basic"}})
	a := testenv.StartAgent(t, co, "--token", tok.Token, "--service", "newsapi", "--label", "pool=basic",
		"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 5*time.Second, 10*time.Millisecond)
	cred := credentialOf(t, a)

	// Still passing after several heartbeats: they authenticate.
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, registry.StatusPassing, statusOf(t, co, id))
	home := co.Home(t)
	home.SetCredential(cred)
	_, err := home.Heartbeat(context.Background(), id+"-other", &registry.Heartbeat{Status: registry.StatusPassing})
	assert.Equal(t, 403, client.StatusCode(err), "the credential acts on its instance alone")

	secret := strings.Split(tok.Token, ".")[2]
	for _, out := range []string{a.Output.String(), co.Output.String()} {
		assert.NotContains(t, out, secret, "the join token is never logged")
		assert.NotContains(t, out, cred, "the credential is never logged")
	}
	entries, err := os.ReadDir(a.CacheDir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(a.CacheDir, e.Name()))
		require.NoError(t, err)
		assert.NotContains(t, string(b), secret, "the join token stays in memory: %s", e.Name())
	}
}

// TestAgentOutsideItsTokensScopeIsRefused: an agent claiming pool=premium
// with a pool=basic token never reaches the map, and says why.
func TestAgentOutsideItsTokensScopeIsRefused(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Labels: map[string]string{"pool": "basic"}})
	a := testenv.StartAgent(t, co, "--token", tok.Token, "--service", "newsapi", "--label", "pool=premium",
		"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return strings.Contains(a.Output.String(), "home refused the token (HTTP 40") },
		5*time.Second, 20*time.Millisecond)
	a.Output.Contains(t, "label pool may only be")
	assert.Equal(t, "absent", statusOf(t, co, id))
}

// TestRevokedTokensAgentIsRegisteredNoMore: revoking the join token turns
// its agent's instance critical at once; the agent's next heartbeat is
// refused, its registration again too, and it says so.
func TestRevokedTokensAgentIsRegisteredNoMore(t *testing.T) {
	co := testenv.StartCoordinator(t)
	tok := createJoinToken(t, co, registry.JoinTokenSpec{})
	a := testenv.StartAgent(t, co, "--token", tok.Token, "--service", "newsapi", "--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "30")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 5*time.Second, 10*time.Millisecond)

	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	require.NoError(t, admin.RevokeJoinToken(context.Background(), tok.ID))
	assert.Equal(t, registry.StatusCritical, statusOf(t, co, id), "out of the passing set at once")
	require.Eventually(t, func() bool {
		out := a.Output.String()
		return strings.Contains(out, "home refused this instance's credential") && strings.Contains(out, "home refused the token (HTTP 40")
	}, 5*time.Second, 20*time.Millisecond)
	self, ok := a.Self()
	require.True(t, ok)
	assert.Equal(t, false, self["registered"])
	assert.Equal(t, true, self["home_refused"], "a revoked token is a refusal")
	assert.Equal(t, true, self["running"], "the command keeps running")
	assert.NotContains(t, a.Output.String(), "home unreachable")
}
