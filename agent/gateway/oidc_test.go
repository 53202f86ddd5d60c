package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// oidcGateway is a running gateway in front of an echo upstream for an
// OpenID Connect service of the test's own issuer. The service is the
// gateway fixture's, its applications' client ids "basic-key" (5 hits a
// minute), "premium-key" (unlimited) and "frozen-key" (suspended).
type oidcGateway struct {
	f      *gatewayFixture
	g      *Gateway
	base   string
	iss    *testenv.OIDCIssuer
	reg    *prometheus.Registry
	ledger *countingLedger
	got    chan *http.Request
}

// startOIDCGateway starts the issuer and the gateway; tweak may change the
// gateway's OIDC intervals before it serves, and proxy the service's
// settings (the issuer endpoint is set, with client credentials in it as
// 3scale stores it).
func startOIDCGateway(t testing.TB, chainJSON string, tweak func(*oidcIssuers), proxy func(*composition.Proxy)) *oidcGateway {
	t.Helper()
	iss := testenv.StartOIDCIssuer(t)
	og := startOIDCGatewayAt(t, iss.URL, chainJSON, tweak, proxy)
	og.iss = iss
	return og
}

// startOIDCGatewayAt starts the gateway for an issuer the test runs at
// issuerURL (og.iss is nil).
func startOIDCGatewayAt(t testing.TB, issuerURL, chainJSON string, tweak func(*oidcIssuers), proxy func(*composition.Proxy)) *oidcGateway {
	t.Helper()
	f := newGatewayFixture(t, backendAppID)
	svc := *f.svc
	svc.BackendVersion = backendOIDC
	require.NoError(t, f.tx.Update(&svc))
	cur, ok := f.tx.View().Proxies.Get(f.svc.ID)
	require.True(t, ok)
	p := *cur
	p.OIDCIssuerEndpoint = strings.Replace(issuerURL, "http://", "http://gateway-client:s3cret@", 1)
	if chainJSON != "" {
		p.PolicyChain = policyChain(t, chainJSON)
	}
	if proxy != nil {
		proxy(&p)
	}
	require.NoError(t, f.tx.Update(&p))
	got := make(chan *http.Request, 100)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case got <- r:
		default: // a benchmark's requests: not kept
		}
		_, _ = io.WriteString(w, "app")
	}))
	t.Cleanup(up.Close)
	cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL}
	u, err := cfg.Check()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	ledger := &countingLedger{}
	g := New(cfg, u, "self", ledger, reg, zerolog.Nop())
	if tweak != nil {
		tweak(g.oidc)
	}
	_, err = g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
	require.NoError(t, err)
	ln := runGateway(t, g, cfg.Listen)
	return &oidcGateway{f: f, g: g, base: "http://" + ln.Addr().String(), reg: reg, ledger: ledger, got: got}
}

