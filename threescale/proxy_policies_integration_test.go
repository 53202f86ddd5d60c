package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestPolicyChainIntegration(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	id := createProduct(t, cl, "Policies", nil)
	sid := strconv.FormatInt(id, 10)

	chain, err := cl.Policies(id)
	require.NoError(t, err)
	require.Len(t, chain.Policies, 1)
	assert.Equal(t, "apicast", chain.Policies[0].Name)
	assert.Equal(t, "builtin", chain.Policies[0].Version)
	assert.Equal(t, map[string]any{}, chain.Policies[0].Configuration)
	assert.True(t, chain.Policies[0].Enabled)

	// With an upstream, a chain update deploys to the sandbox (3scale).
	_, err = cl.UpdateProductProxy(id, client.Params{"api_backend": "http://policies.internal"})
	require.NoError(t, err)

	headersConf := map[string]any{"request": []any{
		map[string]any{"op": "set", "header": "X-Portolan", "value_type": "plain", "value": "yes"},
	}}
	want := []client.PolicyConfig{
		{Name: "headers", Version: "builtin", Configuration: headersConf, Enabled: true},
		{Name: "cors", Version: "builtin", Configuration: map[string]any{"allow_origin": "*"}, Enabled: false},
		{Name: "apicast", Version: "builtin", Configuration: map[string]any{}, Enabled: true},
	}
	got, err := cl.UpdatePolicies(id, &client.PoliciesConfigList{Policies: want})
	require.NoError(t, err)
	require.Len(t, got.Policies, 3)
	for i := range want {
		assert.Equal(t, want[i].Name, got.Policies[i].Name)
		assert.Equal(t, want[i].Version, got.Policies[i].Version)
		assert.Equal(t, want[i].Configuration, got.Policies[i].Configuration)
		assert.Equal(t, want[i].Enabled, got.Policies[i].Enabled)
	}
	chain, err = cl.Policies(id)
	require.NoError(t, err)
	assert.Equal(t, got.Policies, chain.Policies)

	latest, err := cl.GetLatestProxyConfig(sid, "sandbox")
	require.NoError(t, err)
	assert.Equal(t, 2, latest.ProxyConfig.Version)
	names := []string{}
	for _, pc := range latest.ProxyConfig.Content.Proxy.PolicyChain {
		names = append(names, pc.Name)
	}
	assert.Equal(t, []string{"headers", "apicast"}, names, "disabled policies stay out of the deployed chain")

	// A chain without apicast gets it at the end, as in 3scale.
	got, err = cl.UpdatePolicies(id, &client.PoliciesConfigList{Policies: []client.PolicyConfig{
		{Name: "cors", Version: "builtin", Configuration: map[string]any{"allow_origin": "*"}, Enabled: true},
	}})
	require.NoError(t, err)
	require.Len(t, got.Policies, 2)
	assert.Equal(t, "cors", got.Policies[0].Name)
	assert.True(t, got.Policies[0].Enabled)
	assert.Equal(t, "apicast", got.Policies[1].Name)
	assert.Equal(t, "builtin", got.Policies[1].Version)
	assert.True(t, got.Policies[1].Enabled)

	// 3scale's form parameter: the chain as a JSON string.
	form := url.Values{"policies_config": {`[{"name":"echo","version":"builtin","configuration":{"status":201},"enabled":true},{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`}}
	status, body := rawCall(t, co, http.MethodPut, "/admin/api/services/"+sid+"/proxy/policies.json",
		"application/x-www-form-urlencoded", form.Encode())
	require.Equal(t, http.StatusOK, status, "%s", body)
	chain, err = cl.Policies(id)
	require.NoError(t, err)
	require.Len(t, chain.Policies, 2)
	assert.Equal(t, "echo", chain.Policies[0].Name)
	assert.Equal(t, map[string]any{"status": float64(201)}, chain.Policies[0].Configuration)

	// Bad chains name policies_config and change nothing.
	for name, body := range map[string]string{
		"not an array":           `{"policies_config":{"name":"cors"}}`,
		"a string, not an array": `{"policies_config":"cors"}`,
		"missing":                `{"something":"else"}`,
		"item not an object":     `{"policies_config":["cors"]}`,
		"no name":                `{"policies_config":[{"version":"builtin","configuration":{},"enabled":true}]}`,
		"no version":             `{"policies_config":[{"name":"cors","configuration":{},"enabled":true}]}`,
		"configuration an array": `{"policies_config":[{"name":"cors","version":"builtin","configuration":[],"enabled":true}]}`,
		"configuration missing":  `{"policies_config":[{"name":"cors","version":"builtin","enabled":true}]}`,
		"enabled not a boolean":  `{"policies_config":[{"name":"cors","version":"builtin","configuration":{},"enabled":"yes"}]}`,
	} {
		status, resp := rawCall(t, co, http.MethodPut, "/admin/api/services/"+sid+"/proxy/policies.json", "application/json", body)
		assert.Contains(t, fieldErrors(t, status, resp), "policies_config", name)
	}
	chain, err = cl.Policies(id)
	require.NoError(t, err)
	assert.Equal(t, "echo", chain.Policies[0].Name)

	_, err = cl.Policies(999)
	apiErr(t, err, http.StatusNotFound)
	_, err = cl.UpdatePolicies(999, &client.PoliciesConfigList{Policies: want})
	apiErr(t, err, http.StatusNotFound)
}

