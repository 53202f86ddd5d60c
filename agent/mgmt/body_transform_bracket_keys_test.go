package mgmt

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A request body transform keeps the app from setting the field it
// removes. The README promises it holds wherever the upstream reads that
// field ("a request body transform applies inside the wrapper object too
// ({"backend_api":{…}}), a dotted field also unwrapped … and the field it
// names is refused (400) in the query string"). Home reads a JSON body's
// keys as it reads a form's: a top-level key "proxy[api_backend]" is the
// flat param proxy[api_backend] (threescale.Params: "Keys are kept as sent,
// so 3scale's bracket style stays one key"), which the proxy update reads
// as api_backend (updateProxy: params.sub("proxy")). So a JSON key in Rack's
// bracket spelling, at the top level or inside the wrapper, set the field
// the transform removes. Run through the agent binary, against a real
// coordinator.
func TestRequestBodyTransformsHoldForBracketKeysInJSON(t *testing.T) {
	co := testenv.StartCoordinator(t)
	id := co.Create(t, "/admin/api/services.json", "name=Bracket&system_name=bracket")
	transforms := writeFile(t, "t.yaml", `transforms:
  - match: "PATCH /admin/api/services/*/proxy.xml"
    request:
      body:
        remove: [proxy.api_backend]
`)
	addr := testenv.FreeAddr(t)
	t.Setenv("PORTOLAN_AGENT_MGMT_TOKEN", co.Token)
	a := testenv.StartAgent(t, co, "--service", "app", "--mgmt-listen", addr, "--mgmt-spec", specFile(t),
		"--mgmt-include", "PATCH /admin/api/services/*/proxy.xml", "--mgmt-transform", transforms, "--", "sleep", "60")
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/openapi.json")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond, "%s", a.Output.String())

	for _, body := range []string{
		`{"proxy[api_backend]":"https://app-chosen.example:443","proxy[error_status_auth_failed]":"403"}`,
		`{"proxy":{"proxy[api_backend]":"https://app-chosen.example:443","error_status_auth_failed":"403"}}`,
	} {
		resp, got := call(t, http.MethodPatch, base+"/admin/api/services/"+id+"/proxy.json", "application/json", body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "want the bracket key refused (400), got %d for %s: %s", resp.StatusCode, body, got)
	}
	_, direct := call(t, http.MethodGet, co.URL+"/admin/api/services/"+id+"/proxy.json?access_token="+co.Token, "", "")
	assert.NotContains(t, string(direct), "app-chosen.example", "the field the transform removes reached home as a bracket key")

	resp, got := call(t, http.MethodPatch, base+"/admin/api/services/"+id+"/proxy.json", "application/json",
		`{"proxy":{"api_backend":"https://app-chosen.example:443","error_status_auth_failed":"403"}}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the wrapped field is removed and the call passes: %s", got)
	_, direct = call(t, http.MethodGet, co.URL+"/admin/api/services/"+id+"/proxy.json?access_token="+co.Token, "", "")
	assert.NotContains(t, string(direct), "app-chosen.example")
}
