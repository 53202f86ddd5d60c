package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// switchHome is the agent's view of home, turned away and back by the test
// (the agent's own, from heartbeats, is tested in agent's integration test).
type switchHome struct{ away atomic.Bool }

func (h *switchHome) Away() bool { return h.away.Load() }

func cachingGateway(t *testing.T, mode string) (*chainGateway, *switchHome) {
	t.Helper()
	cg := startChainGateway(t, `[{"name":"caching","version":"builtin","configuration":{"caching_type":"`+mode+`"},"enabled":true},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	home := &switchHome{}
	cg.g.SetHome(home)
	return cg, home
}

// "None: disables caching": nothing is kept to authorize from, so while home
// is away every request is refused; with home reachable the gateway serves.
func TestCachingNoneRefusesWhileHomeIsAway(t *testing.T) {
	cg, home := cachingGateway(t, "none")
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status)
	home.away.Store(true)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "caching policy (none)")
	assert.Equal(t, 1.0, policyEvents(cg.reg, "caching", "refused"))
	home.away.Store(false)
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status, "served again once home is back")
}

// "Strict: it only caches authorized calls. Denied and failed calls
// invalidate the cache entry": while home is away only applications
// authorized while it was reachable are served; one denied since is not.
func TestCachingStrictServesOnlyApplicationsAuthorizedWhileHomeWasReachable(t *testing.T) {
	cg, home := cachingGateway(t, "strict")
	require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status)
	for range 5 {
		require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.basic, nil).status)
	}
	require.Equal(t, http.StatusTooManyRequests, call(t, "GET", cg.base+"/?user_key="+cg.basic, nil).status, "denied: the entry is invalidated")

	home.away.Store(true)
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status, "authorized while home was reachable")
	a := call(t, "GET", cg.base+"/?user_key="+cg.basic, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "denied before home went away: not cached")
	assert.Contains(t, a.body, "caching policy (strict)")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/?user_key=nobody", nil).status, "unknown credentials stay refused")
}

// "Resilient: authorize according to last request when backend is down":
// the snapshot and the local ledger keep deciding, limits included.
func TestCachingResilientKeepsServingFromTheSnapshot(t *testing.T) {
	cg, home := cachingGateway(t, "resilient")
	home.away.Store(true)
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status, "never seen before, served from the snapshot")
	for range 5 {
		require.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.basic, nil).status)
	}
	assert.Equal(t, http.StatusTooManyRequests, call(t, "GET", cg.base+"/?user_key="+cg.basic, nil).status, "limits still apply")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/?user_key=nobody", nil).status)
}

// "Allow: when backend is down, allow everything unless seen before and
// denied": while home is away a request is served even when its usage
// cannot be kept; with home reachable, or in resilient mode, it is 503.
func TestCachingAllowServesUncountedWhileHomeIsAway(t *testing.T) {
	for _, tc := range []struct {
		mode string
		away bool
		want int
	}{
		{"allow", true, http.StatusOK},
		{"allow", false, http.StatusServiceUnavailable},
		{"resilient", true, http.StatusServiceUnavailable},
	} {
		cg, home := cachingGateway(t, tc.mode)
		home.away.Store(tc.away)
		cg.g.ledger = fullLedger{}
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, tc.want, a.status, "%s, home away %v: %s", tc.mode, tc.away, a.body)
		if tc.want == http.StatusOK {
			assert.Equal(t, 1.0, policyEvents(cg.reg, "caching", "served_uncounted"))
		}
		assert.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/?user_key=nobody", nil).status, "unknown credentials stay refused")
	}
}

// The schema: caching_type is required and one of strict, resilient,
// allow, none; a chain that slipped in otherwise fails closed naming the
// policy and the field.
func TestCachingInvalidConfigurationFailsClosed(t *testing.T) {
	for conf, want := range map[string]string{
		`{"caching_type":"sometimes"}`: `configuration.caching_type: must be one of strict, resilient, allow, none, not "sometimes"`,
		`{}`:                           `configuration.caching_type: is required`,
		`{"caching_type":1}`:           `configuration.caching_type: must be a string`,
	} {
		cg := startChainGateway(t, `[{"name":"caching","version":"builtin","configuration":`+conf+`,"enabled":true}]`)
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, `policy "caching" (element 0 of the chain)`, conf)
		assert.Contains(t, a.body, want, conf)
		assert.Empty(t, cg.got, "nothing reaches the app")
	}
}

func BenchmarkPolicyCaching(b *testing.B) {
	benchServeChain(b, `[{"name":"caching","version":"builtin","configuration":{"caching_type":"strict"},"enabled":true},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
}

// benchServeChain drives g.ServeHTTP in process through chainJSON in front
// of an upstream on loopback, as BenchmarkGatewayRequest does.
func benchServeChain(b *testing.B, chainJSON string) {
	f := newGatewayFixture(b, backendUserKey)
	p, ok := f.tx.View().Proxies.Get(f.svc.ID)
	require.True(b, ok)
	n := *p
	n.PolicyChain = policyChain(b, chainJSON)
	require.NoError(b, f.tx.Update(&n))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	b.Cleanup(up.Close)
	g, _, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), Config{})
	g.SetHome(&switchHome{})
	req := httptest.NewRequest(http.MethodGet, "/health?user_key=premium-key", nil)
	w := &discardResponse{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		g.ServeHTTP(w, req)
	}
}
