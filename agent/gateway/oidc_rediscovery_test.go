package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An issuer may move its key set (a new jwks_uri in its discovery
// document). Once the gateway fails to fetch the keys where they were, or
// holds keys too old to use, its next refresh reads the discovery document
// again, at most once per minRefetch, and finds them where they went: the
// service recovers without a restart.
func TestOIDCMovedKeySetIsFoundByRediscovery(t *testing.T) {
	ci := startCraftIssuer(t, false)
	moved := startCraftIssuer(t, false) // the new home of ci's keys
	moved.serveJWKS(func(w http.ResponseWriter, _ *http.Request) {
		ci.mu.Lock()
		defer ci.mu.Unlock()
		writeCraftJSON(w, map[string]any{"keys": ci.published})
	})
	og := startOIDCGatewayAt(t, ci.URL, "", func(x *oidcIssuers) {
		x.keysMaxAge, x.keysMaxStale, x.minRefetch = 50*time.Millisecond, 400*time.Millisecond, 100*time.Millisecond
	}, nil)
	tok := ci.Token(t, "RS256", ci.Claims("premium-key"))
	require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(tok)).status)
	require.EqualValues(t, 1, ci.discoveryFetches.Load())

	ci.serveJWKS(func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) })
	ci.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
		d := ci.Document()
		d["jwks_uri"] = moved.URL + "/certs"
		writeCraftJSON(w, d)
	})
	// Requests through the keys' whole life and past it: the old URL
	// fails, discovery finds the new one, the keys never go stale.
	start := time.Now()
	for time.Since(start) < time.Second {
		a := call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "ES256", ci.Claims("premium-key"))))
		require.Equal(t, http.StatusOK, a.status, "after %v: %s", time.Since(start), a.body)
		time.Sleep(20 * time.Millisecond)
	}
	assert.GreaterOrEqual(t, moved.jwksFetches.Load(), int64(1), "the keys are fetched where they moved")
	assert.LessOrEqual(t, ci.discoveryFetches.Load(), int64(1+time.Since(start)/(100*time.Millisecond)+1),
		"discovery is redone at most once per minRefetch")

	// Keys too old to use while nothing asked for them (the gateway was
	// idle): the request that finds them stale rediscovers too.
	ci.serveDiscovery(nil)
	ci.serveJWKS(nil)
	time.Sleep(500 * time.Millisecond)
	before := ci.discoveryFetches.Load()
	a := call(t, "GET", og.base+"/", bearerHeader(tok))
	assert.Equal(t, http.StatusOK, a.status, "stale keys, issuer back where it was: %s", a.body)
	assert.Equal(t, before+1, ci.discoveryFetches.Load(), "stale keys make the next refresh a discovery")
}

// Rediscovery takes the whole document again: an issuer that now names
// itself otherwise has its new name checked, and the tokens verified
// under the old one are no longer taken from the cache.
func TestOIDCRediscoveryForgetsTokensOfTheOldIssuer(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", func(x *oidcIssuers) {
		x.keysMaxAge, x.minRefetch = 50*time.Millisecond, 100*time.Millisecond
	}, nil)
	old := ci.Token(t, "RS256", ci.Claims("premium-key"))
	require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(old)).status)

	public := "https://sso.example.com/realms/craft"
	ci.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
		d := ci.Document()
		d["issuer"] = public
		writeCraftJSON(w, d)
	})
	ci.serveJWKS(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "moving", http.StatusServiceUnavailable) })
	renamed := ci.Claims("premium-key")
	renamed["iss"] = public
	tok := ci.Token(t, "RS256", renamed)
	require.Eventually(t, func() bool {
		// A new token each time (ES256 signs at random): one verified
		// before would be taken from the cache without asking the keys.
		call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "ES256", ci.Claims("premium-key"))))
		return ci.discoveryFetches.Load() >= 2
	}, 2*time.Second, 20*time.Millisecond, "discovery redone after the key set failed")
	ci.serveJWKS(nil)
	require.Eventually(t, func() bool {
		return call(t, "GET", og.base+"/", bearerHeader(tok)).status == http.StatusOK
	}, 2*time.Second, 20*time.Millisecond, "a token of the issuer's new name")
	og.refusedAll(t, map[string]string{"verified under the old name": old})
}
