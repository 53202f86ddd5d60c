package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A field that an APIcast manifest requires only for one value of another
// field (JSON Schema draft-07 "dependencies" holding a oneOf whose
// alternatives are told apart by an enum of that field) is named when it is
// missing, as the README promises ("a bad one gets 3scale's 422 naming the
// policy and the field") and as the gateway's own check names it without
// manifests ("user_key: is required when auth_type is user_key"): the
// alternatives whose discriminating enum the configuration does not hold
// are not the user's mistake.
func TestPolicyChainSavedNamesAFieldRequiredByAnotherFieldsValue(t *testing.T) {
	co := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	path := newChainService(t, co, "Dependent")

	for _, tc := range []struct{ name, chain, want string }{
		{"default_credentials' user_key",
			`[{"name":"default_credentials","version":"builtin","configuration":{"auth_type":"user_key"},"enabled":true}]`,
			`policy "default_credentials" (element 0 of the chain): configuration.user_key: is required`},
		{"default_credentials' app_key",
			`[{"name":"default_credentials","version":"builtin","configuration":{"auth_type":"app_id_and_app_key","app_id":"a"},"enabled":true}]`,
			`policy "default_credentials" (element 0 of the chain): configuration.app_key: is required`},
		{"token_introspection's client_secret",
			`[{"name":"token_introspection","version":"builtin","enabled":true,"configuration":{"auth_type":"client_id+client_secret",
			  "client_id":"c","introspection_url":"https://idp/introspect"}}]`,
			`policy "token_introspection" (element 0 of the chain): configuration.client_secret: is required`},
		{"token_introspection's embedded certificate (a oneOf within the chosen alternative)",
			`[{"name":"token_introspection","version":"builtin","enabled":true,"configuration":{"auth_type":"private_key_jwt",
			  "client_id":"c","introspection_url":"https://idp/introspect","client_jwt_assertion_audience":"a",
			  "certificate_type":"embedded","certificate":5}}]`,
			`policy "token_introspection" (element 0 of the chain): configuration.certificate: must be a string, not number`},
		{"a routing operation's header_name",
			`[{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":[{"url":"http://u",
			  "condition":{"operations":[{"match":"header","op":"==","value":"v"}]}}]}}]`,
			`policy "routing" (element 0 of the chain): configuration.rules[0].condition.operations[0].header_name: is required`},
	} {
		status, body := putChain(t, co, path, tc.chain)
		errs := fieldErrors(t, status, body)
		assert.Contains(t, errs["policies_config"], tc.want, "%s: expected the field named, got %s", tc.name, body)
	}

	// The same configurations with the field are stored.
	status, body := putChain(t, co, path, `[
		{"name":"default_credentials","version":"builtin","configuration":{"auth_type":"user_key","user_key":"k"},"enabled":true},
		{"name":"routing","version":"builtin","enabled":true,"configuration":{"rules":[{"url":"http://u",
		  "condition":{"operations":[{"match":"header","header_name":"X-Env","op":"==","value":"v"}]}}]}}]`)
	require.Equal(t, http.StatusOK, status, "%s", body)
}