func bearerHeader(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// hits is what the ledger counted for an application.
func (og *oidcGateway) hits(app *composition.Application) int64 {
	og.ledger.mu.Lock()
	defer og.ledger.mu.Unlock()
	var n int64
	for _, c := range og.ledger.counts[[2]int64{app.ID, og.f.hits.ID}] {
		n += c
	}
	return n
}

// APIcast's oidc.lua: a JWT signed by the service's issuer whose azp is an
// application's client_id is that application's credential; its plan's
// limits apply as for keys (5 hits a minute, then "Usage limit exceeded").
// RS256 and ES256 are both accepted; the claims reach the upstream's
// request untouched, with the bearer token kept as APIcast keeps it.
func TestOIDCValidTokenCountsAgainstItsApplication(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	for i, alg := range []string{"RS256", "ES256", "RS256", "ES256", "RS256"} {
		tok := og.iss.Token(t, alg, og.iss.Claims("basic-key"))
		a := call(t, "GET", og.base+"/articles", bearerHeader(tok))
		require.Equal(t, http.StatusOK, a.status, "request %d (%s): %s", i+1, alg, a.body)
		assert.Equal(t, "app", a.body)
	}
	assert.EqualValues(t, 5, og.hits(og.f.basicApp), "counted against the azp's application")
	over := call(t, "GET", og.base+"/articles", bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("basic-key"))))
	assert.Equal(t, answer{429, "text/plain; charset=us-ascii", "Usage limit exceeded\n", over.header}, over, "the plan's limits apply")
	for range 3 {
		a := call(t, "GET", og.base+"/articles", bearerHeader(og.iss.Token(t, "ES256", og.iss.Claims("premium-key"))))
		assert.Equal(t, http.StatusOK, a.status, "another application, unlimited plan: %s", a.body)
	}
	assert.EqualValues(t, 3, og.hits(og.f.premiumApp))
	// OpenID Connect Core 1.0 section 2: without azp, the (single) audience is the client.
	audOnly := og.iss.Claims("premium-key")
	delete(audOnly, "azp")
	audOnly["aud"] = []any{"premium-key"}
	a := call(t, "GET", og.base+"/articles", bearerHeader(og.iss.Token(t, "RS256", audOnly)))
	assert.Equal(t, http.StatusOK, a.status, "a token without azp for the audience premium-key: %s", a.body)
	assert.EqualValues(t, 4, og.hits(og.f.premiumApp))
	r := <-og.got
	assert.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "), "the token is forwarded, as APIcast forwards it")
	assert.EqualValues(t, 1, og.iss.JWKSFetches(), "the JWKS is fetched once and cached")
	assert.Equal(t, 2.0, policyEvents(og.reg, "apicast", "oidc_metadata_fetch"), "discovery and JWKS")
}

