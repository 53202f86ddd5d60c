package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A configuration that holds more than one alternative of a "oneOf" is
// refused for that, and the refusal says so: JSON Schema draft-07 §6.7.3
// ("An instance validates successfully against this keyword if it
// validates successfully against exactly one schema defined by this
// keyword's value"). Saying it "matches none of the schema's alternatives"
// sends the user looking for a field that is missing when one is too many.
func TestPolicyChainSavedSaysAConfigurationMatchesSeveralAlternativesOfAOneOf(t *testing.T) {
	co := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	schema := `{"$schema":"http://apicast.io/policy-v1.1/schema#manifest#","name":"Keyed","version":"1.0.0","summary":"Keyed",
		"configuration":{"type":"object","oneOf":[
			{"title":"by header","required":["header"]},
			{"title":"by query","required":["query"]}]}}`
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"name":"keyed","version":"1.0.0","schema":`+schema+`}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	path := newChainService(t, co, "Keyed")

	status, body = putChain(t, co, path, `[{"name":"keyed","version":"1.0.0","configuration":{"header":"X-Key","query":"key"},"enabled":true}]`)
	errs := fieldErrors(t, status, body)["policies_config"]
	require.Len(t, errs, 1, "expected one problem, got %s", body)
	assert.NotContains(t, errs[0], "matches none", "a configuration holding two alternatives is said to hold none: %s", body)
	assert.Equal(t, `policy "keyed" (element 0 of the chain): configuration: matches more than one of the schema's alternatives (1 and 2): it must match exactly one`,
		errs[0], "expected the alternatives matched named")

	// One of them is stored; none is still "none".
	status, body = putChain(t, co, path, `[{"name":"keyed","version":"1.0.0","configuration":{"query":"key"},"enabled":true}]`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, body = putChain(t, co, path, `[{"name":"keyed","version":"1.0.0","configuration":{},"enabled":true}]`)
	assert.Contains(t, fieldErrors(t, status, body)["policies_config"],
		`policy "keyed" (element 0 of the chain): configuration: matches none of the schema's alternatives`)
}
