package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
	"github.com/portolan/portolan/registry/jointoken"
)

// TestTokenCommands: `portolan token create` prints a join token that
// registers within its scope; `list` shows it with its live instances and
// never its secret; `revoke` ends it; `map --token` reads the map with the
// access token and refuses the join token.
func TestTokenCommands(t *testing.T) {
	home := startCoordinator(t, "admin")
	ctx := context.Background()

	code, out, errOut := runCmd(t, "token", "create", "--home", home, "--token", "admin",
		"--service", "news", "--label", "pool=basic", "--ttl", "1h", "--max-instances", "3", "--description", "edge")
	require.Equal(t, 0, code, errOut)
	tokStr := strings.TrimSpace(out)
	require.True(t, jointoken.IsJoinToken(tokStr), "prints the join token: %q", out)
	tok, err := jointoken.Parse(tokStr)
	require.NoError(t, err)
	assert.False(t, tok.HasPin(), "a plain-HTTP home has no CA to pin")

	agent, err := client.New(client.Config{Address: home, Token: tokStr})
	require.NoError(t, err)
	_, err = agent.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "127.0.0.1",
		Labels: map[string]string{"pool": "basic"}})
	require.NoError(t, err)
	_, err = agent.Register(ctx, "news-2", &registry.Registration{Service: "news", Address: "127.0.0.1",
		Labels: map[string]string{"pool": "premium"}})
	require.ErrorIs(t, err, client.ErrUnauthorized, "the label scope holds")

	code, out, errOut = runCmd(t, "token", "list", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, tok.ID)
	assert.Contains(t, out, "pool=basic")
	assert.Contains(t, out, "1/3", "live instances of the most allowed")
	assert.Contains(t, out, "edge")
	assert.NotContains(t, out, strings.Split(tokStr, ".")[2], "never the secret")

	code, out, errOut = runCmd(t, "map", "--home", home, "--token", "admin", "-o", "json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "news-1", "the admin access token reads the map")
	code, _, errOut = runCmd(t, "map", "--home", home, "--token", tokStr)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "refused the token")
	assert.NotContains(t, errOut, strings.Split(tokStr, ".")[2])

	code, out, errOut = runCmd(t, "token", "revoke", "--home", home, "--token", "admin", tok.ID)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "revoked "+tok.ID+"\n", out)
	_, err = agent.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.ErrorIs(t, err, client.ErrUnauthorized, "its instance's credential is refused")

	code, out, errOut = runCmd(t, "token", "list", "--home", home, "--token", "admin")
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, out, tok.ID)

	code, _, errOut = runCmd(t, "token", "revoke", "--home", home, "--token", "admin", tok.ID)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "404")
	code, _, errOut = runCmd(t, "token", "revoke", tok.ID, "--home", home, "--token", "admin")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "404", "flags after the ID are read, not ignored (want home's 404, not --token is required)")
	code, _, errOut = runCmd(t, "token", "create", "--home", home, "--token", "agent-token")
	assert.Equal(t, 1, code, "the agent token does not create tokens")
	assert.Contains(t, errOut, "403")
}
