package coordinator_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// At its cap of live instances home refuses a registration with 429 and a
// message naming the flag, and counts it: an operator whose fleet stopped
// growing, or whose registry a join token filled, sees it on /metrics.
func TestRegistrationsRefusedAtTheCapAreCounted(t *testing.T) {
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		AgentToken: usageAgentToken, Identity: coordinator.IdentityConfig{MaxInstances: 1}, Logger: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + c.Addr()

	refused := func() string {
		return regexp.MustCompile(`(?m)^portolan_registry_registrations_refused_total\{reason="instance_cap"\} .*$`).
			FindString(string(getJSONRaw(t, base+"/metrics")))
	}
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="instance_cap"} 0`, refused(), "present from the start")
	reg := &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 8080}
	for i, id := range []string{"a-1", "b-1", "c-1"} {
		agent, err := client.New(client.Config{Address: base, Token: usageAgentToken})
		require.NoError(t, err)
		_, err = agent.Register(ctx, id, reg)
		if i == 0 {
			require.NoError(t, err)
			continue
		}
		assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "%v", err)
		assert.ErrorContains(t, err, "--max-instances")
	}
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="instance_cap"} 2`, refused())
}
