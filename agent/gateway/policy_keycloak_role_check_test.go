package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// roleCheckChain is keycloak_role_check in front of apicast.
func roleCheckChain(conf string) string {
	return `[{"name":"keycloak_role_check","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true}]`
}

// roleToken is a bearer header for premium's client with the test issuer's
// valid claims and those of edit.
func roleToken(t *testing.T, og *oidcGateway, edit func(c map[string]any)) http.Header {
	t.Helper()
	c := og.iss.Claims("premium-key")
	if edit != nil {
		edit(c)
	}
	return bearerHeader(og.iss.Token(t, "RS256", c))
}

func realmRoles(roles ...string) func(c map[string]any) {
	return func(c map[string]any) { c["realm_access"] = map[string]any{"roles": roles} }
}

func clientRoles(client string, roles ...string) func(c map[string]any) {
	return func(c map[string]any) {
		c["resource_access"] = map[string]any{client: map[string]any{"roles": roles}}
	}
}

// The README: "When you want to allow those who have the realm role role1
// to access /resource1": {"scopes":[{"realm_roles":[{"name":"role1"}],
// "resource":"/resource1"}]}. The resource is "the same format as Mapping
// Rules" (a prefix; '$' for an exact match). A whitelist refuses what no
// scope grants, other paths too, with APIcast's
// errors.authorization_failed: the service's "Authentication failed".
func TestPolicyKeycloakRoleCheckRealmRoleWhitelist(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"scopes":[{"realm_roles":[{"name":"role1"}],"resource":"/resource1"}]}`), nil, nil)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/resource1", roleToken(t, og, realmRoles("role1"))).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/resource1/sub", roleToken(t, og, realmRoles("other", "role1"))).status, "a prefix, as mapping rules")
	denied := call(t, "GET", og.base+"/resource1", roleToken(t, og, realmRoles("role2")))
	assert.Equal(t, answer{403, "text/plain; charset=us-ascii", "Authentication failed\n", nil}, strip(denied))
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/resource1", roleToken(t, og, nil)).status, "no realm_access")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/resource1", roleToken(t, og, func(c map[string]any) {
		c["realm_access"] = map[string]any{"roles": "role1"}
	})).status, "roles not an array: none")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/other", roleToken(t, og, realmRoles("role1"))).status,
		"a whitelist refuses paths no scope matches")
	assert.Equal(t, 4.0, policyEvents(og.reg, "keycloak_role_check", "denied"))
	assert.EqualValues(t, 2, og.hits(og.f.premiumApp), "a refused request is not counted")
}

// "When you want to allow those who have the client client1's role role1
// to access /resource1": {"client_roles":[{"name":"role1","client":
// "client1"}]}, the token's resource_access.client1.roles. "... the realm
// role role1 and role2": every role of a scope is needed. "... role1 or
// role2 [...] Specify the scope for each role": any scope may grant.
func TestPolicyKeycloakRoleCheckClientRolesAndCombinations(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"scopes":[
		{"client_roles":[{"name":"role1","client":"client1"}],"resource":"/client"},
		{"realm_roles":[{"name":"role1"},{"name":"role2"}],"resource":"/both"},
		{"realm_roles":[{"name":"role1"}],"resource":"/either"},
		{"realm_roles":[{"name":"role2"}],"resource":"/either"}]}`), nil, nil)
	assert.Equal(t, 200, call(t, "GET", og.base+"/client", roleToken(t, og, clientRoles("client1", "role1"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/client", roleToken(t, og, clientRoles("client2", "role1"))).status, "another client's role")
	assert.Equal(t, 403, call(t, "GET", og.base+"/client", roleToken(t, og, realmRoles("role1"))).status, "a realm role is not a client role")

	assert.Equal(t, 200, call(t, "GET", og.base+"/both", roleToken(t, og, realmRoles("role2", "role1"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/both", roleToken(t, og, realmRoles("role1"))).status)

	assert.Equal(t, 200, call(t, "GET", og.base+"/either", roleToken(t, og, realmRoles("role1"))).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/either", roleToken(t, og, realmRoles("role2"))).status, "the second scope grants")
	assert.Equal(t, 403, call(t, "GET", og.base+"/either", roleToken(t, og, realmRoles("role3"))).status)
}

// "When you want to allow those who don't have the realm role role1 to
// access /resource1. Specify the "blacklist"": a request a scope grants is
// refused, every other passes, paths no scope matches among them.
func TestPolicyKeycloakRoleCheckBlacklist(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"type":"blacklist","scopes":[{"realm_roles":[{"name":"role1"}],"resource":"/resource1"}]}`), nil, nil)
	assert.Equal(t, 403, call(t, "GET", og.base+"/resource1", roleToken(t, og, realmRoles("role1"))).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/resource1", roleToken(t, og, realmRoles("role2"))).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/resource1", roleToken(t, og, nil)).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/other", roleToken(t, og, realmRoles("role1"))).status)
}

// Liquid, the README's last three examples: a client of "{{ jwt.aud }}"
// (client_type liquid), a role name "role_{{ jwt.aud }}" (name_type
// liquid), a resource "/resource_{{ jwt.aud }}" (resource_type liquid).
// The test issuer's tokens have aud "account".
func TestPolicyKeycloakRoleCheckLiquid(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"scopes":[
		{"client_roles":[{"name":"role1","client":"{{ jwt.aud }}","client_type":"liquid"}],"resource":"/aud-client"},
		{"client_roles":[{"name":"role_{{ jwt.aud }}","name_type":"liquid","client":"client1"}],"resource":"/aud-role"},
		{"client_roles":[{"name":"role1","client":"client1"}],"resource":"/resource_{{ jwt.aud }}","resource_type":"liquid"}]}`), nil, nil)
	assert.Equal(t, 200, call(t, "GET", og.base+"/aud-client", roleToken(t, og, clientRoles("account", "role1"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/aud-client", roleToken(t, og, clientRoles("client1", "role1"))).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/aud-role", roleToken(t, og, clientRoles("client1", "role_account"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/aud-role", roleToken(t, og, clientRoles("client1", "role_{{ jwt.aud }}"))).status, "rendered, not literal")
	assert.Equal(t, 200, call(t, "GET", og.base+"/resource_account", roleToken(t, og, clientRoles("client1", "role1"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/resource_other", roleToken(t, og, clientRoles("client1", "role1"))).status, "no scope matches")
	plain := startOIDCGateway(t, roleCheckChain(`{"scopes":[{"realm_roles":[{"name":"{{ jwt.aud }}"}],"resource":"/"}]}`), nil, nil)
	assert.Equal(t, 200, call(t, "GET", plain.base+"/", roleToken(t, plain, realmRoles("{{ jwt.aud }}"))).status, "plain by default: literal")
}

// methods: "Allowed methods", default ["ANY"] (README: "to access
// /resource1 and only methods GET and POST"). A scope applies only to its
// methods' requests: with a blacklist on POST, GET passes; with a whitelist
// on GET whose unmatched requests pass, POST needs no role.
func TestPolicyKeycloakRoleCheckMethods(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"type":"blacklist","scopes":[
		{"realm_roles":[{"name":"director"}],"resource":"/confidential","methods":["POST"]}]}`), nil, nil)
	mapPOST(t, og)
	director := realmRoles("director")
	assert.Equal(t, 403, call(t, "POST", og.base+"/confidential", roleToken(t, og, director)).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/confidential", roleToken(t, og, director)).status, "GET is not among the scope's methods")
	assert.Equal(t, 200, call(t, "POST", og.base+"/confidential", roleToken(t, og, realmRoles("clerk"))).status)

	og = startOIDCGateway(t, roleCheckChain(`{"whitelist_deny_unmatched":false,"scopes":[
		{"realm_roles":[{"name":"role1"}],"resource":"/resource1","methods":["GET"]}]}`), nil, nil)
	mapPOST(t, og)
	assert.Equal(t, 200, call(t, "GET", og.base+"/resource1", roleToken(t, og, realmRoles("role1"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/resource1", roleToken(t, og, nil)).status)
	assert.Equal(t, 200, call(t, "POST", og.base+"/resource1", roleToken(t, og, nil)).status, "POST: no scope applies")
}

// mapPOST adds a POST / mapping rule to the OIDC gateway's service.
func mapPOST(t *testing.T, og *oidcGateway) {
	t.Helper()
	require.NoError(t, og.f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: og.f.svc.ID,
		MetricID: og.f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	_, err := og.g.Update(agentView(t, og.f.tx.Result(), og.f.svc.SystemName), og.f.placement(og.f.basic, og.f.premium))
	require.NoError(t, err)
}

// whitelist_deny_unmatched (APIcast's newer manifest): "When true
// (default), requests to paths not matching any configured scope are
// denied. When false, unmatched paths are allowed through." The README's
// example: "Requests to /admin require the admin realm role. Requests to
// any other path are allowed regardless of roles." It "has no effect when
// type is "blacklist"".
func TestPolicyKeycloakRoleCheckWhitelistDenyUnmatched(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"scopes":[{"realm_roles":[{"name":"admin"}],"resource":"/admin"}],
		"whitelist_deny_unmatched":false}`), nil, nil)
	assert.Equal(t, 200, call(t, "GET", og.base+"/admin", roleToken(t, og, realmRoles("admin"))).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/admin", roleToken(t, og, realmRoles("user"))).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/articles", roleToken(t, og, nil)).status)

	og = startOIDCGateway(t, roleCheckChain(`{"type":"blacklist","scopes":[{"realm_roles":[{"name":"admin"}],"resource":"/admin"}],
		"whitelist_deny_unmatched":true}`), nil, nil)
	assert.Equal(t, 200, call(t, "GET", og.base+"/articles", roleToken(t, og, realmRoles("admin"))).status)
}

// A refusal is errors.authorization_failed(service): the proxy's own
// error_auth_failed, error_status_auth_failed and error_headers_auth_failed.
func TestPolicyKeycloakRoleCheckUsesTheServiceAuthFailedAnswer(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"scopes":[{"realm_roles":[{"name":"role1"}],"resource":"/"}]}`), nil,
		func(p *composition.Proxy) {
			p.ErrorAuthFailed, p.ErrorStatusAuthFailed, p.ErrorHeadersAuthFailed = `{"error":"no role"}`, 401, "application/json"
		})
	a := call(t, "GET", og.base+"/", roleToken(t, og, realmRoles("role2")))
	assert.Equal(t, answer{401, "application/json", "{\"error\":\"no role\"}\n", nil}, strip(a))
}

// Without a token (a service that is not OpenID Connect) there is no role:
// APIcast's check finds no context.jwt, so a whitelist refuses and a
// blacklist lets the request through.
func TestPolicyKeycloakRoleCheckWithoutToken(t *testing.T) {
	cg := startChainGateway(t, roleCheckChain(`{"scopes":[{"realm_roles":[{"name":"role1"}],"resource":"/"}],"whitelist_deny_unmatched":false}`))
	assert.Equal(t, http.StatusForbidden, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status)
	cg = startChainGateway(t, roleCheckChain(`{"type":"blacklist","scopes":[{"realm_roles":[{"name":"role1"}],"resource":"/"}]}`))
	assert.Equal(t, http.StatusOK, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status)
}

// A Liquid resource that renders to no mapping-rule pattern (an error in
// APIcast's access phase) refuses the request, a blacklist's too.
func TestPolicyKeycloakRoleCheckUnrenderableResourceRefuses(t *testing.T) {
	og := startOIDCGateway(t, roleCheckChain(`{"type":"blacklist","scopes":[
		{"realm_roles":[{"name":"role1"}],"resource":"{{ jwt.res }}","resource_type":"liquid"}]}`), nil, nil)
	assert.Equal(t, 200, call(t, "GET", og.base+"/a", roleToken(t, og, func(c map[string]any) { c["res"] = "/b" })).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/a", roleToken(t, og, nil)).status, "renders empty")
}

// The configuration is checked as the manifest's schema says, errors naming
// the field; the service then fails closed (503). A scope without a
// resource, a role without a name and a client role without a client are
// refused too.
func TestPolicyKeycloakRoleCheckSchema(t *testing.T) {
	for conf, field := range map[string]string{
		`{"type":"greylist"}`:                                                                      "type",
		`{"scopes":[{"realm_roles":[]}]}`:                                                          "scopes[0].resource",
		`{"scopes":[{"resource":"resource1"}]}`:                                                    "scopes[0].resource",
		`{"scopes":[{"resource":"/{% if %}","resource_type":"liquid"}]}`:                           "scopes[0].resource",
		`{"scopes":[{"resource":"/","resource_type":"jinja"}]}`:                                    "scopes[0].resource_type",
		`{"scopes":[{"resource":"/","methods":["FETCH"]}]}`:                                        "scopes[0].methods[0]",
		`{"scopes":[{"resource":"/","realm_roles":[{"name_type":"plain"}]}]}`:                      "scopes[0].realm_roles[0].name",
		`{"scopes":[{"resource":"/","realm_roles":[{"name":"a","name_type":"x"}]}]}`:               "scopes[0].realm_roles[0].name_type",
		`{"scopes":[{"resource":"/","client_roles":[{"name":"a"}]}]}`:                              "scopes[0].client_roles[0].client",
		`{"scopes":[{"resource":"/","client_roles":[{"client":"c"}]}]}`:                            "scopes[0].client_roles[0].name",
		`{"scopes":[{"resource":"/","client_roles":[{"name":"a","client":"c","client_type":1}]}]}`: "scopes.client_roles.client_type",
		`{"whitelist_deny_unmatched":"no"}`:                                                        "whitelist_deny_unmatched",
	} {
		cg := startChainGateway(t, roleCheckChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field, conf)
	}
}
