package client_test

import (
	"context"
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
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Identity per instance, over a real coordinator: join tokens register and
// nothing else, each instance acts on itself alone, scopes and caps hold.

// homeWith runs a coordinator in-process with identity settings; it returns
// its URL and data dir.
func homeWith(t *testing.T, dir string, id coordinator.IdentityConfig) string {
	t.Helper()
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: dir, AccessToken: adminToken, AgentToken: token,
		Identity: id, Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + co.Addr()
}

// joinToken creates a join token through the admin API.
func joinToken(t *testing.T, base string, spec registry.JoinTokenSpec) *registry.JoinTokenCreated {
	t.Helper()
	created, err := newClient(t, client.Config{Address: base, Token: adminToken}).CreateJoinToken(context.Background(), &spec)
	require.NoError(t, err)
	return created
}

func agentWith(t *testing.T, base, tok string) *client.Client {
	return newClient(t, client.Config{Address: base, Token: tok, Timeout: 5 * time.Second})
}

func labelled(service string, labels map[string]string) *registry.Registration {
	r := registration(service)
	r.Labels = labels
	return r
}

func mapOf(t *testing.T, base string) *registry.Map {
	t.Helper()
	m, _, err := newClient(t, client.Config{Address: base, Token: adminToken}).Map(context.Background(), 0, 0, "")
	require.NoError(t, err)
	return m
}

// TestBasicPoolTokenCannotRegisterIntoPremiumPool is the traffic-capture
// attack: an agent holding a join token for pool=basic registers an
// instance claiming pool=premium (or another service, or a label the token
// does not name) to draw premium traffic. Home refuses it, 403.
func TestBasicPoolTokenCannotRegisterIntoPremiumPool(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	basic := joinToken(t, base, registry.JoinTokenSpec{Service: "news", Labels: map[string]string{"pool": "basic"}})
	c := agentWith(t, base, basic.Token)
	ctx := context.Background()

	for name, reg := range map[string]*registry.Registration{
		"premium pool":  labelled("news", map[string]string{"pool": "premium"}),
		"other service": labelled("billing", map[string]string{"pool": "basic"}),
		"unnamed label": labelled("news", map[string]string{"pool": "basic", "tier": "gold"}),
	} {
		_, err := c.Register(ctx, "evil-1", reg)
		require.ErrorIs(t, err, client.ErrUnauthorized, name)
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), name)
		assert.Empty(t, c.Credential(), "%s: no credential issued", name)
	}
	_, ok := findInstance(mapOf(t, base), "evil-1")
	assert.False(t, ok, "nothing reached the map")

	_, err := c.Register(ctx, "news-1", labelled("news", map[string]string{"pool": "basic"}))
	require.NoError(t, err, "the token's own scope registers")
	_, err = agentWith(t, base, basic.Token).Register(ctx, "news-2", registration("news"))
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err),
		"leaving the scoped label out is refused (TestScopedTokenCannotLeaveItsLabelOutToServeEveryPlan): %v", err)
}

// TestInstanceActsOnItselfAlone: with its own credential, an instance
// cannot heartbeat, drain or deregister another instance's id (403), and
// the other is untouched.
func TestInstanceActsOnItselfAlone(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	a := agentWith(t, base, joinToken(t, base, registry.JoinTokenSpec{}).Token)
	b := agentWith(t, base, joinToken(t, base, registry.JoinTokenSpec{}).Token)
	_, err := a.Register(ctx, "a-1", registration("news"))
	require.NoError(t, err)
	_, err = b.Register(ctx, "b-1", registration("news"))
	require.NoError(t, err)

	_, err = a.Heartbeat(ctx, "b-1", &registry.Heartbeat{Status: registry.StatusCritical})
	require.ErrorIs(t, err, client.ErrUnauthorized)
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err))
	err = a.Drain(ctx, "b-1")
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err))
	err = a.Deregister(ctx, "b-1")
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err))
	_, err = a.Register(ctx, "b-1", registration("news"))
	assert.Equal(t, http.StatusConflict, client.StatusCode(err), "a live id stays with the token that registered it")
	assert.ErrorIs(t, err, client.ErrIDTaken, "a conflict: the registering agent takes another id")

	in, ok := findInstance(mapOf(t, base), "b-1")
	require.True(t, ok)
	assert.Equal(t, registry.StatusPassing, in.Status, "b-1 untouched")

	_, err = b.Heartbeat(ctx, "b-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err, "its own credential works")
}

