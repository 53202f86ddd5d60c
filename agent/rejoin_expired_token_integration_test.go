package agent_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// A join token's lifetime bounds joining; the instances registered through
// it stay (portolan token create --ttl). Home forgets instances when it
// restarts, and each agent registers again with its join token: through a
// token whose lifetime has ended, the instance home issued a credential to
// comes back (it presents that credential), and a new one is still refused.
// Before, every instance of a token made with --ttl left the map for good
// at home's first restart after the expiry.
func TestInstanceOfAnExpiredJoinTokenRegistersAgainAfterHomeRestarts(t *testing.T) {
	co := testenv.StartCoordinator(t)
	const lifetime = 3 * time.Second
	tok := createJoinToken(t, co, registry.JoinTokenSpec{Service: "newsapi", TTL: registry.Duration(lifetime)})
	made := time.Now()
	a := testenv.StartAgent(t, co, "--token", tok.Token, "--service", "newsapi",
		"--heartbeat", "200ms", "--ttl", "1s", "--", "sleep", "60")
	id := a.ID()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 10*time.Second, 20*time.Millisecond)

	time.Sleep(time.Until(made.Add(lifetime + 500*time.Millisecond)))
	co.Stop()
	co.Start()
	require.Eventually(t, func() bool { return statusOf(t, co, id) == registry.StatusPassing }, 15*time.Second, 50*time.Millisecond,
		"the instance of the expired token is back on the map:\n%s", a.Output.String())

	// Another instance through the token, or one presenting another's
	// credential, is refused: the lifetime still bounds joining.
	stranger, err := client.New(client.Config{Address: co.URL, Token: tok.Token})
	require.NoError(t, err)
	reg := &registry.Registration{Service: "newsapi", Address: "10.0.0.9", Port: 80}
	_, err = stranger.Register(context.Background(), id+"-new", reg)
	assert.Equal(t, http.StatusUnauthorized, client.StatusCode(err), "a new instance through the expired token: %v", err)
	stranger.SetCredential(credentialOf(t, a))
	_, err = stranger.Register(context.Background(), id+"-new", reg)
	assert.Equal(t, http.StatusUnauthorized, client.StatusCode(err), "another id with the instance's credential: %v", err)
}
