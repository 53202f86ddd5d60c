package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claimCheckChain is jwt_claim_check in front of apicast with the given
// configuration.
func claimCheckChain(conf string) string {
	return `[{"name":"jwt_claim_check","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true}]`
}

// The README's example: "error_message": "Invalid JWT check", a rule on
// GET /resource whose operation is role == admin (plain claim). A token
// whose claim holds passes; one whose claim differs, or that lacks it, is
// refused with 403 and the error message; and "in case that the method
// resource does not match, the request will continue to the backend API".
func TestPolicyJWTClaimCheckReadmeExample(t *testing.T) {
	og := startOIDCGateway(t, claimCheckChain(`{"error_message":"Invalid JWT check","rules":[
		{"operations":[{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"admin"}],
		 "combine_op":"and","methods":["GET"],"resource":"/resource","resource_type":"plain"}]}`), nil, nil)
	token := func(role string) http.Header {
		c := og.iss.Claims("premium-key")
		if role != "" {
			c["role"] = role
		}
		return bearerHeader(og.iss.Token(t, "RS256", c))
	}
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/resource", token("admin")).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/resource/1", token("admin")).status, "a prefix, as mapping rules")
	denied := call(t, "GET", og.base+"/resource", token("user"))
	assert.Equal(t, http.StatusForbidden, denied.status)
	assert.Equal(t, "Invalid JWT check\n", denied.body)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/resource/1", token("")).status, "no claim: empty, not admin")
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/other", token("user")).status, "another resource continues")
	assert.Equal(t, 2.0, policyEvents(og.reg, "jwt_claim_check", "denied"))
	assert.EqualValues(t, 3, og.hits(og.f.premiumApp), "a denied request is not counted")
}

// methods: "Allowed methods", default ["ANY"]; a rule whose methods do not
// include the request's does not apply. resource: "to make an exact match
// you need to use '$' at the end". error_message defaults to APIcast's.
func TestPolicyJWTClaimCheckMethodsResourceAndDefaults(t *testing.T) {
	og := startOIDCGateway(t, claimCheckChain(`{"rules":[
		{"operations":[{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"admin"}],"methods":["POST","DELETE"],"resource":"/"},
		{"operations":[{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"reader"}],"resource":"/exact$"}]}`), nil, nil)
	tok := func(role string) http.Header {
		c := og.iss.Claims("premium-key")
		c["role"] = role
		return bearerHeader(og.iss.Token(t, "RS256", c))
	}
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/anything", tok("user")).status, "GET is not among the rule's methods")
	denied := call(t, "GET", og.base+"/exact", tok("user"))
	assert.Equal(t, http.StatusForbidden, denied.status, "methods default to ANY")
	assert.Equal(t, "Request blocked due to JWT claim policy\n", denied.body)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/exact", tok("reader")).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/exact/more", tok("user")).status, "'$': exact, /exact/more is another resource")
}

// APIcast takes a rule's methods as given ("methods = rule.methods or
// default_allowed_methods": an empty list is a Lua table, not nil) and the
// rule applies only when one of them matches the request
// (is_rule_denied_request: "if not mapping_rule_match then return false"):
// a rule with "methods": [] denies nothing; one without methods applies to
// every method.
func TestPolicyJWTClaimCheckEmptyMethodsApplyToNone(t *testing.T) {
	og := startOIDCGateway(t, claimCheckChain(`{"rules":[
		{"operations":[{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"admin"}],"methods":[],"resource":"/none"},
		{"operations":[{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"admin"}],"resource":"/every"}]}`), nil, nil)
	c := og.iss.Claims("premium-key")
	c["role"] = "user"
	user := bearerHeader(og.iss.Token(t, "RS256", c))
	assert.Equal(t, http.StatusOK, call(t, "GET", og.base+"/none", user).status, "a rule with no methods applies to none")
	assert.Equal(t, http.StatusForbidden, call(t, "GET", og.base+"/every", user).status, "a rule without methods applies to every one")
}