// TestJoinTokenOnlyRegisters: a join token (or the bootstrap token) cannot
// heartbeat, read the composition or the map, or report usage: 403.
func TestJoinTokenOnlyRegisters(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	for _, tok := range []string{token, joinToken(t, base, registry.JoinTokenSpec{}).Token} {
		reg := agentWith(t, base, tok)
		_, err := reg.Register(ctx, "n-1", registration("news"))
		require.NoError(t, err)
		bare := agentWith(t, base, tok) // no credential: the join token alone
		_, err = bare.Heartbeat(ctx, "n-1", &registry.Heartbeat{Status: registry.StatusPassing})
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "heartbeat")
		_, _, err = bare.Composition(ctx, "n-1", 0, 0)
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "composition")
		_, _, err = bare.Map(ctx, 0, 0, "")
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "map")
		_, err = bare.PostUsage(ctx, &registry.UsageBatch{ID: "n-1-1", Instance: "n-1"})
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "usage")
		require.NoError(t, reg.Deregister(ctx, "n-1"))
	}
}

// TestUsageIsBoundToTheCredentialsInstance: usage counts for the service
// the credential's instance is placed in, whatever instance the batch
// claims: an instance placed nowhere cannot pass its batch off as a news
// instance's.
func TestUsageIsBoundToTheCredentialsInstance(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	_, err := newClient(t, client.Config{Address: base, Token: adminToken}).ImportComposition(ctx, newsDocument(t))
	require.NoError(t, err)
	a, b := agentWith(t, base, token), agentWith(t, base, token)
	_, err = a.Register(ctx, "a-1", registration("billing")) // no such service: placed nowhere
	require.NoError(t, err)
	rb, err := b.Register(ctx, "b-1", registration("news"))
	require.NoError(t, err)
	sid := rb.Placement.ServiceID
	require.NotZero(t, sid)
	_, err = a.PostUsage(ctx, &registry.UsageBatch{ID: "b-1-1", Instance: "b-1", ServiceID: sid, Entries: []registry.UsageEntry{}})
	assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "%v", err)
	_, err = b.PostUsage(ctx, &registry.UsageBatch{ID: "b-1-1", Instance: "b-1", ServiceID: sid, Entries: []registry.UsageEntry{}})
	require.NoError(t, err)
}

// TestExpiredJoinTokenIsRefused: past its lifetime a token registers
// nothing (401).
func TestExpiredJoinTokenIsRefused(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	short := joinToken(t, base, registry.JoinTokenSpec{TTL: registry.Duration(time.Second)}) // the shortest lifetime
	require.NotNil(t, short.ExpiresAt)
	c := agentWith(t, base, short.Token)
	_, err := c.Register(context.Background(), "early", registration("news"))
	require.NoError(t, err, "within its lifetime")
	time.Sleep(time.Until(short.ExpiresAt.Add(100 * time.Millisecond)))
	_, err = agentWith(t, base, short.Token).Register(context.Background(), "late", registration("news"))
	require.ErrorIs(t, err, client.ErrUnauthorized)
	assert.Equal(t, http.StatusUnauthorized, client.StatusCode(err))
	assert.Contains(t, err.Error(), "expired")
	_, err = c.Heartbeat(context.Background(), "early", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err, "instances registered in time keep their credentials")
}

// TestJoinTokenMaxInstances: a token admits its count of live instances,
// 429 beyond; registering the same id again counts once, and a slot comes
// back when an instance leaves.
func TestJoinTokenMaxInstances(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	two := joinToken(t, base, registry.JoinTokenSpec{MaxInstances: 2})
	ctx := context.Background()
	first := agentWith(t, base, two.Token)
	_, err := first.Register(ctx, "i-1", registration("news"))
	require.NoError(t, err)
	_, err = first.Register(ctx, "i-1", registration("news"))
	require.NoError(t, err, "the same id again counts once")
	_, err = agentWith(t, base, two.Token).Register(ctx, "i-2", registration("news"))
	require.NoError(t, err)
	_, err = agentWith(t, base, two.Token).Register(ctx, "i-3", registration("news"))
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err), "%v", err)
	assert.Contains(t, err.Error(), "allows 2 live instances")

	list, err := newClient(t, client.Config{Address: base, Token: adminToken}).JoinTokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, 2, list[0].Instances)

	require.NoError(t, first.Deregister(ctx, "i-1"))
	_, err = agentWith(t, base, two.Token).Register(ctx, "i-3", registration("news"))
	require.NoError(t, err, "a slot came back")
}

