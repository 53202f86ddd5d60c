package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// TestTrafficNeedsATokenWithTheStatsScope: the traffic pages show what the
// Analytics API serves, which 3scale (and home: threescale/analytics.go)
// answers only to a token with the stats scope. A token with
// account_management alone may read the composition in the console, not
// its traffic.
func TestTrafficNeedsATokenWithTheStatsScope(t *testing.T) {
	f := newFixture(t)
	f.addHits(t, f.news.ID, f.reader.ID, f.hits.ID, time.Minute, 7)
	_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
		for tok, scopes := range map[string][]string{
			"composition-only-token": {composition.ScopeAccountManagement},
			"with-stats-token":       {composition.ScopeAccountManagement, composition.ScopeStats},
		} {
			if err := tx.Create(&composition.AccessToken{Name: tok, Scopes: scopes,
				Permission: composition.PermissionRO, Digest: composition.TokenDigest(tok)}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	tokens := threescale.NewStoreTokenChecker(f.store.Snapshot)
	g, ok := tokens.AuthenticateToken("composition-only-token")
	require.True(t, ok)
	require.False(t, g.Allows(composition.ScopeStats, false), "the Analytics API refuses this token")
	c, err := New(Config{Snapshot: f.store.Snapshot, Map: f.console.cfg.Map, Usage: f.usage, Tokens: tokens,
		Logger: zerolog.Nop(), Now: func() time.Time { return f.now }})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	defer srv.Close()

	news := strconv.FormatInt(f.news.ID, 10)
	pages := []string{"/ui/traffic", "/ui/traffic?service=" + news,
		"/ui/traffic?service=" + news + "&app=" + strconv.FormatInt(f.reader.ID, 10)}
	hc := signedInClient(t, srv, "composition-only-token")
	for _, p := range pages {
		resp, err := hc.Get(srv.URL + p)
		require.NoError(t, err)
		body := readBody(t, resp)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, p)
		assert.Contains(t, body, "stats scope", "%s says what the token lacks", p)
		assert.NotContains(t, body, "Last hour", "%s shows no traffic", p)
	}
	resp, err := hc.Get(srv.URL + "/ui/services/" + news)
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the composition stays readable")

	hc = signedInClient(t, srv, "with-stats-token")
	for _, p := range pages {
		resp, err := hc.Get(srv.URL + p)
		require.NoError(t, err)
		readBody(t, resp)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s with the stats scope", p)
	}
}