// Every token APIcast's oidc.lua refuses is "Authentication failed" (403),
// and nothing reaches the app: expired (exp), not yet valid (nbf), another
// issuer, no aud, no sub, typ other than Bearer (Keycloak's ID tokens), an
// azp that is no application of the service, without azp an audience that
// is no application or several audiences, a suspended application, alg
// none, HS256 (keyed with the public RSA modulus: key confusion), a token
// signed by a key the issuer never published, and garbage. No token at all
// is "Authentication parameters missing".
func TestOIDCRefusedTokens(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	iss := og.iss
	edit := func(f func(c map[string]any)) map[string]any {
		c := iss.Claims("basic-key")
		f(c)
		return c
	}
	now := time.Now()
	other := testenv.StartOIDCIssuer(t)
	foreign := other.Claims("basic-key")
	foreign["iss"] = iss.URL // right issuer named, wrong keys
	cases := map[string]string{
		"expired a minute ago":       iss.Token(t, "RS256", edit(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"no exp":                     iss.Token(t, "RS256", edit(func(c map[string]any) { delete(c, "exp") })),
		"nbf in a minute":            iss.Token(t, "ES256", edit(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() })),
		"another issuer":             iss.Token(t, "RS256", edit(func(c map[string]any) { c["iss"] = "https://elsewhere.example/realms/test" })),
		"issuer with a slash":        iss.Token(t, "RS256", edit(func(c map[string]any) { c["iss"] = iss.URL + "/" })),
		"no aud":                     iss.Token(t, "RS256", edit(func(c map[string]any) { delete(c, "aud") })),
		"no sub":                     iss.Token(t, "RS256", edit(func(c map[string]any) { delete(c, "sub") })),
		"typ ID":                     iss.Token(t, "RS256", edit(func(c map[string]any) { c["typ"] = "ID" })),
		"unknown azp":                iss.Token(t, "RS256", iss.Claims("nobody")),
		"no azp, aud another client": iss.Token(t, "RS256", edit(func(c map[string]any) { delete(c, "azp") })),
		"no azp, wrong audience":     iss.Token(t, "RS256", edit(func(c map[string]any) { delete(c, "azp"); c["aud"] = "https://other-api.example" })),
		"no azp, several audiences":  iss.Token(t, "RS256", edit(func(c map[string]any) { delete(c, "azp"); c["aud"] = []any{"basic-key", "premium-key"} })),
		"suspended application":      iss.Token(t, "RS256", iss.Claims("frozen-key")),
		"alg none":                   iss.Token(t, "none", iss.Claims("basic-key")),
		"alg HS256":                  iss.Token(t, "HS256", iss.Claims("basic-key")),
		"signed by unpublished keys": other.Token(t, "RS256", foreign),
		"not a JWT":                  "abc.def.ghi",
	}
	for name, tok := range cases {
		a := call(t, "GET", og.base+"/articles", bearerHeader(tok))
		assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", a.header}, a, name)
	}
	missing := call(t, "GET", og.base+"/articles", nil)
	assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication parameters missing\n", missing.header}, missing)
	assert.Empty(t, og.got, "nothing refused reaches the app")
	assert.EqualValues(t, 0, og.hits(og.f.basicApp))
	assert.Equal(t, float64(len(cases)), requests(og.reg, "auth_failed"))
	assert.LessOrEqual(t, iss.JWKSFetches(), int64(2), "unknown kids refetch the JWKS at most once per interval")
}

// A small leeway absorbs clock skew: a token expired 2 seconds ago, or
// valid from 2 seconds ahead, passes (oidcLeeway is 10 s).
func TestOIDCLeewayIsBounded(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	now := time.Now()
	c := og.iss.Claims("premium-key")
	c["exp"], c["nbf"] = now.Add(-2*time.Second).Unix(), now.Add(2*time.Second).Unix()
	a := call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", c)))
	assert.Equal(t, http.StatusOK, a.status, a.body)
}

// Where APIcast reads an OIDC service's token (configuration/service.lua,
// version_oauth): the access_token query parameter by default, the
// access_token header with credentials_location headers, and the
// Authorization bearer token always (RFC 6750 2.1).
func TestOIDCTokenLocations(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	tok := og.iss.Token(t, "RS256", og.iss.Claims("premium-key"))
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/?access_token="+tok, nil).status, "query")
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(tok)).status, "bearer")
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", http.Header{"Authorization": {"bearer " + tok}}).status, "scheme case")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/", http.Header{"Access-Token": {tok}}).status, "not a header service")

	hs := startOIDCGateway(t, "", nil, func(p *composition.Proxy) { p.CredentialsLocation = composition.CredentialsHeaders })
	tok = hs.iss.Token(t, "RS256", hs.iss.Claims("premium-key"))
	assert.Equal(t, http.StatusOK, call(t, "GET", hs.base+"/", http.Header{"Access_token": {tok}}).status, "header")
	assert.Equal(t, http.StatusOK, call(t, "GET", hs.base+"/", bearerHeader(tok)).status, "bearer, whatever the location")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", hs.base+"/?access_token="+tok, nil).status, "not a query service")
}

// Key rotation (OpenID Connect Core 10.1.1): a token signed with a new key
// names a kid the gateway does not know; it fetches the JWKS again and
// accepts it. Once the old keys are gone from the JWKS, their tokens are
// refused. Unknown kids refetch at most once per interval.
func TestOIDCKeyRotation(t *testing.T) {
	og := startOIDCGateway(t, "", func(x *oidcIssuers) { x.minRefetch = 300 * time.Millisecond }, nil)
	old := og.iss.Token(t, "RS256", og.iss.Claims("premium-key"))
	require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(old)).status)
	fetches := og.iss.JWKSFetches()

	time.Sleep(350 * time.Millisecond)
	og.iss.RotateKey(t, false) // the old keys are removed at once
	for _, alg := range []string{"RS256", "ES256"} {
		a := call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, alg, og.iss.Claims("premium-key"))))
		assert.Equal(t, http.StatusOK, a.status, "%s with the new key: %s", alg, a.body)
	}
	assert.Equal(t, fetches+1, og.iss.JWKSFetches(), "one refetch for the new kids")
	a := call(t, "GET", og.base+"/", bearerHeader(old))
	assert.Equal(t, http.StatusForbidden, a.status, "the removed key's token")

	// A flood of made-up kids costs at most one fetch per interval.
	before := og.iss.JWKSFetches()
	for range 20 {
		call(t, "GET", og.base+"/", bearerHeader(old))
	}
	assert.LessOrEqual(t, og.iss.JWKSFetches()-before, int64(1))
}