// combine_op "or": one operation holding is enough; "matches" is a regular
// expression (PCRE in APIcast), unanchored; != negates; a liquid jwt_claim
// reaches nested claims and a liquid value renders claims too.
func TestPolicyJWTClaimCheckOperations(t *testing.T) {
	og := startOIDCGateway(t, claimCheckChain(`{"rules":[
		{"combine_op":"or","resource":"/or","operations":[
			{"op":"matches","jwt_claim":"email","jwt_claim_type":"plain","value":"@example\\.com$"},
			{"op":"==","jwt_claim":"{{realm_access.roles[0]}}","jwt_claim_type":"liquid","value":"admin"}]},
		{"resource":"/and","operations":[
			{"op":"!=","jwt_claim":"sub","jwt_claim_type":"plain","value":"banned"},
			{"op":"==","jwt_claim":"owner","jwt_claim_type":"plain","value":"{{sub}}","value_type":"liquid"}]}]}`), nil, nil)
	tok := func(edit func(c map[string]any)) http.Header {
		c := og.iss.Claims("premium-key")
		edit(c)
		return bearerHeader(og.iss.Token(t, "ES256", c))
	}
	assert.Equal(t, 200, call(t, "GET", og.base+"/or", tok(func(c map[string]any) { c["email"] = "a@example.com" })).status)
	assert.Equal(t, 200, call(t, "GET", og.base+"/or", tok(func(c map[string]any) {
		c["email"] = "a@elsewhere.org"
		c["realm_access"] = map[string]any{"roles": []string{"admin", "user"}}
	})).status, "the second operation holds")
	assert.Equal(t, 403, call(t, "GET", og.base+"/or", tok(func(c map[string]any) { c["email"] = "a@example.com.evil" })).status)

	assert.Equal(t, 200, call(t, "GET", og.base+"/and", tok(func(c map[string]any) { c["owner"] = c["sub"] })).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/and", tok(func(c map[string]any) { c["owner"] = "someone-else" })).status)
	assert.Equal(t, 403, call(t, "GET", og.base+"/and", tok(func(c map[string]any) { c["sub"], c["owner"] = "banned", "banned" })).status)
}

// enable_extended_context: "Whether to enable extened context when
// evaluate the condition": the templates see the whole context, the claims
// under jwt (APIcast prefixes a plain claim with "jwt."), the request's
// headers beside them.
func TestPolicyJWTClaimCheckExtendedContext(t *testing.T) {
	og := startOIDCGateway(t, claimCheckChain(`{"enable_extended_context":true,"rules":[{"resource":"/","operations":[
		{"op":"==","jwt_claim":"sub","jwt_claim_type":"plain","value":"{{headers['X-User']}}","value_type":"liquid"}]}]}`), nil, nil)
	tok := bearerHeader(og.iss.Token(t, "RS256", og.iss.Claims("premium-key")))
	tok.Set("X-User", "user-1")
	assert.Equal(t, 200, call(t, "GET", og.base+"/", tok).status)
	tok.Set("X-User", "user-2")
	assert.Equal(t, 403, call(t, "GET", og.base+"/", tok).status)
}

// The configuration is checked as the manifest's schema says, errors naming
// the field; the service then fails closed (503).
func TestPolicyJWTClaimCheckSchema(t *testing.T) {
	for conf, field := range map[string]string{
		`{"rules":[{"operations":[]}]}`: "rules[0].resource",
		`{"rules":[{"resource":"/","operations":[{"op":"<","jwt_claim":"a","jwt_claim_type":"plain","value":"1"}]}]}`:       "rules[0].operations[0].op",
		`{"rules":[{"resource":"/","operations":[{"op":"==","jwt_claim":"a","value":"1"}]}]}`:                               "rules[0].operations[0].jwt_claim_type",
		`{"rules":[{"resource":"/","operations":[{"op":"matches","jwt_claim":"a","jwt_claim_type":"plain","value":"("}]}]}`: "rules[0].operations[0].value",
		`{"rules":[{"resource":"/","methods":["FETCH"]}]}`:                                                                  "rules[0].methods[0]",
		`{"rules":[{"resource":"/","combine_op":"xor"}]}`:                                                                   "rules[0].combine_op",
		`{"rules":[{"resource":"/","resource_type":"jinja"}]}`:                                                              "rules[0].resource_type",
	} {
		cg := startChainGateway(t, claimCheckChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field, conf)
	}
}

// BenchmarkPolicyJWTClaimCheck is one OIDC request through [jwt_claim_check,
// apicast]: token verification, one rule with one operation.
func BenchmarkPolicyJWTClaimCheck(b *testing.B) {
	og := startOIDCGateway(b, claimCheckChain(`{"rules":[{"resource":"/","operations":[
		{"op":"==","jwt_claim":"role","jwt_claim_type":"plain","value":"admin"}]}]}`), nil, nil)
	c := og.iss.Claims("premium-key")
	c["role"] = "admin"
	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	req.Header.Set("Authorization", "Bearer "+og.iss.Token(b, "RS256", c))
	w := &discardResponse{h: http.Header{}}
	og.g.ServeHTTP(w, req)
	require.Equal(b, 1.0, requests(og.reg, "forwarded"))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		og.g.ServeHTTP(w, req)
	}
}
