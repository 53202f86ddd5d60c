package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// jwtParserGateway is a key service (user_key) whose chain is jwt_parser
// with conf, the policies in after, then apicast; the headers policy sends
// the parsed token's sub to the app as X-Sub ({{ jwt.sub }}).
type jwtParserGateway struct {
	base string
	reg  *prometheus.Registry
	got  chan *http.Request
}

func startJWTParserGateway(t *testing.T, conf, after string, proxy func(*composition.Proxy)) *jwtParserGateway {
	t.Helper()
	chain := `[{"name":"jwt_parser","version":"builtin","enabled":true,"configuration":` + conf + `},` + after +
		`{"name":"headers","version":"builtin","enabled":true,"configuration":{"request":[
			{"op":"set","header":"X-Sub","value":"{{ jwt.sub }}","value_type":"liquid"}]}},
		{"name":"apicast","version":"builtin","enabled":true}]`
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) {
		p.PolicyChain = policyChain(t, chain)
		if proxy != nil {
			proxy(p)
		}
	})
	up, got := echoUpstream(t, "app")
	_, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return &jwtParserGateway{base: base, reg: reg, got: got}
}

// sub is the X-Sub the app saw for the last request: the parsed token's
// sub, "" without one.
func (jg *jwtParserGateway) sub(t *testing.T) string {
	t.Helper()
	select {
	case r := <-jg.got:
		return r.Header.Get("X-Sub")
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the app")
		return ""
	}
}

func issuerConf(iss *testenv.OIDCIssuer, required bool) string {
	if required {
		return `{"issuer_endpoint":"` + iss.URL + `","required":true}`
	}
	return `{"issuer_endpoint":"` + iss.URL + `"}`
}

// The README: "JWT Parser is used to parse the JSON Web Token (JWT) in the
// Authorization header and stores it in the request context that can be
// shared with other policies", its example with jwt_claim_check
// ({"op":"==","jwt_claim":"role","value":"admin"} on GET /resource,
// "Invalid JWT check"). The token is the issuer's, verified by discovery
// and its keys, on any service (here a user_key one); no client is needed
// (no azp). Without required, a request without a token, or with one that
// does not verify, goes on without claims.
func TestPolicyJWTParserStoresTheTokenForLaterPolicies(t *testing.T) {
	iss := testenv.StartOIDCIssuer(t)
	jg := startJWTParserGateway(t, issuerConf(iss, false), `{"name":"jwt_claim_check","version":"builtin","enabled":true,
		"configuration":{"error_message":"Invalid JWT check","rules":[{"operations":[
			{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"admin"}],
			"combine_op":"and","methods":["GET"],"resource":"/resource","resource_type":"plain"}]}},`, nil)
	key := "?user_key=premium-key"
	admin := iss.Claims("premium-key")
	admin["role"] = "admin"
	a := call(t, "GET", jg.base+"/resource"+key, bearerHeader(iss.Token(t, "RS256", admin)))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, "user-1", jg.sub(t), "{{ jwt.sub }} of the parsed token")
	delete(admin, "azp")
	a = call(t, "GET", jg.base+"/resource"+key, bearerHeader(iss.Token(t, "ES256", admin)))
	require.Equal(t, http.StatusOK, a.status, "no azp: no client is asked for: %s", a.body)
	jg.sub(t)

	user := iss.Claims("premium-key")
	user["role"] = "user"
	a = call(t, "GET", jg.base+"/resource"+key, bearerHeader(iss.Token(t, "RS256", user)))
	assert.Equal(t, answer{403, "text/plain; charset=utf-8", "Invalid JWT check\n", a.header}, a)
	a = call(t, "GET", jg.base+"/resource"+key, nil)
	assert.Equal(t, http.StatusForbidden, a.status, "no token: no claim holds")

	expired := iss.Claims("premium-key")
	expired["role"], expired["exp"] = "admin", time.Now().Add(-time.Hour).Unix()
	for name, h := range map[string]http.Header{
		"no token": nil, "expired": bearerHeader(iss.Token(t, "RS256", expired)),
		"unsigned": bearerHeader(iss.Token(t, "none", admin)), "not a JWT": bearerHeader("abc"),
		"empty": {"Authorization": {"Bearer"}}, "basic": {"Authorization": {"Basic dXNlcjpwYXNz"}},
	} {
		a := call(t, "GET", jg.base+"/other"+key, h)
		require.Equal(t, http.StatusOK, a.status, "%s: not required, the request goes on: %s", name, a.body)
		assert.Empty(t, jg.sub(t), "%s: no claims", name)
	}
	assert.Equal(t, 4.0, policyEvents(jg.reg, "jwt_parser", "refused"), "expired, unsigned, not a JWT, empty")
}

