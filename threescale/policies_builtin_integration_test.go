package threescale_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// apicastPoliciesDir is the folder of APIcast's policy manifests in the 3scale
// reference files (testenv.ThreescaleDir skips only where those are absent,
// never in CI); reference files without it are a failure.
func apicastPoliciesDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.ThreescaleDir(t), "apicast")
	_, err := os.Stat(filepath.Join(dir, "policies.json"))
	require.NoError(t, err, "APIcast's policy manifests belong to the 3scale reference files")
	return dir
}

func TestBuiltinPoliciesListAPIcastsRegistryWithTheCustomPolicies(t *testing.T) {
	dir := apicastPoliciesDir(t)
	var file struct {
		Policies map[string]json.RawMessage `json:"policies"`
	}
	require.NoError(t, json.Unmarshal(testenv.ThreescaleFile(t, "apicast/policies.json"), &file))
	co := testenv.StartCoordinator(t, "--apicast-policies", dir)

	status, body := rawCall(t, co, http.MethodGet, "/admin/api/policies.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	want, err := json.Marshal(file.Policies)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(body), "3scale answers APIcast's registry, {name: [manifest, ...]}")
	// In the file's order.
	assert.True(t, strings.HasPrefix(string(body), `{"3scale_batcher":[`), "the file's first policy first: %.60s", body)

	// Custom policies of the registry join the list: under a name of their
	// own, and beside the built-in manifests of a name they share.
	custom := `{"$schema":"http://apicast.io/policy-v1.1/schema#manifest#","name":"My echo","version":"1.0.0",` +
		`"summary":"Echoes","configuration":{"type":"object","properties":{}}}`
	for _, p := range []struct{ name, version string }{{"my_echo", "1.0.0"}, {"cors", "2.0.0"}} {
		status, answer := rawCall(t, co, http.MethodPost, "/admin/api/registry/policies.json", "application/json",
			`{"name":"`+p.name+`","version":"`+p.version+`","schema":`+custom+`}`)
		require.Equal(t, http.StatusCreated, status, "%s", answer)
	}
	status, body = rawCall(t, co, http.MethodGet, "/admin/api/policies.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var got map[string][]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got["my_echo"], 1)
	assert.JSONEq(t, custom, string(got["my_echo"][0]))
	var builtinCors []json.RawMessage
	require.NoError(t, json.Unmarshal(file.Policies["cors"], &builtinCors))
	require.Len(t, got["cors"], len(builtinCors)+1, "the custom cors beside the built-in one")
	assert.JSONEq(t, custom, string(got["cors"][len(builtinCors)]))
	assert.Len(t, got, len(file.Policies)+1)

	// JSON only, as 3scale.
	status, _ = rawCall(t, co, http.MethodGet, "/admin/api/policies.xml", "", "")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestBuiltinPoliciesAnswer503WhenTheManifestsAreMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-apicast-here")
	co := testenv.StartCoordinator(t, "--apicast-policies", missing)
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/policies.json", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), "%s", body)
	assert.Contains(t, e.Error, "--apicast-policies")
	co.Output.Contains(t, missing) // the log says where the coordinator looked

	bare := testenv.StartCoordinator(t)
	status, body = rawCall(t, bare, http.MethodGet, "/admin/api/policies.json", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	assert.Contains(t, string(body), "--apicast-policies")
}