// APIcast fetches an issuer's keys when it loads its configuration and,
// when it cannot, refuses every token of that service as "Authentication
// failed"; so does the gateway, without each request waiting for the
// issuer: a failed discovery is retried after an interval, and the service
// works as soon as the issuer answers.
func TestOIDCIssuerUnreachableAtStart(t *testing.T) {
	og := startOIDCGateway(t, "", func(x *oidcIssuers) { x.retryAfter = 200 * time.Millisecond }, nil)
	og.iss.SetDown(true)
	tok := og.iss.Token(t, "RS256", og.iss.Claims("premium-key"))
	for range 3 {
		a := call(t, "GET", og.base+"/", bearerHeader(tok))
		assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", a.header}, a)
	}
	assert.Equal(t, 1.0, policyEvents(og.reg, "apicast", "oidc_issuer_unavailable"), "one discovery tried within the interval")
	og.iss.SetDown(false)
	time.Sleep(250 * time.Millisecond)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(tok)).status)
	assert.Empty(t, func() []string { // the issuer's credentials never reach an answer or a metric
		mfs, _ := og.reg.Gather()
		var out []string
		for _, mf := range mfs {
			if strings.Contains(mf.String(), "s3cret") {
				out = append(out, mf.GetName())
			}
		}
		return out
	}())
}

// A service whose issuer endpoint is not a URL cannot check tokens: it
// fails closed (503 naming the problem), as a chain that cannot run does.
func TestOIDCMisconfiguredIssuerFailsClosed(t *testing.T) {
	og := startOIDCGateway(t, "", nil, func(p *composition.Proxy) { p.OIDCIssuerEndpoint = "" })
	a := call(t, "GET", og.base+"/", bearerHeader("x"))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "oidc_issuer_endpoint")
}

// jwt_claim_with_client_id (plain) names the claim holding the client id
// instead of azp.
func TestOIDCClientIDClaim(t *testing.T) {
	og := startOIDCGateway(t, "", nil, func(p *composition.Proxy) {
		p.JwtClaimWithClientID, p.JwtClaimWithClientIDType = "client_id", "plain"
	})
	c := og.iss.Claims("nobody")
	c["client_id"] = "premium-key"
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", c))).status)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("premium-key")))).status,
		"azp is not read then")
}

// jwt_claim_with_client_id_type liquid (porta: "you can define more
// complex rules ... {{ some_claim | first }}"; the 3scale tests use
// "{{ claim }}"): the template is rendered with the token's claims as its
// context.
func TestOIDCClientIDLiquidTemplate(t *testing.T) {
	og := startOIDCGateway(t, "", nil, func(p *composition.Proxy) {
		p.JwtClaimWithClientID, p.JwtClaimWithClientIDType = "{{ ext.clients | last | downcase }}", "liquid"
	})
	c := og.iss.Claims("nobody")
	c["ext"] = map[string]any{"clients": []any{"other", "PREMIUM-KEY"}}
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", c))).status)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("premium-key")))).status,
		"a token whose claims render no client is refused, azp or not")

	og = startOIDCGateway(t, "", nil, func(p *composition.Proxy) {
		p.JwtClaimWithClientID, p.JwtClaimWithClientIDType = "{% if azp %}{{ azp }}{% endif %}", "liquid"
	})
	a := call(t, "GET", og.base+"/", bearerHeader("x"))
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "a template the gateway cannot render fails closed")
	assert.Contains(t, a.body, "jwt_claim_with_client_id")
}
