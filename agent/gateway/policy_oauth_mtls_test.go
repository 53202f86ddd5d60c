package gateway

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
)

const oauthMTLSChain = `[{"name":"oauth_mtls","version":"builtin","enabled":true,"configuration":{}},
	{"name":"apicast","version":"builtin","enabled":true}]`

// oauthMTLSRefusal is APIcast's answer: 401, {"error": "invalid_token"}
// written with ngx.print (no newline), as application/json.
var oauthMTLSRefusal = answer{401, "application/json; charset=utf-8", `{"error": "invalid_token"}`, nil}

// startTLSOIDCGateway is startOIDCGateway's gateway serving TLS with a
// certificate of certs (the server CA the clients trust).
func startTLSOIDCGateway(t *testing.T, chainJSON string) (*oidcGateway, *testCerts) {
	t.Helper()
	iss := testenv.StartOIDCIssuer(t)
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "gateway")
	f := newGatewayFixture(t, backendAppID)
	svc := *f.svc
	svc.BackendVersion = backendOIDC
	require.NoError(t, f.tx.Update(&svc))
	f.proxy(t, func(p *composition.Proxy) {
		p.OIDCIssuerEndpoint = strings.Replace(iss.URL, "http://", "http://gateway-client:s3cret@", 1)
		p.PolicyChain = policyChain(t, chainJSON)
	})
	up, got := echoUpstream(t, "app")
	cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL, TLS: TLS{CertFile: certFile, KeyFile: keyFile}}
	u, err := cfg.Check()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	ledger := &countingLedger{}
	g := New(cfg, u, "self", ledger, reg, zerolog.Nop())
	_, err = g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
	require.NoError(t, err)
	ln := runGateway(t, g, cfg.Listen)
	return &oidcGateway{f: f, g: g, base: "https://" + ln.Addr().String(), iss: iss, reg: reg, ledger: ledger, got: got}, certs
}

// x5tS256 is RFC 8705's x5t#S256: the base64url SHA-256 of the DER,
// without padding.
func x5tS256(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// boundToken is a bearer header for premium's client whose cnf claim is
// cnf (none when nil).
func boundToken(t *testing.T, og *oidcGateway, cnf map[string]any) http.Header {
	t.Helper()
	c := og.iss.Claims("premium-key")
	if cnf != nil {
		c["cnf"] = cnf
	}
	return bearerHeader(og.iss.Token(t, "ES256", c))
}

// The manifest: "This policy executes OAuth 2.0 Mutual TLS Client
// Authentication (https://tools.ietf.org/html/rfc8705) for every API
// call"; APIcast's oauth_mtls.lua compares the token's cnf "x5t#S256"
// ("a base64url encoded SHA-256 thumbprint (a.k.a. digest) of the DER
// encoding of the X.509 certificate") with the client certificate's, and
// answers 401 {"error": "invalid_token"} when they differ, when the token
// has none, or when the client sent no certificate. Over HTTP/2 and
// HTTP/1.1 alike; a refused request is not counted.
func TestPolicyOAuthMTLSCertificateBoundToken(t *testing.T) {
	ca := newMTLSCA(t, "clients", nil)
	bound, boundLeaf := ca.client(t, "bound", nil)
	other, _ := ca.client(t, "other", nil)
	og, certs := startTLSOIDCGateway(t, oauthMTLSChain)
	tok := boundToken(t, og, map[string]any{"x5t#S256": x5tS256(boundLeaf)})
	sum := sha256.Sum256(boundLeaf.Raw)
	for _, p := range mtlsProtocols {
		t.Run(p.name, func(t *testing.T) {
			assert.Equal(t, mtlsAppAnswer, callMTLS(t, mtlsClient(certs.pool, &bound, p.h2), og.base+"/", tok))
			assert.Equal(t, oauthMTLSRefusal, callMTLS(t, mtlsClient(certs.pool, &other, p.h2), og.base+"/", tok), "another certificate")
			assert.Equal(t, oauthMTLSRefusal, callMTLS(t, mtlsClient(certs.pool, nil, p.h2), og.base+"/", tok), "no certificate")
			assert.Equal(t, oauthMTLSRefusal, callMTLS(t, mtlsClient(certs.pool, &bound, p.h2), og.base+"/", boundToken(t, og, nil)), "no cnf")
			padded := boundToken(t, og, map[string]any{"x5t#S256": base64.URLEncoding.EncodeToString(sum[:])})
			assert.Equal(t, oauthMTLSRefusal, callMTLS(t, mtlsClient(certs.pool, &bound, p.h2), og.base+"/", padded), "padded: not the RFC's encoding")
		})
	}
	assert.Equal(t, 8.0, policyEvents(og.reg, "oauth_mtls", "denied"))
	assert.EqualValues(t, 2, og.hits(og.f.premiumApp), "refused requests are not counted")
}

// A service that is not OpenID Connect has no verified token (APIcast's
// context.jwt is nil): every request is refused, whatever its certificate.
func TestPolicyOAuthMTLSWithoutToken(t *testing.T) {
	client, _ := newMTLSCA(t, "clients", nil).client(t, "client", nil)
	cg, certs := startTLSChainGateway(t, oauthMTLSChain)
	a := callMTLS(t, mtlsClient(certs.pool, &client, true), cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, oauthMTLSRefusal, a)
	assert.Empty(t, cg.got)
}

// Over plain HTTP there is no client certificate (APIcast's
// ssl_client_raw_cert is empty): a bound token is refused.
func TestPolicyOAuthMTLSPlainHTTPIsRefused(t *testing.T) {
	_, leaf := newMTLSCA(t, "clients", nil).client(t, "client", nil)
	og := startOIDCGateway(t, oauthMTLSChain, nil, nil)
	a := call(t, "GET", og.base+"/", boundToken(t, og, map[string]any{"x5t#S256": x5tS256(leaf)}))
	assert.Equal(t, oauthMTLSRefusal, strip(a))
}

// The binding is to the certificate the client proved it holds the key of
// in the handshake, whatever issued it: a self-signed one does (RFC 8705
// section 2.2's self-signed certificates). With tls_validation before it,
// the certificate must also be whitelisted.
func TestPolicyOAuthMTLSSelfSignedAndWithTLSValidation(t *testing.T) {
	self, selfLeaf := mtlsSelfSigned(t, "self")
	og, certs := startTLSOIDCGateway(t, oauthMTLSChain)
	tok := boundToken(t, og, map[string]any{"x5t#S256": x5tS256(selfLeaf)})
	assert.Equal(t, mtlsAppAnswer, callMTLS(t, mtlsClient(certs.pool, &self, false), og.base+"/", tok))

	other := newMTLSCA(t, "other", nil)
	og, certs = startTLSOIDCGateway(t, `[{"name":"tls_validation","version":"builtin","enabled":true,"configuration":{"whitelist":`+
		mtlsPEMList(mtlsCertPEM(other.cert))+`}},`+strings.TrimPrefix(oauthMTLSChain, "["))
	tok = boundToken(t, og, map[string]any{"x5t#S256": x5tS256(selfLeaf)})
	a := callMTLS(t, mtlsClient(certs.pool, &self, false), og.base+"/", tok)
	assert.Equal(t, answer{400, "text/plain; charset=utf-8", "TLS certificate validation failed\n", nil}, a, "bound, but not whitelisted")
}
