package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
)

func fapiChain(conf string) string {
	return `[{"name":"fapi","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true}]`
}

// startFAPIGateway is a key service with chain in front of an upstream that
// answers x-fapi-interaction-id: blah when the request asks it to
// (Upstream-Sets-Id), as APIcast's test 3 upstream does.
func startFAPIGateway(t *testing.T, chain string) (base string, reg *prometheus.Registry, got chan *http.Request) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chain) })
	got = make(chan *http.Request, 100)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		if r.Header.Get("Upstream-Sets-Id") != "" {
			w.Header().Set("X-Fapi-Interaction-Id", "blah")
		}
		_, _ = w.Write([]byte("app"))
	}))
	t.Cleanup(up.Close)
	_, base, reg = startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return base, reg, got
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The README: "FAPI policy set the response header x-fapi-interaction-id to
// the value received from the corresponding FAPI client request header or
// to a RFC4122 UUID value if the request header was not provided" (FAPI 1.0
// Baseline 6.2.1.11). APIcast's tests: the request's value is echoed ("abc":
// any value, a UUID or not, nothing refused), and wins over the
// upstream's; without one, the upstream's ("blah") is kept; without either,
// a version 4 UUID, new for each request. The header filter runs on every
// response: the gateway's own refusals carry it too.
func TestPolicyFAPIInteractionID(t *testing.T) {
	base, _, _ := startFAPIGateway(t, fapiChain(`{}`))
	ok := "/?user_key=premium-key"
	a := call(t, "GET", base+ok, http.Header{"X-Fapi-Interaction-Id": {"abc"}})
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, []string{"abc"}, a.header.Values("X-Fapi-Interaction-Id"), "echoed, though not a UUID")
	const id = "c770aef3-6784-41f7-8e0e-ff5f97bddb3a"
	a = call(t, "GET", base+ok, http.Header{"X-Fapi-Interaction-Id": {id}, "Upstream-Sets-Id": {"1"}})
	assert.Equal(t, []string{id}, a.header.Values("X-Fapi-Interaction-Id"), "the request's wins over the upstream's")
	a = call(t, "GET", base+ok, http.Header{"Upstream-Sets-Id": {"1"}})
	assert.Equal(t, []string{"blah"}, a.header.Values("X-Fapi-Interaction-Id"), "the upstream's, when the request has none")
	a = call(t, "GET", base+ok, http.Header{"X-Fapi-Interaction-Id": {""}, "Upstream-Sets-Id": {"1"}})
	assert.Equal(t, []string{"blah"}, a.header.Values("X-Fapi-Interaction-Id"), "an empty one is none")

	first := call(t, "GET", base+ok, nil).header.Values("X-Fapi-Interaction-Id")
	second := call(t, "GET", base+ok, nil).header.Values("X-Fapi-Interaction-Id")
	require.Len(t, first, 1)
	require.Len(t, second, 1)
	assert.Regexp(t, uuidV4, first[0])
	assert.Regexp(t, uuidV4, second[0])
	assert.NotEqual(t, first, second, "a new UUID for each request")

	refused := call(t, "GET", base+"/", http.Header{"X-Fapi-Interaction-Id": {"abc"}})
	assert.Equal(t, http.StatusForbidden, refused.status, "no key: the gateway's own refusal")
	assert.Equal(t, []string{"abc"}, refused.header.Values("X-Fapi-Interaction-Id"))
	assert.Regexp(t, uuidV4, call(t, "GET", base+"/", nil).header.Get("X-Fapi-Interaction-Id"))
}

