package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
	"github.com/portolan/portolan/registry/jointoken"
)

// A join token's cap of live instances, over a real coordinator: every new
// token has one (home's --max-instances-per-token unless it says), the cap
// counts live instances, survives a restart, changes per token, and tokens
// made before the default keep none until given one.

// capHome runs a coordinator on dir with cfg's identity settings, a short
// TTL and removal after a second critical, logging to log (nil for none).
// It returns the URL and a stop that waits for the coordinator to end.
func capHome(t *testing.T, dir string, id coordinator.IdentityConfig, log *testenv.SyncBuffer) (string, func()) {
	t.Helper()
	logger := zerolog.Nop()
	if log != nil {
		logger = zerolog.New(log)
	}
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: dir, AccessToken: adminToken, AgentToken: token, Identity: id,
		Heartbeat: 300 * time.Millisecond, TTL: time.Second, DeregisterCriticalAfter: time.Second, Logger: logger,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return "http://" + co.Addr(), stop
}

func listToken(t *testing.T, base, id string) registry.JoinTokenInfo {
	t.Helper()
	list, err := newClient(t, client.Config{Address: base, Token: adminToken}).JoinTokens(context.Background())
	require.NoError(t, err)
	for _, tok := range list {
		if tok.ID == id {
			return tok
		}
	}
	require.Failf(t, "token not listed", "%s not in %+v", id, list)
	return registry.JoinTokenInfo{}
}

// A token created without a cap gets home's default, so that one leaked
// token cannot take every instance home holds (10,000 by default). The cap
// counts live instances: one that deregisters, or that stops heartbeating
// and is removed, gives its slot back. The refusal names the token and its
// cap, never the token itself.
func TestJoinTokenWithoutCapGetsHomesDefault(t *testing.T) {
	base, _ := capHome(t, t.TempDir(), coordinator.IdentityConfig{MaxInstancesPerToken: 2}, nil)
	ctx := context.Background()
	tok := joinToken(t, base, registry.JoinTokenSpec{Service: "news"})
	assert.Equal(t, 2, tok.MaxInstances, "the creation's answer shows the cap")
	assert.Equal(t, 2, listToken(t, base, tok.ID).MaxInstances, "the listing shows the cap")

	first := agentWith(t, base, tok.Token)
	_, err := first.Register(ctx, "i-1", registration("news"))
	require.NoError(t, err)
	_, err = agentWith(t, base, tok.Token).Register(ctx, "i-2", registration("news"))
	require.NoError(t, err)
	_, err = agentWith(t, base, tok.Token).Register(ctx, "i-3", registration("news"))
	require.Error(t, err)
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "%v", err)
	assert.Contains(t, err.Error(), "join token "+tok.ID+" allows 2 live instances")
	assert.Contains(t, err.Error(), "portolan token update "+tok.ID+" --max-instances N", "says what to do")
	assert.NotContains(t, err.Error(), strings.Split(tok.Token, ".")[2], "never the secret")

	require.NoError(t, first.Deregister(ctx, "i-1"))
	_, err = agentWith(t, base, tok.Token).Register(ctx, "i-3", registration("news"))
	require.NoError(t, err, "a deregistered instance's slot came back")

	// i-2 and i-3 stop heartbeating: critical after the TTL, removed a
	// second later, and their slots come back.
	require.Eventually(t, func() bool { return listToken(t, base, tok.ID).Instances == 0 }, 10*time.Second, 50*time.Millisecond,
		"expired instances leave the count")
	for _, id := range []string{"i-4", "i-5"} {
		_, err = agentWith(t, base, tok.Token).Register(ctx, id, registration("news"))
		require.NoError(t, err, "%s", id)
	}

	// With home's defaults, a token gets DefaultMaxInstancesPerToken.
	plain := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	assert.Equal(t, registry.DefaultMaxInstancesPerToken, joinToken(t, plain, registry.JoinTokenSpec{}).MaxInstances)
	assert.Equal(t, 7, joinToken(t, plain, registry.JoinTokenSpec{MaxInstances: 7}).MaxInstances, "a token's own cap wins")
}