// TestTotalMaxInstances: home holds at most --max-instances live instances.
func TestTotalMaxInstances(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{MaxInstances: 2})
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		_, err := agentWith(t, base, token).Register(ctx, id, registration("news"))
		require.NoError(t, err)
	}
	_, err := agentWith(t, base, token).Register(ctx, "c", registration("news"))
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err))
	assert.Contains(t, err.Error(), "--max-instances")
}

// TestMaxJoinTokens: home keeps at most --max-join-tokens tokens.
func TestMaxJoinTokens(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{MaxJoinTokens: 1})
	admin := newClient(t, client.Config{Address: base, Token: adminToken})
	_, err := admin.CreateJoinToken(context.Background(), &registry.JoinTokenSpec{})
	require.NoError(t, err)
	_, err = admin.CreateJoinToken(context.Background(), &registry.JoinTokenSpec{})
	assert.Equal(t, http.StatusTooManyRequests, client.StatusCode(err))
}

// TestRevokeEndsCredentialsAtNextHeartbeat: revoking a token refuses its
// instances' credentials (401) from their next call, takes them out of the
// passing set, and registers nothing more.
func TestRevokeEndsCredentialsAtNextHeartbeat(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	ctx := context.Background()
	tok := joinToken(t, base, registry.JoinTokenSpec{Service: "news"})
	c := agentWith(t, base, tok.Token)
	_, err := c.Register(ctx, "r-1", registration("news"))
	require.NoError(t, err)
	other := agentWith(t, base, token)
	_, err = other.Register(ctx, "o-1", registration("news"))
	require.NoError(t, err)

	require.NoError(t, newClient(t, client.Config{Address: base, Token: adminToken}).RevokeJoinToken(ctx, tok.ID))

	_, err = c.Heartbeat(ctx, "r-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.ErrorIs(t, err, client.ErrUnauthorized)
	assert.Equal(t, http.StatusUnauthorized, client.StatusCode(err))
	assert.Contains(t, err.Error(), "revoked")
	_, err = c.Register(ctx, "r-1", registration("news"))
	assert.Equal(t, http.StatusUnauthorized, client.StatusCode(err), "the token registers nothing more")

	m := mapOf(t, base)
	in, ok := findInstance(m, "r-1")
	require.True(t, ok)
	assert.Equal(t, registry.StatusCritical, in.Status)
	assert.Equal(t, registry.OutputRevoked, in.Output)
	_, err = other.Heartbeat(ctx, "o-1", &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err, "instances of other tokens are untouched")

	err = newClient(t, client.Config{Address: base, Token: adminToken}).RevokeJoinToken(ctx, tok.ID)
	assert.Equal(t, http.StatusNotFound, client.StatusCode(err))
}

// TestJoinTokensOutliveARestartHashed: tokens are kept in the data dir, as
// hashes (the file holds no secret, 0600), and register after a restart.
func TestJoinTokensOutliveARestartHashed(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ctx1, stop := context.WithCancel(ctx)
	co, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: dir, AccessToken: adminToken, Logger: zerolog.Nop()})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx1) }()
	created := joinToken(t, "http://"+co.Addr(), registry.JoinTokenSpec{Service: "news", Description: "edge"})
	stop()
	require.NoError(t, <-done)

	file := filepath.Join(dir, registry.JoinTokenFile)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	secret := strings.Split(created.Token, ".")[2]
	assert.NotContains(t, string(b), secret, "the token's secret is not stored")
	assert.Contains(t, string(b), created.ID)
	st, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	base := homeWith(t, dir, coordinator.IdentityConfig{})
	_, err = agentWith(t, base, created.Token).Register(ctx, "after", registration("news"))
	require.NoError(t, err, "the token registers after a restart")
	list, err := newClient(t, client.Config{Address: base, Token: adminToken}).JoinTokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "edge", list[0].Description)
	assert.Equal(t, 1, list[0].Instances)
}

// TestJoinTokenAdminNeedsTheAccessToken: the token API is the admin API's.
func TestJoinTokenAdminNeedsTheAccessToken(t *testing.T) {
	base := homeWith(t, t.TempDir(), coordinator.IdentityConfig{})
	for _, tok := range []string{token, "", "nope"} {
		_, err := newClient(t, client.Config{Address: base, Token: tok}).CreateJoinToken(context.Background(), &registry.JoinTokenSpec{})
		assert.Equal(t, http.StatusForbidden, client.StatusCode(err), "token %q", tok)
	}
}
