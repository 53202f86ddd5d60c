package threescale_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// newChainService creates a service and returns the path of its chain.
func newChainService(t *testing.T, co *testenv.Coordinator, name string) string {
	t.Helper()
	var svc struct {
		Service struct{ ID int64 } `json:"service"`
	}
	decodeCall(t, co, http.MethodPost, "/admin/api/services.json", url.Values{"name": {name}}, http.StatusCreated, &svc)
	return "/admin/api/services/" + s64(svc.Service.ID) + "/proxy/policies.json"
}

// putChain sends a chain as 3scale's toolbox does (a JSON body).
func putChain(t *testing.T, co *testenv.Coordinator, path, chain string) (int, []byte) {
	t.Helper()
	return rawCall(t, co, http.MethodPut, path, "application/json", `{"policies_config":`+chain+`}`)
}

// A chain is checked against each policy's JSON schema from APIcast's
// manifests when it is saved: 422 on policies_config naming the policy,
// its element and the field, for a value outside an enum, a missing
// required field and a wrong type, nested fields included.
func TestPolicyChainSavedIsCheckedAgainstTheManifestSchemas(t *testing.T) {
	co := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	path := newChainService(t, co, "Checked")

	for _, tc := range []struct{ name, chain, want string }{
		{"an enum (the manifest's oneOf of titled values)",
			`[{"name":"cors","version":"builtin","configuration":{},"enabled":true},
			  {"name":"ip_check","version":"builtin","configuration":{"ips":["10.0.0.1"],"check_type":"greylist"},"enabled":true}]`,
			`policy "ip_check" (element 1 of the chain): configuration.check_type: must be one of blacklist, whitelist, not "greylist"`},
		{"a required field", `[{"name":"ip_check","version":"builtin","configuration":{"check_type":"blacklist"},"enabled":true}]`,
			`policy "ip_check" (element 0 of the chain): configuration.ips: is required`},
		{"a type", `[{"name":"ip_check","version":"builtin","configuration":{"check_type":"blacklist","ips":"10.0.0.1"},"enabled":true}]`,
			`policy "ip_check" (element 0 of the chain): configuration.ips: must be an array, not string`},
		{"a nested enum", `[{"name":"custom_metrics","version":"builtin","enabled":true,"configuration":{"rules":[{"metric":"m","increment":"1",
			"condition":{"combine_op":"and","operations":[{"left":"a","op":"<","right":"b"}]}}]}}]`,
			`policy "custom_metrics" (element 0 of the chain): configuration.rules[0].condition.operations[0].op: must be one of ==, !=, matches, not "<"`},
		{"the caching mode", `[{"name":"caching","version":"builtin","configuration":{"caching_type":"sometimes"},"enabled":true}]`,
			`policy "caching" (element 0 of the chain): configuration.caching_type: must be one of strict, resilient, allow, none, not "sometimes"`},
	} {
		status, body := putChain(t, co, path, tc.chain)
		errs := fieldErrors(t, status, body)
		assert.Contains(t, errs["policies_config"], tc.want, "%s: %s", tc.name, body)
	}
	// Nothing of a refused chain was stored.
	status, body := rawCall(t, co, http.MethodGet, path, "", "")
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, string(body), "ip_check")

	// A valid chain is stored; a disabled element is not checked (APIcast
	// leaves it out), and a policy neither APIcast nor the registry knows
	// is stored unchecked, as porta's Proxy::PoliciesConfig stores it: the
	// gateway refuses it when it loads the chain.
	status, body = putChain(t, co, path, `[
		{"name":"ip_check","version":"builtin","configuration":{"ips":["10.0.0.1"],"check_type":"blacklist"},"enabled":true},
		{"name":"caching","version":"builtin","configuration":{"caching_type":"never"},"enabled":false},
		{"name":"my_own","version":"1.0","configuration":{"anything":1},"enabled":true}]`)
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), "my_own")
}

