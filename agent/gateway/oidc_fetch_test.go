package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trusting makes the gateway's issuer client trust httptest's TLS
// certificate (every httptest TLS server has the same one).
func trusting(ci *craftIssuer) func(*oidcIssuers) {
	return func(x *oidcIssuers) {
		pool := x509.NewCertPool()
		pool.AddCert(ci.srv.Certificate())
		x.transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
}

// discoveryErr runs discovery of ci's issuer as the gateway would and
// returns why it failed (nil: it succeeded).
func discoveryErr(t *testing.T, og *oidcGateway, url string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := og.g.oidc.get(url).verifierFor(ctx)
	return err
}

// What the issuer sends is bounded: a discovery document or key set over
// maxOIDCMetadata, a header block over maxOIDCHeaderBytes, or an answer
// slower than the client's timeout make the issuer unavailable (every
// token refused, the gateway unharmed) instead of memory or a stuck
// request.
func TestOIDCIssuerAnswersAreBounded(t *testing.T) {
	huge := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[],"pad":"`))
		_, _ = w.Write([]byte(strings.Repeat("x", maxOIDCMetadata+10)))
		_, _ = w.Write([]byte(`"}`))
	}
	want := map[string]string{
		"discovery over 1 MB":    "over 1048576 bytes",
		"JWKS over 1 MB":         "over 1048576 bytes",
		"headers over 64 KB":     "headers exceeded",
		"a JWKS that never ends": "deadline exceeded|Client.Timeout",
	}
	for name, setup := range map[string]func(ci *craftIssuer, block chan struct{}){
		"discovery over 1 MB": func(ci *craftIssuer, _ chan struct{}) { ci.serveDiscovery(huge) },
		"JWKS over 1 MB":      func(ci *craftIssuer, _ chan struct{}) { ci.serveJWKS(huge) },
		"headers over 64 KB": func(ci *craftIssuer, _ chan struct{}) {
			ci.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
				for i := range 80 {
					w.Header().Set("X-Pad-"+strings.Repeat("p", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)), strings.Repeat("h", 1000))
				}
				writeCraftJSON(w, ci.Document())
			})
		},
		"a JWKS that never ends": func(ci *craftIssuer, block chan struct{}) {
			ci.serveJWKS(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"keys":[`))
				w.(http.Flusher).Flush()
				select {
				case <-block:
				case <-r.Context().Done():
				}
			})
		},
	} {
		t.Run(name, func(t *testing.T) {
			ci := startCraftIssuer(t, false)
			block := make(chan struct{})
			t.Cleanup(func() { close(block) })
			setup(ci, block)
			og := startOIDCGatewayAt(t, ci.URL, "", func(x *oidcIssuers) { x.client.Timeout = 500 * time.Millisecond }, nil)
			start := time.Now()
			og.refusedAll(t, map[string]string{name: ci.Token(t, "RS256", ci.Claims("premium-key"))})
			assert.Less(t, time.Since(start), 3*time.Second, "refused within the fetch timeout")
			assert.Equal(t, 1.0, policyEvents(og.reg, "apicast", "oidc_issuer_unavailable"))
			err := discoveryErr(t, og, ci.URL)
			require.Error(t, err)
			assert.Regexp(t, want[name], err.Error())
		})
	}
}

// APIcast's HTTP client (resty/http_ng/backend/resty.lua over
// lua-resty-http) follows no redirect: resty/oidc/discovery.lua wants a
// 200 ("if res.status ~= 200 then ... 'could not get OpenID Connect
// configuration'"). The gateway follows none either, for the discovery
// document or the key set: a redirect could leave HTTPS for HTTP or lead
// to a host oidc_issuer_endpoint never named.
func TestOIDCIssuerRedirectsAreNotFollowed(t *testing.T) {
	ci := startCraftIssuer(t, false)
	var followed atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		if strings.HasSuffix(r.URL.Path, "openid-configuration") {
			writeCraftJSON(w, ci.Document())
			return
		}
		ci.mu.Lock()
		keys := append(ci.published[:0:0], ci.published...)
		ci.mu.Unlock()
		writeCraftJSON(w, map[string]any{"keys": keys})
	}))
	t.Cleanup(elsewhere.Close)
	ci.serveDiscovery(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/.well-known/openid-configuration", http.StatusFound)
	})
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	og.refusedAll(t, map[string]string{"discovery redirected": ci.Token(t, "RS256", ci.Claims("premium-key"))})
	err := discoveryErr(t, og, ci.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status 302")

	ci2 := startCraftIssuer(t, false)
	ci2.serveJWKS(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/certs", http.StatusMovedPermanently)
	})
	og2 := startOIDCGatewayAt(t, ci2.URL, "", nil, nil)
	og2.refusedAll(t, map[string]string{"JWKS redirected": ci2.Token(t, "RS256", ci2.Claims("premium-key"))})
	assert.Zero(t, followed.Load(), "no redirect is followed")
}

// The discovery document chooses where the keys come from, within limits:
// a jwks_uri on another host is normal (Google's is on googleapis.com), but
// one in clear HTTP for an HTTPS issuer would let anyone on the path serve
// keys, and one on a link-local address (cloud metadata, 169.254.169.254)
// would make the gateway query what it must not. Neither is fetched.
func TestOIDCJWKSURIKeepsHTTPSAndAvoidsLinkLocal(t *testing.T) {
	ci := startCraftIssuer(t, true)
	other := startCraftIssuer(t, true) // another host's JWKS: serves ci's keys
	other.serveJWKS(func(w http.ResponseWriter, _ *http.Request) {
		ci.mu.Lock()
		defer ci.mu.Unlock()
		writeCraftJSON(w, map[string]any{"keys": ci.published})
	})
	doc := func(jwks string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			d := ci.Document()
			d["jwks_uri"] = jwks
			writeCraftJSON(w, d)
		}
	}
	ci.serveDiscovery(doc(other.URL + "/certs"))
	og := startOIDCGatewayAt(t, ci.URL, "", trusting(ci), nil)
	a := call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "ES256", ci.Claims("premium-key"))))
	require.Equal(t, http.StatusOK, a.status, "HTTPS jwks_uri on another host: %s", a.body)
	assert.EqualValues(t, 1, other.jwksFetches.Load())
	assert.Zero(t, ci.jwksFetches.Load())

	plain := startCraftIssuer(t, false)
	for name, jwks := range map[string]string{
		"HTTP for an HTTPS issuer": plain.URL + "/certs",
		"cloud metadata":           "https://169.254.169.254/latest/meta-data/",
		"IPv4-mapped metadata":     "https://[::ffff:169.254.169.254]/x",
		"IPv6 link-local":          "https://[fe80::1]/certs",
		"EC2 IPv6 metadata":        "https://[fd00:ec2::254]/latest",
		"a file":                   "file:///etc/passwd",
		"relative":                 "/certs",
	} {
		ci.serveDiscovery(doc(jwks))
		og := startOIDCGatewayAt(t, ci.URL, "", trusting(ci), nil)
		og.refusedAll(t, map[string]string{name: ci.Token(t, "RS256", ci.Claims("premium-key"))})
		err := discoveryErr(t, og, ci.URL)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "jwks_uri", name)
	}
	assert.Zero(t, plain.jwksFetches.Load(), "the clear-text key set is never read")

	// The issuer endpoint itself, or a name leading there, is refused at
	// connection time too.
	ogm := startOIDCGatewayAt(t, "http://169.254.169.254/realms/x", "", nil, nil)
	err := discoveryErr(t, ogm, "http://169.254.169.254/realms/x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "link-local")
	assert.Error(t, refuseLinkLocal("tcp", "169.254.169.254:80", nil), "the dialer refuses what a name resolved to")
	assert.Error(t, refuseLinkLocal("tcp", "[fe80::1%eth0]:443", nil))
	assert.NoError(t, refuseLinkLocal("tcp", "127.0.0.1:8080", nil), "loopback stays allowed: a sidecar issuer")
}

// Tokens' iss is checked against the issuer the discovery document names,
// as APIcast's resty/oidc/discovery.lua ("issuer = config.issuer") and
// oauth/oidc.lua ("equals_any_of({ issuer })") do: an endpoint written with
// a trailing slash, or an issuer reached by an internal address while it
// names itself by its public URL (Keycloak behind a proxy), works. The
// token's iss must be the document's exactly: its trailing-slash variant,
// or the endpoint's address, is another issuer.
func TestOIDCIssuerIsTheDiscoveryDocuments(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL+"/", "", nil, nil)
	a := call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "RS256", ci.Claims("premium-key"))))
	assert.Equal(t, http.StatusOK, a.status, "endpoint with a trailing slash: %s", a.body)

	public := "https://sso.example.com/realms/craft"
	ci.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
		d := ci.Document()
		d["issuer"] = public
		writeCraftJSON(w, d)
	})
	og = startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	c := ci.Claims("premium-key")
	c["iss"] = public
	a = call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "RS256", c)))
	assert.Equal(t, http.StatusOK, a.status, "iss the document's public issuer: %s", a.body)
	slash := ci.Claims("premium-key")
	slash["iss"] = public + "/"
	og.refusedAll(t, map[string]string{
		"iss the endpoint's address": ci.Token(t, "RS256", ci.Claims("premium-key")),
		"iss with a trailing slash":  ci.Token(t, "RS256", slash),
	})

	ci.serveDiscovery(func(w http.ResponseWriter, _ *http.Request) {
		d := ci.Document()
		delete(d, "issuer")
		writeCraftJSON(w, d)
	})
	og = startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	og.refusedAll(t, map[string]string{"a document naming no issuer": ci.Token(t, "RS256", ci.Claims("premium-key"))})
	err := discoveryErr(t, og, ci.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "names no issuer")
}

// An issuer that stops answering: its keys keep verifying tokens for
// keysMaxStale (an outage is ridden out, verified tokens stay cached),
// then every token is refused, cached or not, until it answers again;
// meanwhile the requests try it at most once per minRefetch.
func TestOIDCUnreachableIssuerKeysServeWithinABoundThenFailClosed(t *testing.T) {
	ci := startCraftIssuer(t, false)
	og := startOIDCGatewayAt(t, ci.URL, "", func(x *oidcIssuers) {
		x.keysMaxAge, x.keysMaxStale, x.minRefetch = 100*time.Millisecond, 600*time.Millisecond, 200*time.Millisecond
	}, nil)
	cached := ci.Token(t, "RS256", ci.Claims("premium-key"))
	require.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(cached)).status)
	ci.down.Store(true)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(cached)).status, "a verified token, issuer down")
	fresh := ci.Token(t, "ES256", ci.Claims("premium-key"))
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(fresh)).status, "a new token, with the kept keys")

	time.Sleep(700 * time.Millisecond)
	fetches := ci.jwksFetches.Load()
	og.refusedAll(t, map[string]string{
		"cached token, keys too old": cached,
		"new token, keys too old":    ci.Token(t, "RS256", ci.Claims("premium-key")),
	})
	for range 10 {
		call(t, "GET", og.base+"/", bearerHeader(fresh))
	}
	assert.LessOrEqual(t, ci.jwksFetches.Load()-fetches, int64(1), "retried at most once per minRefetch")

	ci.down.Store(false)
	time.Sleep(250 * time.Millisecond)
	a := call(t, "GET", og.base+"/", bearerHeader(cached))
	assert.Equal(t, http.StatusOK, a.status, "the issuer is back: %s", a.body)
}

// The JWKS may hold what can verify nothing (a private or symmetric key,
// an unknown kty): those are left out, so one of them under the kid of a
// usable key (here "ec") no longer hides it, and the rest of the set
// serves. A private key published is one anyone may sign with: its kid's
// tokens are refused.
func TestOIDCUnusableJWKSKeysAreLeftOut(t *testing.T) {
	ci := startCraftIssuer(t, false)
	priv, err := json.Marshal(map[string]any{"keys": []any{
		json.RawMessage(mustJWK(t, ci.rsa, "rsa")),
		map[string]any{"kty": "oct", "kid": "ec", "k": "c2VjcmV0"},
		map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AAAA"},
		json.RawMessage(mustJWK(t, ci.ec.Public(), "ec")),
	}})
	require.NoError(t, err)
	ci.serveJWKS(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(priv) })
	og := startOIDCGatewayAt(t, ci.URL, "", nil, nil)
	og.refusedAll(t, map[string]string{"RS256 with a published private key": ci.Token(t, "RS256", ci.Claims("premium-key"))})
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/", bearerHeader(ci.Token(t, "ES256", ci.Claims("premium-key")))).status)
}
