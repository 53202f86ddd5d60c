package coordinator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// POST /admin/portolan/gossip/rotate-key takes the admin access token (not
// the agent token), answers when the steps fall due without any key, and a
// registered agent hears the new keyring at its next heartbeat.
func TestRotateKeyRouteNeedsTheAdminTokenAndReachesAgents(t *testing.T) {
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		AgentToken: usageAgentToken, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + c.Addr()

	agentCl, err := client.New(client.Config{Address: base, Token: usageAgentToken})
	require.NoError(t, err)
	reg, err := agentCl.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	require.Len(t, reg.GossipKeys, 1, "the keyring comes with the registration")
	hb, err := agentCl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys)

	for _, token := range []string{"", usageAgentToken, "wrong"} {
		cl, err := client.New(client.Config{Address: base, Token: token})
		require.NoError(t, err)
		_, err = cl.RotateGossipKey(ctx)
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "token %q", token)
	}
	hb, err = agentCl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)
	assert.Empty(t, hb.GossipKeys, "a refused rotation changes nothing")

	admin, err := client.New(client.Config{Address: base, Token: usageAdminToken})
	require.NoError(t, err)
	body, err := admin.RotateGossipKey(ctx)
	require.NoError(t, err)
	var rot coordinator.KeyRotation
	require.NoError(t, json.Unmarshal(body, &rot))
	assert.True(t, rot.DropOldAt.After(rot.PrimaryAt))
	for _, k := range reg.GossipKeys {
		assert.NotContains(t, string(body), k)
	}
	hb, err = agentCl.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)
	require.Len(t, hb.GossipKeys, 2, "the new key, beside the old")
	assert.Equal(t, reg.GossipKeys[0], hb.GossipKeys[0], "the old key encrypts until half the grace")

	_, err = admin.RotateGossipKey(ctx)
	assert.Equal(t, http.StatusConflict, client.StatusCode(err), "one rotation at a time")
}
