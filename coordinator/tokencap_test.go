package coordinator_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Registrations refused at a join token's cap are counted apart from those
// refused at home's (reason="join_token_cap") and those of an id live
// through another token (reason="id_taken"), and logged naming the token
// and its cap, never the token itself, once a minute at most however often
// its agents retry (every heartbeat).
func TestRegistrationsRefusedAtATokensCapAreCountedAndLogged(t *testing.T) {
	var log testenv.SyncBuffer
	c, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: usageAdminToken,
		Identity: coordinator.IdentityConfig{MaxInstancesPerToken: 1}, Logger: zerolog.New(&log)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + c.Addr()

	refused := func(reason string) string {
		return regexp.MustCompile(`(?m)^portolan_registry_registrations_refused_total\{reason="` + reason + `"\} .*$`).
			FindString(string(getJSONRaw(t, base+"/metrics")))
	}
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="join_token_cap"} 0`, refused("join_token_cap"), "present from the start")

	admin, err := client.New(client.Config{Address: base, Token: usageAdminToken})
	require.NoError(t, err)
	tok, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: "news"})
	require.NoError(t, err)
	reg := &registry.Registration{Service: "news", Address: "127.0.0.1", Port: 8080}
	for i, id := range []string{"a-1", "b-1", "c-1", "d-1"} {
		agent, err := client.New(client.Config{Address: base, Token: tok.Token})
		require.NoError(t, err)
		_, err = agent.Register(ctx, id, reg)
		if i == 0 {
			require.NoError(t, err)
			continue
		}
		assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "%v", err)
	}
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="join_token_cap"} 3`, refused("join_token_cap"))
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="instance_cap"} 0`, refused("instance_cap"),
		"home's own cap refused none")

	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="id_taken"} 0`, refused("id_taken"))

	// Another token's holder registering the live a-1 is answered 409 and
	// counted apart: many of these are someone trying instances' ids.
	other, err := admin.CreateJoinToken(ctx, &registry.JoinTokenSpec{Service: "news"})
	require.NoError(t, err)
	squatter, err := client.New(client.Config{Address: base, Token: other.Token})
	require.NoError(t, err)
	_, err = squatter.Register(ctx, "a-1", reg)
	require.ErrorIs(t, err, client.ErrIDTaken)
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="id_taken"} 1`, refused("id_taken"))
	assert.Equal(t, `portolan_registry_registrations_refused_total{reason="join_token_cap"} 3`, refused("join_token_cap"))

	log.Contains(t, `"join_token":"`+tok.ID+`"`, `"max_instances":1`, "has its cap of live instances")
	assert.Equal(t, 1, strings.Count(log.String(), "has its cap of live instances"), "one line a minute per token:\n%s", log.String())
	assert.NotContains(t, log.String(), strings.Split(tok.Token, ".")[2], "never the secret")
}