// A token's cap changes without a new token (PATCH, `portolan token
// update`): raised, it admits more at once; lowered below its live
// instances, they stay and new ones are refused. The cap is kept in the
// data dir: it holds after a restart, when every agent registers again.
func TestJoinTokenCapChangesAndOutlivesARestart(t *testing.T) {
	dir := t.TempDir()
	base, stop := capHome(t, dir, coordinator.IdentityConfig{}, nil)
	ctx := context.Background()
	admin := newClient(t, client.Config{Address: base, Token: adminToken})
	tok := joinToken(t, base, registry.JoinTokenSpec{MaxInstances: 1})
	_, err := agentWith(t, base, tok.Token).Register(ctx, "a-1", registration("news"))
	require.NoError(t, err)
	_, err = agentWith(t, base, tok.Token).Register(ctx, "a-2", registration("news"))
	require.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "%v", err)

	info, err := admin.UpdateJoinToken(ctx, tok.ID, &registry.JoinTokenUpdate{MaxInstances: 3})
	require.NoError(t, err)
	assert.Equal(t, 3, info.MaxInstances)
	assert.Equal(t, 1, info.Instances)
	for _, id := range []string{"a-2", "a-3"} {
		_, err = agentWith(t, base, tok.Token).Register(ctx, id, registration("news"))
		require.NoError(t, err, "raised: %s registers", id)
	}
	info, err = admin.UpdateJoinToken(ctx, tok.ID, &registry.JoinTokenUpdate{MaxInstances: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, info.Instances, "lowered: the live instances stay")
	_, err = agentWith(t, base, tok.Token).Register(ctx, "a-4", registration("news"))
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "lowered: a new one is refused: %v", err)
	assert.Contains(t, err.Error(), "allows 2 live instances")

	_, err = admin.UpdateJoinToken(ctx, tok.ID, &registry.JoinTokenUpdate{MaxInstances: 0})
	assert.Equal(t, http.StatusBadRequest, client.StatusCode(err), "a cap is at least 1: %v", err)
	_, err = admin.UpdateJoinToken(ctx, "0badc0de", &registry.JoinTokenUpdate{MaxInstances: 5})
	assert.Equal(t, http.StatusNotFound, client.StatusCode(err), "%v", err)
	_, err = agentWith(t, base, tok.Token).UpdateJoinToken(ctx, tok.ID, &registry.JoinTokenUpdate{MaxInstances: 50})
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "a join token cannot raise its own cap: %v", err)

	stop()
	base, _ = capHome(t, dir, coordinator.IdentityConfig{}, nil)
	assert.Equal(t, 2, listToken(t, base, tok.ID).MaxInstances, "the cap is kept")
	for _, id := range []string{"a-1", "a-2"} {
		_, err = agentWith(t, base, tok.Token).Register(ctx, id, registration("news"))
		require.NoError(t, err, "after the restart %s registers again", id)
	}
	_, err = agentWith(t, base, tok.Token).Register(ctx, "a-3", registration("news"))
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "the cap holds after the restart: %v", err)
}

// A token made before tokens had a cap by default (its record has none)
// keeps its behaviour: applying the default at the upgrade could refuse a
// running fleet when it registers again after home restarts. Home names it
// at start (its id, never its secret), lists it as uncapped, and a cap can
// be given to it without a new token.
func TestTokenFromBeforeDefaultCapsKeepsNoneUntilGivenOne(t *testing.T) {
	dir := t.TempDir()
	tok, err := jointoken.New(pki.Pin{})
	require.NoError(t, err)
	old := registry.JoinTokenRecord{ID: tok.ID, Hash: tok.Hash(), Service: "news", CreatedAt: time.Now().Add(-24 * time.Hour)}
	b, err := json.Marshal(map[string]any{"tokens": []registry.JoinTokenRecord{old}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, registry.JoinTokenFile), b, 0o600))

	var log testenv.SyncBuffer
	base, _ := capHome(t, dir, coordinator.IdentityConfig{MaxInstancesPerToken: 1}, &log)
	ctx := context.Background()
	log.Contains(t, "join token with no cap of live instances", tok.ID, "portolan token update "+tok.ID)
	assert.NotContains(t, log.String(), strings.Split(tok.String(), ".")[2], "never the secret")

	for _, id := range []string{"o-1", "o-2"} {
		_, err = agentWith(t, base, tok.String()).Register(ctx, id, registration("news"))
		require.NoError(t, err, "%s: the old token keeps having no cap of its own", id)
	}
	info := listToken(t, base, tok.ID)
	assert.Zero(t, info.MaxInstances, "listed without a cap")
	assert.Equal(t, 2, info.Instances)

	_, err = newClient(t, client.Config{Address: base, Token: adminToken}).UpdateJoinToken(ctx, tok.ID, &registry.JoinTokenUpdate{MaxInstances: 2})
	require.NoError(t, err)
	_, err = agentWith(t, base, tok.String()).Register(ctx, "o-3", registration("news"))
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "given a cap, it holds: %v", err)
}