// A custom policy of the registry is checked against its own schema.
func TestPolicyChainSavedIsCheckedAgainstARegistryPolicySchema(t *testing.T) {
	co := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	schema := `{"$schema":"http://apicast.io/policy-v1.1/schema#manifest#","name":"Tiered","version":"1.0.0","summary":"Tiers",
		"configuration":{"type":"object","properties":{"level":{"type":"integer","minimum":1}},"required":["level"]}}`
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"name":"tiered","version":"1.0.0","schema":`+schema+`}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	path := newChainService(t, co, "Tiered")

	status, body = putChain(t, co, path, `[{"name":"tiered","version":"1.0.0","configuration":{"level":"high"},"enabled":true}]`)
	assert.Contains(t, fieldErrors(t, status, body)["policies_config"],
		`policy "tiered" (element 0 of the chain): configuration.level: must be an integer, not string`)
	status, body = putChain(t, co, path, `[{"name":"tiered","version":"1.0.0","configuration":{},"enabled":true}]`)
	assert.Contains(t, fieldErrors(t, status, body)["policies_config"], `policy "tiered" (element 0 of the chain): configuration.level: is required`)
	status, body = putChain(t, co, path, `[{"name":"tiered","version":"1.0.0","configuration":{"level":2},"enabled":true}]`)
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// Without APIcast's manifests the coordinator checks a chain as the
// gateway builds it, so the words are the ones the gateway would fail
// closed with.
func TestPolicyChainSavedWithoutManifestsIsCheckedByTheGatewaysRules(t *testing.T) {
	co := testenv.StartCoordinator(t)
	path := newChainService(t, co, "Bare")
	status, body := putChain(t, co, path, `[{"name":"caching","version":"builtin","configuration":{"caching_type":"sometimes"},"enabled":true}]`)
	assert.Contains(t, fieldErrors(t, status, body)["policies_config"],
		`policy "caching" (element 0 of the chain): configuration.caching_type: must be one of strict, resilient, allow, none, not "sometimes"`)
	status, body = putChain(t, co, path, `[{"name":"caching","version":"builtin","configuration":{},"enabled":true}]`)
	assert.Contains(t, fieldErrors(t, status, body)["policies_config"], `policy "caching" (element 0 of the chain): configuration.caching_type: is required`)
	status, body = putChain(t, co, path, `[{"name":"caching","version":"builtin","configuration":{"caching_type":"strict"},"enabled":true}]`)
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// Every path that stores a chain checks it: apply of documents and the
// import of a composition too.
func TestPolicyChainAppliedOrImportedIsChecked(t *testing.T) {
	co := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	doc := func(checkType string) string {
		return `apiVersion: portolan.dev/v1
kind: Service
system_name: applied
name: Applied
proxy:
  policy_chain:
  - {name: ip_check, version: builtin, configuration: {ips: ["10.0.0.1"], check_type: ` + checkType + `}, enabled: true}
`
	}
	status, body := rawCall(t, co, http.MethodPost, registry.PathAdminApply, "application/yaml", doc("greylist"))
	require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
	assert.Contains(t, string(body), `policy \"ip_check\" (element 0 of the chain): configuration.check_type: must be one of blacklist, whitelist, not \"greylist\"`)
	status, body = rawCall(t, co, http.MethodPost, registry.PathAdminApply, "application/yaml", doc("whitelist"))
	require.Equal(t, http.StatusOK, status, "%s", body)

	// The exported composition, its chain made invalid, is refused on import.
	status, body = rawCall(t, co, http.MethodGet, registry.PathAdminComposition, "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var exported map[string]any
	require.NoError(t, json.Unmarshal(body, &exported))
	proxies, _ := exported["proxies"].([]any)
	require.NotEmpty(t, proxies, "%s", body)
	bad := `[{"name":"ip_check","version":"builtin","configuration":{"ips":["10.0.0.1"],"check_type":"greylist"},"enabled":true}]`
	for _, p := range proxies {
		var chain any
		require.NoError(t, json.Unmarshal([]byte(bad), &chain))
		p.(map[string]any)["policy_chain"] = chain
	}
	doc2, err := json.Marshal(exported)
	require.NoError(t, err)
	other := testenv.StartCoordinator(t, "--apicast-policies", apicastPoliciesDir(t))
	status, body = rawCall(t, other, http.MethodPost, registry.PathAdminComposition, "application/json", string(doc2))
	require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
	assert.Contains(t, string(body), `configuration.check_type: must be one of blacklist, whitelist`)
}

// A registry policy's schema is checked with what it holds: a $ref to a
// file of the coordinator's host is never opened (a FIFO would block the
// store's write the check runs in, a pipe would read home's own output).
// The schema does not compile, so the policy is stored unchecked.
func TestRegistryPolicySchemaReadsNoHostFile(t *testing.T) {
	co := testenv.StartCoordinator(t)
	fifo := filepath.Join(t.TempDir(), "schema.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	t.Cleanup(func() {
		// Unblock a coordinator that opened it, so it can stop.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	})
	schema := `{"name":"reffed","version":"1.0.0","summary":"Reffed","configuration":{"$ref":"file://` + fifo + `"}}`
	status, body := rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
		`{"name":"reffed","version":"1.0.0","schema":`+schema+`}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	path := newChainService(t, co, "Reffed")

	req, err := http.NewRequest(http.MethodPut, co.URL+path, strings.NewReader(
		`{"policies_config":[{"name":"reffed","version":"1.0.0","configuration":{},"enabled":true}]}`))
	require.NoError(t, err)
	req.SetBasicAuth("", co.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err, "the chain's check opened the file the schema names")
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", answer)
}