// validate_x_fapi_customer_ip_address: "Validate x-fapi-customer-ip-address
// header. If the verification fails, the request will be rejected with
// 403" (README: "Validate requests with a x-fapi-customer-ip-address header
// containing a valid IPv4 or IPv6 address"; APIcast's test: "something" →
// 403 {"error": "invalid_request"}). A request without the header passes;
// the header twice, a list, a zone or a prefix is not one address; the
// option off checks nothing.
func TestPolicyFAPICustomerIPAddress(t *testing.T) {
	base, reg, got := startFAPIGateway(t, fapiChain(`{"validate_x_fapi_customer_ip_address":true}`))
	ok := base + "/?user_key=premium-key"
	for _, ip := range []string{"192.168.0.1", "2001:db8::1", "::ffff:10.0.0.1"} {
		a := call(t, "GET", ok, http.Header{"X-Fapi-Customer-Ip-Address": {ip}})
		require.Equal(t, http.StatusOK, a.status, "%s: %s", ip, a.body)
		assert.Equal(t, ip, (<-got).Header.Get("X-Fapi-Customer-Ip-Address"), "passed on to the app")
	}
	require.Equal(t, http.StatusOK, call(t, "GET", ok, nil).status, "no header: nothing to check")
	<-got

	refused := map[string][]string{
		"not an address": {"something"}, "empty": {""}, "a list": {"10.0.0.1, 10.0.0.2"}, "twice": {"10.0.0.1", "10.0.0.2"},
		"a zone": {"fe80::1%eth0"}, "a prefix": {"10.0.0.0/8"}, "a port": {"10.0.0.1:80"},
	}
	for name, v := range refused {
		a := call(t, "GET", ok, http.Header{"X-Fapi-Customer-Ip-Address": v, "X-Fapi-Interaction-Id": {"abc"}})
		assert.Equal(t, answer{403, "application/json; charset=utf-8", `{"error": "invalid_request"}`, a.header}, a, name)
		assert.Equal(t, "abc", a.header.Get("X-Fapi-Interaction-Id"), "%s: the refusal is filtered too", name)
	}
	assert.Empty(t, got, "nothing refused reaches the app")
	assert.Equal(t, float64(len(refused)), policyEvents(reg, "fapi", "invalid_customer_ip"))

	off, _, _ := startFAPIGateway(t, fapiChain(`{}`))
	a := call(t, "GET", off+"/?user_key=premium-key", http.Header{"X-Fapi-Customer-Ip-Address": {"something"}})
	assert.Equal(t, http.StatusOK, a.status, "not validated unless asked")
}

// validate_oauth2_certificate_bound_access_token: "Validate OAuth 2.0
// Mutual TLS Certificate Bound access token. If enable, all tokens are
// verified and must contain the certificate hash claim (cnf). If the
// verification fails, the request will be rejected with 401." APIcast's
// tests: without a client certificate, or without cnf, 401 {"error":
// "invalid_token"}. A request with no verified token at all (a key
// service) is refused the same way; the option spelled as the schema spells
// it (with a trailing space) turns the check on too; off, nothing is
// checked.
func TestPolicyFAPICertificateBoundTokenRefusals(t *testing.T) {
	const unbound = `{"error": "invalid_token"}`
	og := startOIDCGateway(t, fapiChain(`{"validate_oauth2_certificate_bound_access_token":true}`), nil, nil)
	bound := og.iss.Claims("premium-key")
	bound["cnf"] = map[string]any{"x5t#S256": "Y4_LVlkpE6qkscPbtoKm3iiKBgfwbOfbdKBEdnZ6ZPY"}
	a := call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", bound)))
	assert.Equal(t, answer{401, "application/json; charset=utf-8", unbound, a.header}, a, "no client certificate (plain HTTP)")
	a = call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("premium-key"))))
	assert.Equal(t, answer{401, "application/json; charset=utf-8", unbound, a.header}, a, "no cnf claim")
	assert.Equal(t, 2.0, policyEvents(og.reg, "fapi", "unbound_token"))
	assert.Empty(t, og.got, "nothing refused reaches the app")

	schema := startOIDCGateway(t, fapiChain(`{"validate_oauth2_certificate_bound_access_token ":true}`), nil, nil)
	a = call(t, "GET", schema.base+"/", bearerHeader(schema.iss.Token(t, "RS256", schema.iss.Claims("premium-key"))))
	assert.Equal(t, http.StatusUnauthorized, a.status, "the schema's spelling: %s", a.body)

	keys, _, _ := startFAPIGateway(t, fapiChain(`{"validate_oauth2_certificate_bound_access_token":true}`))
	a = call(t, "GET", keys+"/?user_key=premium-key", nil)
	assert.Equal(t, answer{401, "application/json; charset=utf-8", unbound, a.header}, a, "no token at all")

	off := startOIDCGateway(t, fapiChain(`{"validate_x_fapi_customer_ip_address":false}`), nil, nil)
	a = call(t, "GET", off.base+"/", bearerHeader(off.iss.Token(t, "RS256", off.iss.Claims("premium-key"))))
	assert.Equal(t, http.StatusOK, a.status, "not checked unless asked: %s", a.body)
}