// pxManifest is an APIcast policy manifest of the real built-in policies.
type pxManifest struct {
	Schema        string          `json:"$schema"`
	Name          string          `json:"name"`
	Summary       string          `json:"summary"`
	Version       string          `json:"version"`
	Description   json.RawMessage `json:"description"`
	Configuration json.RawMessage `json:"configuration"`
}

func pxPolicySchema(t *testing.T, m pxManifest) *client.APIcastPolicySchema {
	t.Helper()
	var desc []string
	require.NoError(t, json.Unmarshal(m.Description, &desc), "the client only takes list descriptions")
	conf := m.Configuration
	return &client.APIcastPolicySchema{
		Summary: &m.Summary, Description: &desc, Name: &m.Name, Schema: &m.Schema, Version: &m.Version, Configuration: &conf,
	}
}

func TestPolicyRegistryIntegration(t *testing.T) {
	var manifests struct {
		Policies map[string][]pxManifest `json:"policies"`
	}
	require.NoError(t, json.Unmarshal(sharedFile(t, "apicast/policies.json"), &manifests))
	headers, cors := manifests.Policies["headers"], manifests.Policies["cors"]
	require.NotEmpty(t, headers)
	require.NotEmpty(t, cors)

	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	str := func(s string) *string { return &s }

	created := map[string]int64{}
	for name, m := range map[string]pxManifest{"my_headers": headers[0], "my_cors": cors[0]} {
		schema := pxPolicySchema(t, m)
		p, err := cl.CreateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
			Name: str(name), Version: str("1.0.0"), Schema: schema,
		}})
		require.NoError(t, err)
		e := p.Element
		require.NotNil(t, e.ID)
		assert.Equal(t, name, *e.Name)
		assert.Equal(t, "1.0.0", *e.Version)
		require.NotNil(t, e.Schema)
		assert.Equal(t, m.Name, *e.Schema.Name)
		assert.Equal(t, m.Summary, *e.Schema.Summary)
		assert.Equal(t, m.Schema, *e.Schema.Schema)
		assert.Equal(t, m.Version, *e.Schema.Version)
		assert.Equal(t, *schema.Description, *e.Schema.Description)
		assert.JSONEq(t, string(m.Configuration), string(*e.Schema.Configuration))
		require.NotNil(t, e.CreatedAt)
		require.NotNil(t, e.UpdatedAt)
		created[name] = *e.ID
	}

	list, err := cl.ListAPIcastPolicies()
	require.NoError(t, err)
	require.Len(t, list.Items, 2)
	for _, it := range list.Items {
		assert.Equal(t, created[*it.Element.Name], *it.Element.ID)
		assert.Equal(t, "1.0.0", *it.Element.Version)
	}

	id := created["my_headers"]
	p, err := cl.ReadAPIcastPolicy(id)
	require.NoError(t, err)
	assert.Equal(t, id, *p.Element.ID)
	assert.Equal(t, "my_headers", *p.Element.Name)
	assert.Equal(t, headers[0].Summary, *p.Element.Schema.Summary)

	// 3scale also finds a policy by "name-version".
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/registry/policies/my_headers-1.0.0.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var byName client.APIcastPolicy
	require.NoError(t, json.Unmarshal(body, &byName))
	assert.Equal(t, id, *byName.Element.ID)
	assert.Contains(t, string(body), `"summary":`+strconv.Quote(headers[0].Summary))

	schema := pxPolicySchema(t, headers[0])
	schema.Summary = str("Sets headers, Portolan edition")
	p, err = cl.UpdateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		ID: &id, Name: str("my_headers"), Version: str("1.1.0"), Schema: schema,
	}})
	require.NoError(t, err)
	assert.Equal(t, id, *p.Element.ID)
	assert.Equal(t, "1.1.0", *p.Element.Version)
	assert.Equal(t, "Sets headers, Portolan edition", *p.Element.Schema.Summary)
	p, err = cl.ReadAPIcastPolicy(id)
	require.NoError(t, err)
	assert.Equal(t, "1.1.0", *p.Element.Version)

	// Bad input names the field.
	_, err = cl.CreateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{
		Name: str("my_cors"), Version: str("1.0.0"), Schema: pxPolicySchema(t, cors[0]),
	}})
	apiErr(t, err, http.StatusUnprocessableEntity, "version")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"name":"broken","version":"1","schema":[1,2]}`)
	assert.Contains(t, fieldErrors(t, status, body), "schema")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/x-www-form-urlencoded",
		"name=broken&version=1&schema=%7Bnot+json")
	assert.Contains(t, fieldErrors(t, status, body), "schema")
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"version":"1","schema":{"name":"x"}}`)
	assert.Contains(t, fieldErrors(t, status, body), "name")
	// The schema as a string holding JSON, as 3scale's form parameter.
	status, body = rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/x-www-form-urlencoded",
		url.Values{"name": {"form_policy"}, "version": {"0.1"}, "schema": {`{"name":"Form","summary":"s","version":"0.1","configuration":{}}`}}.Encode())
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Contains(t, string(body), `"schema":{"name":"Form"`)

	require.NoError(t, cl.DeleteAPIcastPolicy(id))
	_, err = cl.ReadAPIcastPolicy(id)
	apiErr(t, err, http.StatusNotFound)
	apiErr(t, cl.DeleteAPIcastPolicy(id), http.StatusNotFound)
	_, err = cl.UpdateAPIcastPolicy(&client.APIcastPolicy{Element: client.APIcastPolicyItem{ID: &id, Name: str("x")}})
	apiErr(t, err, http.StatusNotFound)
	list, err = cl.ListAPIcastPolicies()
	require.NoError(t, err)
	assert.Len(t, list.Items, 2)
}