// required: "If required flag is set to true and no JWT token is sent,
// APIcast will reject the request and send HTTP WWW-Authenticate response
// header. If required flag is set to true and [the] JWT token is invalid,
// APIcast will also reject the request." Both with the service's
// auth_failed_status (APIcast's spec: 403, its default), WWW-Authenticate:
// Bearer only for the missing token; here the body is the service's
// error_auth_failed. A header of another scheme is no token.
func TestPolicyJWTParserRequired(t *testing.T) {
	iss := testenv.StartOIDCIssuer(t)
	jg := startJWTParserGateway(t, issuerConf(iss, true), "", nil)
	key := "/?user_key=premium-key"
	for name, h := range map[string]http.Header{"none": nil, "basic": {"Authorization": {"Basic dXNlcjpwYXNz"}}} {
		a := call(t, "GET", jg.base+key, h)
		assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", a.header}, a, name)
		assert.Equal(t, "Bearer", a.header.Get("WWW-Authenticate"), name)
	}
	other := testenv.StartOIDCIssuer(t)
	expired := iss.Claims("premium-key")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	for name, tok := range map[string]string{
		"expired": iss.Token(t, "RS256", expired), "another issuer's": other.Token(t, "RS256", other.Claims("premium-key")),
		"HS256 under the public key": iss.Token(t, "HS256", iss.Claims("premium-key")), "not a JWT": "abc", "empty": "",
	} {
		a := call(t, "GET", jg.base+key, bearerHeader(tok))
		assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", a.header}, a, name)
		assert.Empty(t, a.header.Get("WWW-Authenticate"), "%s: invalid, not missing", name)
	}
	assert.Empty(t, jg.got, "nothing refused reaches the app")
	assert.Equal(t, 2.0, policyEvents(jg.reg, "jwt_parser", "missing"))
	assert.Equal(t, 5.0, policyEvents(jg.reg, "jwt_parser", "refused"))

	a := call(t, "GET", jg.base+key, http.Header{"Authorization": {"bearer " + iss.Token(t, "ES256", iss.Claims("premium-key"))}})
	require.Equal(t, http.StatusOK, a.status, "the scheme in any case: %s", a.body)
	assert.Equal(t, "user-1", jg.sub(t))

	custom := startJWTParserGateway(t, issuerConf(iss, true), "", func(p *composition.Proxy) {
		p.ErrorStatusAuthFailed, p.ErrorAuthFailed, p.ErrorHeadersAuthFailed = 401, "who are you?", "text/plain"
	})
	a = call(t, "GET", custom.base+key, nil)
	assert.Equal(t, answer{401, "text/plain", "who are you?\n", a.header}, a, "the service's auth failed answer")
	assert.Equal(t, "Bearer", a.header.Get("WWW-Authenticate"))
}

// The README's second example: jwt_parser (required) before
// keycloak_role_check on a service that is not OpenID Connect; the role
// check reads the parsed token's realm_access.roles.
func TestPolicyJWTParserFeedsKeycloakRoleCheck(t *testing.T) {
	iss := testenv.StartOIDCIssuer(t)
	jg := startJWTParserGateway(t, issuerConf(iss, true), `{"name":"keycloak_role_check","version":"builtin","enabled":true,
		"configuration":{"scopes":[{"realm_roles":[{"name":"foo"}],"resource":"/confidential"}]}},`, nil)
	foo := iss.Claims("premium-key")
	foo["realm_access"] = map[string]any{"roles": []string{"foo"}}
	a := call(t, "GET", jg.base+"/confidential?user_key=premium-key", bearerHeader(iss.Token(t, "RS256", foo)))
	require.Equal(t, http.StatusOK, a.status, a.body)
	jg.sub(t)
	a = call(t, "GET", jg.base+"/confidential?user_key=premium-key", bearerHeader(iss.Token(t, "RS256", iss.Claims("premium-key"))))
	assert.Equal(t, http.StatusForbidden, a.status, "no realm role foo")
}

