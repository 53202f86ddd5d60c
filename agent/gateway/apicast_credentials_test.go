package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// missingOrFailed starts a gateway for a service of backendVersion, with a
// rule "/" for each of rules' methods besides GET, whose "credentials
// missing" answer (401) differs from its "authentication failed" one
// (403), so a test tells which one APIcast's logic reached.
func missingOrFailed(t *testing.T, backendVersion, location string, rules ...string) (*gatewayFixture, string) {
	t.Helper()
	f := newGatewayFixture(t, backendVersion)
	for _, method := range rules {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: method, Pattern: "/", Delta: 1}))
	}
	f.proxy(t, func(p *composition.Proxy) {
		p.CredentialsLocation = location
		p.ErrorStatusAuthMissing, p.ErrorAuthMissing = http.StatusUnauthorized, "credentials missing!"
	})
	up, _ := echoUpstream(t, "app")
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	return f, base
}

var (
	credentialsMissing = answer{status: http.StatusUnauthorized, body: "credentials missing!\n"}
	authFailed         = answer{status: http.StatusForbidden, body: "Authentication failed\n"}
)

func statusAndBody(a answer) answer { return answer{status: a.status, body: a.body} }

// APIcast's credentials for backend version 2 are a tuple of two
// (configuration/service.lua: "return setmetatable({ app_id, app_key, ... },
// credentials_v2_mt)", credentials_v2_mt = tuple_mt(2)), and proxy.lua asks
// backend only when every element is there:
//
//	for i=1,#credentials do
//	  local val = credentials[i]
//	  if not val then
//	    return errors.no_credentials(service)
//
// So an app_id without an app_key is "credentials missing", never an
// authrep with the app_id alone, even for an application without keys,
// which apisonator would authorize. An app_key sent empty is an app_key
// (nginx's $arg_app_key is "" for "app_key="), and apisonator's listener
// turns it into none (normalize_non_empty_keys!), which a keyless
// application accepts (lib/3scale/backend/listener.rb).
func TestAppIDWithoutAppKeyIsMissingCredentials(t *testing.T) {
	_, base := missingOrFailed(t, backendAppID, composition.CredentialsQuery)
	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base+"/?app_id=basic-key", nil)), "an application with keys")
	assert.Equal(t, authFailed, statusAndBody(call(t, "GET", base+"/?app_id=basic-key&app_key=wrong", nil)))
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/?app_id=basic-key&app_key=basic-key-secret", nil).status)
	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base+"/?app_key=basic-key-secret", nil)), "an app_key alone")
	assert.Equal(t, authFailed, statusAndBody(call(t, "GET", base+"/?app_id=&app_key=basic-key-secret", nil)),
		"an app_id sent empty is given: backend finds no application")
}

// The same for an application without keys.
func TestAppIDWithoutAppKeyIsMissingForKeylessApplications(t *testing.T) {
	f := newGatewayFixture(t, backendAppID)
	keyless := *f.premiumApp
	keyless.AppKeys = nil
	require.NoError(t, f.tx.Update(&keyless))
	f.proxy(t, func(p *composition.Proxy) {
		p.ErrorStatusAuthMissing, p.ErrorAuthMissing = http.StatusUnauthorized, "credentials missing!"
	})
	up, _ := echoUpstream(t, "app")
	_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})

	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base+"/?app_id=premium-key", nil)),
		"APIcast never asks backend with an app_id alone")
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/?app_id=premium-key&app_key=", nil).status,
		"an empty app_key is sent, and a keyless application needs none")
}

