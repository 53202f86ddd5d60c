package threescale_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// The official Go client's policy registry calls against the APIcast
// Policies family (GET /admin/api/policies.json): what the client registers,
// changes and deletes is what the built-in list shows beside APIcast's own.

func gcStr(s string) *string { return &s }

// gcPolicySchema is a minimal APIcast policy manifest, as the client sends it.
func gcPolicySchema(name, version, summary string) *client.APIcastPolicySchema {
	conf := json.RawMessage(`{"type":"object","properties":{}}`)
	return &client.APIcastPolicySchema{
		Summary: &summary, Description: &[]string{summary}, Name: &name, Version: &version,
		Schema: gcStr("http://apicast.io/policy-v1.1/schema#manifest#"), Configuration: &conf,
	}
}

// gcManifest is what the tests read of a policy manifest (APIcast's own
// have a description that is a string or a list, which the client's
// APIcastPolicySchema cannot hold).
type gcManifest struct {
	Name    *string `json:"name"`
	Summary *string `json:"summary"`
}

// gcBuiltinPolicies reads GET /admin/api/policies.json: {name: [manifest]}.
func gcBuiltinPolicies(t *testing.T, co *testenv.Coordinator) map[string][]gcManifest {
	t.Helper()
	var out map[string][]gcManifest
	decodeCall(t, co, http.MethodGet, "/admin/api/policies.json", nil, http.StatusOK, &out)
	return out
}

func TestGoClientPolicyRegistryShowsInTheBuiltinPolicies(t *testing.T) {
	co := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	cl := co.Client(t)
	builtin := gcBuiltinPolicies(t, co)
	require.NotEmpty(t, builtin["headers"], "APIcast's own policies")
	require.NotContains(t, builtin, "gc_signer")

	created, err := cl.CreateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		Name: gcStr("gc_signer"), Version: gcStr("1.0.0"), Schema: gcPolicySchema("Signer", "1.0.0", "Signs requests"),
	}})
	require.NoError(t, err)
	require.NotNil(t, created.Element.ID)
	id := *created.Element.ID
	listed := gcBuiltinPolicies(t, co)
	require.Len(t, listed["gc_signer"], 1)
	assert.Equal(t, "Signs requests", *listed["gc_signer"][0].Summary)
	assert.Equal(t, "Signer", *listed["gc_signer"][0].Name)
	assert.Len(t, listed, len(builtin)+1)

	updated, err := cl.UpdateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		ID: &id, Schema: gcPolicySchema("Signer", "1.0.0", "Signs every request"),
	}})
	require.NoError(t, err)
	assert.Equal(t, "Signs every request", *updated.Element.Schema.Summary)
	read, err := cl.ReadAPIcastPolicy(id)
	require.NoError(t, err)
	assert.Equal(t, "Signs every request", *read.Element.Schema.Summary)
	assert.Equal(t, "gc_signer", *read.Element.Name)
	listed = gcBuiltinPolicies(t, co)
	require.Len(t, listed["gc_signer"], 1)
	assert.Equal(t, "Signs every request", *listed["gc_signer"][0].Summary)

	// A product's chain names the custom policy beside a built-in one.
	product := createProduct(t, cl, "Signed", nil)
	chain := []client.PolicyConfig{
		{Name: "gc_signer", Version: "1.0.0", Configuration: map[string]any{}, Enabled: true},
		{Name: "apicast", Version: "builtin", Configuration: map[string]any{}, Enabled: true},
	}
	_, err = cl.UpdatePolicies(product, &client.PoliciesConfigList{Policies: chain})
	require.NoError(t, err)
	got, err := cl.Policies(product)
	require.NoError(t, err)
	require.Len(t, got.Policies, 2)
	assert.Equal(t, "gc_signer", got.Policies[0].Name)
	assert.Equal(t, "apicast", got.Policies[1].Name)

	require.NoError(t, cl.DeleteAPIcastPolicy(id))
	_, err = cl.ReadAPIcastPolicy(id)
	apiErr(t, err, http.StatusNotFound)
	listed = gcBuiltinPolicies(t, co)
	assert.NotContains(t, listed, "gc_signer")
	assert.Len(t, listed, len(builtin))
}