// "NOTE: Not compatible with OIDC authentication mode. When this policy is
// added to a service configured with OIDC authentication mode, APIcast
// will print a warning about the incompatibility and ignore the policy."
// Here it names another issuer and is required: the service's own tokens
// still pass, verified by the apicast element.
func TestPolicyJWTParserIsIgnoredOnOpenIDConnectServices(t *testing.T) {
	other := testenv.StartOIDCIssuer(t)
	og := startOIDCGateway(t, `[{"name":"jwt_parser","version":"builtin","enabled":true,
		"configuration":{"issuer_endpoint":"`+other.URL+`","required":true}},
		{"name":"apicast","version":"builtin","enabled":true}]`, nil, nil)
	a := call(t, "GET", og.base+"/", bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("premium-key"))))
	assert.Equal(t, http.StatusOK, a.status, a.body)
	assert.Zero(t, policyEvents(og.reg, "jwt_parser", "refused"))
}

// The issuer is read by the gateway's own issuer client (DESIGN: HTTPS
// everywhere off loopback): a plain-HTTP issuer_endpoint off loopback is
// never read, and its tokens are refused; credentials in the endpoint (as
// 3scale stores issuer endpoints) are dropped, and work on loopback.
func TestPolicyJWTParserIssuerUnderTheGatewaysRules(t *testing.T) {
	ci := startCraftIssuer(t, false)
	front, _ := offLoopback(t, ci)
	jg := startJWTParserGateway(t, `{"issuer_endpoint":"http://`+front+`/realms/craft","required":true}`, "", nil)
	a := call(t, "GET", jg.base+"/?user_key=premium-key", bearerHeader(ci.Token(t, "RS256", ci.Claims("premium-key"))))
	assert.Equal(t, http.StatusForbidden, a.status, a.body)
	assert.Zero(t, ci.discoveryFetches.Load(), "nothing is read in clear off loopback")

	iss := testenv.StartOIDCIssuer(t)
	withCreds := strings.Replace(iss.URL, "http://", "http://gateway-client:s3cret@", 1)
	jg = startJWTParserGateway(t, `{"issuer_endpoint":"`+withCreds+`","required":true}`, "", nil)
	a = call(t, "GET", jg.base+"/?user_key=premium-key", bearerHeader(iss.Token(t, "RS256", iss.Claims("premium-key"))))
	assert.Equal(t, http.StatusOK, a.status, a.body)
}

// The schema: issuer_endpoint, "URL of OpenID Provider", a string;
// required a boolean. An endpoint missing or not an http(s) URL is
// refused naming the field (APIcast builds the policy and then refuses
// every token), never repeating credentials; the service fails closed.
func TestPolicyJWTParserConfigurationErrors(t *testing.T) {
	for conf, want := range map[string]string{
		`{}`:                                    "configuration.issuer_endpoint: is required",
		`{"issuer_endpoint":"  "}`:              "configuration.issuer_endpoint: is required",
		`{"issuer_endpoint":"sso.example.com"}`: "configuration.issuer_endpoint: is not an http(s) URL",
		`{"issuer_endpoint":"ftp://client:s3cret@sso.example.com/realms/x"}`: "configuration.issuer_endpoint: is not an http(s) URL",
		`{"issuer_endpoint":"https://sso.example.com","required":"yes"}`:     "configuration.required: must be a boolean",
		`{"issuer_endpoint":7}`: "configuration.issuer_endpoint: must be a string",
	} {
		err := policy.Validate(policyChain(t, `[{"name":"jwt_parser","version":"builtin","enabled":true,"configuration":`+conf+`}]`))
		require.Error(t, err, conf)
		assert.Contains(t, err.Error(), want, conf)
		assert.NotContains(t, err.Error(), "s3cret", conf)
	}
	cg := startChainGateway(t, `[{"name":"jwt_parser","version":"builtin","enabled":true,"configuration":{}},
		{"name":"apicast","version":"builtin","enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, "issuer_endpoint")
}
