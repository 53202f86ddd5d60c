package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// TestTakenIDIsAConflictNotARefusal: an id live at home through another
// join token is answered 409 (ErrIDTaken), which is no refusal of the
// token (ErrUnauthorized: the agent would wait for someone to change its
// token): the same token registers under another id at once. The holder
// of the id, re-registering it with its own token (a lost reply, a home
// that forgot its credential), keeps it, as before.
func TestTakenIDIsAConflictNotARefusal(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	squatTok := joinToken(t, base, registry.JoinTokenSpec{Service: "other"})
	victimTok := joinToken(t, base, registry.JoinTokenSpec{Service: "news"})

	squatter := agentWith(t, base, squatTok.Token)
	_, err := squatter.Register(ctx, "news-host-0badc0de", registration("other"))
	require.NoError(t, err)
	squatCred := squatter.Credential()

	victim := agentWith(t, base, victimTok.Token)
	_, err = victim.Register(ctx, "news-host-0badc0de", registration("news"))
	require.Error(t, err)
	assert.Equal(t, http.StatusConflict, client.StatusCode(err), "%v", err)
	assert.ErrorIs(t, err, client.ErrIDTaken)
	assert.False(t, errors.Is(err, client.ErrUnauthorized), "not a refusal of the token: %v", err)
	_, refused := client.Refused(err)
	assert.False(t, refused)
	assert.Contains(t, err.Error(), "register under another id")
	assert.Empty(t, victim.Credential(), "no credential issued")

	reply, err := victim.Register(ctx, "news-host-5eed1e55", registration("news"))
	require.NoError(t, err, "the same token registers under a new id")
	assert.Equal(t, "news-host-5eed1e55", reply.ID)
	assert.NotEmpty(t, victim.Credential())
	in, ok := findInstance(mapOf(t, base), "news-host-0badc0de")
	require.True(t, ok)
	assert.Equal(t, "other", in.Service, "the holder keeps its id")

	again := agentWith(t, base, squatTok.Token)
	_, err = again.Register(ctx, "news-host-0badc0de", registration("other"))
	require.NoError(t, err, "the holder's own token re-registers its live id")
	assert.NotEqual(t, squatCred, again.Credential(), "with a fresh credential")
}
