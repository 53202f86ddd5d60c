package threescale_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

var amParam = regexp.MustCompile(`\{[^}]*\}`)

// amOperation names an operation by method and path, the path without its
// .json or .xml suffix and with every parameter written {}: 3scale's spec
// and Portolan name parameters differently ({account_id} and {id}).
func amOperation(method, path string) string {
	path = strings.TrimSuffix(strings.TrimSuffix(path, ".json"), ".xml")
	return strings.ToUpper(method) + " " + amParam.ReplaceAllString(path, "{}")
}

// amOperations lists the operations of an OpenAPI (or Swagger) document's
// paths.
func amOperations(t *testing.T, doc []byte) map[string]bool {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(doc, &d))
	out := map[string]bool{}
	for path, ops := range d.Paths {
		for method := range ops {
			switch strings.ToLower(method) {
			case "get", "put", "post", "delete", "patch", "head", "options":
				out[amOperation(method, path)] = true
			}
		}
	}
	return out
}

func TestOpenAPIListsEveryAccountManagementOperation(t *testing.T) {
	spec := amOperations(t, testenv.ThreescaleFile(t, "account_management_api.json"))
	require.NotEmpty(t, spec)
	co := testenv.StartCoordinator(t)
	status, body := rawCall(t, co, http.MethodGet, "/admin/api/openapi.json", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	served := amOperations(t, body)

	var missing []string
	for op := range spec {
		if !served[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "operations of account_management_api.json that GET /admin/api/openapi.json does not list")
	t.Logf("%d of the %d operations of account_management_api.json served", len(spec)-len(missing), len(spec))
}