// With the query location APIcast reads what the query lacks from a form
// body ("if not app_id or not app_key then local body =
// read_body_args(app_id_name, app_key_name); app_id = app_id or body[1];
// app_key = app_key or body[2]"), only for "POST = true, PUT = true, PATCH
// = true".
func TestAppKeyFromFormBodyCompletesQueryAppID(t *testing.T) {
	_, base := missingOrFailed(t, backendAppID, composition.CredentialsQuery, "POST", "DELETE")
	post := func(method, target, body string) answer {
		req, err := http.NewRequest(method, target, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		return answer{status: resp.StatusCode}
	}
	assert.Equal(t, http.StatusOK, post("POST", base+"/?app_id=premium-key", "app_key=premium-key-secret").status)
	assert.Equal(t, http.StatusUnauthorized, post("DELETE", base+"/?app_id=premium-key", "app_key=premium-key-secret").status,
		"no body is read for DELETE")
}

// Backend version 1: "user_key = ngx.var['arg_' .. name] or
// read_body_args(name)[1]" is "" for "?user_key=", which is not nil, so
// proxy.lua sends it to backend; apisonator's listener makes an empty
// user_key none ("params[labs] = nil if (params[labs]==\"\" ...") and
// finds no application (with_app_id_from_params: "raise
// ApplicationNotFound"): APIcast answers "authentication failed", not
// "credentials missing". A query "?user_key" without "=" has no value for
// nginx's $arg_user_key at all.
func TestEmptyUserKeyIsAuthenticationFailed(t *testing.T) {
	_, base := missingOrFailed(t, backendUserKey, composition.CredentialsQuery)
	assert.Equal(t, authFailed, statusAndBody(call(t, "GET", base+"/?user_key=", nil)))
	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base+"/?user_key", nil)))
	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base+"/", nil)))
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/?user_key=basic-key", nil).status)

	_, hbase := missingOrFailed(t, backendUserKey, composition.CredentialsHeaders)
	assert.Equal(t, authFailed, statusAndBody(call(t, "GET", hbase+"/", http.Header{"User-Key": {""}})),
		"a header sent empty: nginx's $http_user_key is \"\"")
}

// An empty user_key is given, so default_credentials (creds_missing:
// "return service_creds.user_key == nil") does not replace it.
func TestEmptyUserKeyGetsNoDefaultCredentials(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"default_credentials","version":"builtin","enabled":true,
		"configuration":{"auth_type":"user_key","user_key":"basic-key"}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/", nil).status, "none given: the default one")
	a := call(t, "GET", cg.base+"/?user_key=", nil)
	assert.Equal(t, authFailed, statusAndBody(a), "given empty: refused as APIcast's backend refuses it")
}

// With credentials in the Authorization header, backend version 1 takes
// "auth.userid or auth.password or auth.token" (service.lua), so a Bearer
// token is the user_key; version 2 takes "app_id = auth.userid or
// auth.token", so a Bearer token is an app_id without an app_key: missing.
// resty/http_authorization.lua splits Basic with "^(.*):(.*)$", at the last
// colon.
func TestAuthorizationHeaderCredentialsAsAPIcastReadsThem(t *testing.T) {
	_, base := missingOrFailed(t, backendUserKey, composition.CredentialsAuthorization)
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/", http.Header{"Authorization": {"Bearer basic-key"}}).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/", http.Header{"Authorization": {basic("basic-key", "")}}).status)
	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base+"/", http.Header{"Authorization": {"Digest x"}})))

	_, base2 := missingOrFailed(t, backendAppID, composition.CredentialsAuthorization)
	assert.Equal(t, credentialsMissing, statusAndBody(call(t, "GET", base2+"/", http.Header{"Authorization": {"Bearer basic-key"}})))
	assert.Equal(t, http.StatusOK, call(t, "GET", base2+"/", http.Header{"Authorization": {basic("basic-key", "basic-key-secret")}}).status)
	assert.Equal(t, authFailed, statusAndBody(call(t, "GET", base2+"/", http.Header{"Authorization": {basic("basic-key:basic", "key-secret")}})),
		"split at the last colon: app_id basic-key:basic")
}

// proxy.lua's rewrite turns an OpenID Connect token into credentials
// ("credentials, ttl, jwt_payload, err =
// self.oauth:transform_credentials(credentials, service.id); if err then
// ... return errors.authorization_failed(service)"), while "no match" is
// the access phase's authorize ("if encoded_usage == ” then return
// errors.no_match(service)"): a refused token is "authentication failed"
// whatever the rules match, and no token at all is "credentials missing".
func TestOIDCRefusedTokenIsRefusedBeforeRulesMatch(t *testing.T) {
	og := startOIDCGateway(t, "", nil, nil)
	a := call(t, "POST", og.base+"/articles", bearerHeader("abc.def.ghi"))
	assert.Equal(t, http.StatusForbidden, a.status, "no rule matches POST, but the token is refused first: %s", a.body)
	assert.Equal(t, "Authentication failed\n", a.body)
	a = call(t, "POST", og.base+"/articles", nil)
	assert.Equal(t, "Authentication parameters missing\n", a.body)
	a = call(t, "POST", og.base+"/articles", bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("basic-key"))))
	assert.Equal(t, http.StatusNotFound, a.status, "a valid token, no rule: no match")
}