// RFC 8705 section 3.1, APIcast's tests 7 and 10: the token's cnf
// "x5t#S256" is the base64url SHA-256 of the DER client certificate the
// request came with over TLS: that certificate passes, another, none, or
// the thumbprint padded is refused. The token here is jwt_parser's, on a
// key service, over the gateway's TLS.
func TestPolicyFAPICertificateBoundTokenMatchesTheClientCertificate(t *testing.T) {
	iss := testenv.StartOIDCIssuer(t)
	certs := newTestCerts(t)
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, `[{"name":"jwt_parser","version":"builtin","enabled":true,"configuration":{"issuer_endpoint":"`+iss.URL+`"}},
			{"name":"fapi","version":"builtin","enabled":true,"configuration":{"validate_oauth2_certificate_bound_access_token":true}},
			{"name":"apicast","version":"builtin","enabled":true}]`)
	})
	up, _ := echoUpstream(t, "app")
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "gateway")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{TLS: TLS{CertFile: certFile, KeyFile: keyFile}})
	base := "https://" + strings.TrimPrefix(gw, "http://") + "/?user_key=premium-key"

	clientWith := func(name string) (*http.Client, *x509.Certificate) {
		c := tlsClient(certs.pool, false)
		if name == "" {
			return c, nil
		}
		cf, kf, leaf := certs.issue(t, pki.RoleClient, name)
		pair, err := tls.LoadX509KeyPair(cf, kf)
		require.NoError(t, err)
		c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{pair}
		return c, leaf
	}
	bound, leaf := clientWith("bound")
	other, _ := clientWith("other")
	none, _ := clientWith("")
	sum := sha256.Sum256(leaf.Raw)
	token := func(thumb string) string {
		c := iss.Claims("premium-key")
		c["cnf"] = map[string]any{"x5t#S256": thumb}
		return "Bearer " + iss.Token(t, "RS256", c)
	}
	get := func(c *http.Client, authorization string) (int, string) {
		req, err := http.NewRequest("GET", base, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", authorization)
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	tok := token(base64.RawURLEncoding.EncodeToString(sum[:]))
	status, body := get(bound, tok)
	assert.Equal(t, http.StatusOK, status, "the certificate the token is bound to: %s", body)
	assert.Equal(t, "app", body)
	for name, c := range map[string]*http.Client{"another certificate": other, "no certificate": none} {
		status, body = get(c, tok)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Equal(t, `{"error": "invalid_token"}`, body, name)
	}
	status, _ = get(bound, token(base64.URLEncoding.EncodeToString(sum[:])))
	assert.Equal(t, http.StatusUnauthorized, status, "padded: not the RFC's encoding")
	assert.Equal(t, 3.0, policyEvents(reg, "fapi", "unbound_token"))
}

// A configuration of the wrong type is refused, naming the field.
func TestPolicyFAPIConfigurationErrors(t *testing.T) {
	err := policy.Validate(policyChain(t, fapiChain(`{"validate_x_fapi_customer_ip_address":"yes"}`)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "validate_x_fapi_customer_ip_address")
	assert.Contains(t, err.Error(), "a boolean")
	assert.NoError(t, policy.Validate(policyChain(t, fapiChain(`{}`))))
}
