package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// A policy chain sent again with the same configurations, only laid out
// otherwise (the pretty-printed file a pipeline keeps, then the compact
// JSON the API answered), changes nothing: the README promises "sending
// the same proxy or policy chain again changes nothing (no new
// lock_version, no new sandbox config)", and porta stores a chain as the
// JSON it serializes from the parsed policies, so the white space of a
// request never reaches it.
func TestPolicyChainSentAgainInAnotherLayoutChangesNothing(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Layout&system_name=layout")
	proxy := "/admin/api/services/" + svc + "/proxy.json"
	policies := "/admin/api/services/" + svc + "/proxy/policies.json"
	lockVersion := func() int64 {
		var out struct {
			Proxy struct {
				LockVersion int64 `json:"lock_version"`
			} `json:"proxy"`
		}
		decodeCall(t, co, http.MethodGet, proxy, nil, http.StatusOK, &out)
		return out.Proxy.LockVersion
	}

	pretty := `{"policies_config": [
	  {"name": "headers", "version": "builtin", "enabled": true, "configuration": {
	    "request": [ { "op": "set", "header": "X-Env", "value": "prod", "value_type": "plain" } ]
	  }}
	]}`
	status, body := rawCall(t, co, http.MethodPut, policies, "application/json", pretty)
	require.Equal(t, http.StatusOK, status, "%s", body)
	before := lockVersion()

	// What the API answered, sent back as it came.
	status, got := rawCall(t, co, http.MethodGet, policies, "", "")
	require.Equal(t, http.StatusOK, status, "%s", got)
	status, body = rawCall(t, co, http.MethodPut, policies, "application/json", string(got))
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Equal(t, before, lockVersion(), "the same chain in another layout changed the proxy (lock_version)")

	// And the pretty file again.
	status, body = rawCall(t, co, http.MethodPut, policies, "application/json", pretty)
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Equal(t, before, lockVersion(), "the same chain in another layout changed the proxy (lock_version)")
}
