package threescale_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The official Go client's SetHook: the callback the client invokes after
// each proxy config read (GetProxyConfig, GetLatestProxyConfig), which
// operators use to time and count 3scale's answers. It sees Portolan's
// status codes as 3scale's: 200 for a deployed version, 404 before one.

func TestGoClientHookSeesProxyConfigAnswers(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Hooked", nil)
	sid := s64(id)

	var codes []int
	var took []time.Duration
	cl.SetHook(func(status int, d time.Duration) {
		codes = append(codes, status)
		took = append(took, d)
	})

	_, err := cl.GetLatestProxyConfig(sid, "sandbox")
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.DeployProductProxy(id)
	require.NoError(t, err)
	latest, err := cl.GetLatestProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	version := latest.ProxyConfig.Version
	require.NotZero(t, version)
	one, err := cl.GetProxyConfig(sid, "sandbox", itoa(int64(version)))
	require.NoError(t, err)
	assert.Equal(t, id, one.ProxyConfig.Content.ID, "the config is the product's")
	_, err = cl.GetLatestProxyConfig(sid, "production")
	apiErr(t, err, http.StatusNotFound)

	// Promoting and listing are not hooked (the client hooks config reads
	// only); the promoted version then reads 200 from production.
	_, err = cl.PromoteProxyConfig(sid, "sandbox", itoa(int64(version)), "production")
	require.NoError(t, err)
	_, err = cl.ListProxyConfig(sid, "production")
	require.NoError(t, err)
	prod, err := cl.GetLatestProxyConfig(sid, "production")
	require.NoError(t, err)
	assert.Equal(t, version, prod.ProxyConfig.Version)
	assert.Equal(t, "production", prod.ProxyConfig.Environment)

	assert.Equal(t, []int{http.StatusNotFound, http.StatusOK, http.StatusOK, http.StatusNotFound, http.StatusOK}, codes)
	for _, d := range took {
		assert.Positive(t, d)
	}
}
