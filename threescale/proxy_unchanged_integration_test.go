package threescale_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// An update of a proxy or its policy chain that changes nothing saves
// nothing, as in porta: the proxy's updated_at and lock_version stay, and
// no new sandbox config is deployed (its content would not differ but for
// the timestamp). A client applying the same settings again (the toolbox,
// a pipeline) does not grow the proxy's configs at each run.
func TestUnchangedProxyUpdateDeploysNoNewConfig(t *testing.T) {
	co := testenv.StartCoordinator(t)
	svc := co.Create(t, "/admin/api/services.json", "name=Same&system_name=same")
	proxy := "/admin/api/services/" + svc + "/proxy.json"
	policies := "/admin/api/services/" + svc + "/proxy/policies.json"
	chain := `{"policies_config":[{"name":"cors","version":"builtin","configuration":{},"enabled":true}]}`
	settings := url.Values{"error_status_no_match": {"410"}}
	sandbox := func() int {
		var out struct {
			ProxyConfigs []any `json:"proxy_configs"`
		}
		decodeCall(t, co, http.MethodGet, "/admin/api/services/"+svc+"/proxy/configs/sandbox.json", nil, http.StatusOK, &out)
		return len(out.ProxyConfigs)
	}
	type proxyState struct {
		Proxy struct {
			LockVersion int64  `json:"lock_version"`
			UpdatedAt   string `json:"updated_at"`
		} `json:"proxy"`
	}
	status, body := rawCall(t, co, http.MethodPut, policies, "application/json", chain)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var before proxyState
	decodeCall(t, co, http.MethodPut, proxy, settings, http.StatusOK, &before)
	deployed := sandbox()

	time.Sleep(1100 * time.Millisecond) // a new updated_at would show
	status, body = rawCall(t, co, http.MethodPut, policies, "application/json", chain)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var after proxyState
	decodeCall(t, co, http.MethodPut, proxy, settings, http.StatusOK, &after)
	assert.Equal(t, before, after)
	assert.Equal(t, deployed, sandbox(), "unchanged updates deployed new sandbox configs")

	// A change still deploys.
	decodeCall(t, co, http.MethodPut, proxy, url.Values{"error_status_no_match": {"404"}}, http.StatusOK, &after)
	assert.Equal(t, before.Proxy.LockVersion+1, after.Proxy.LockVersion)
	assert.Equal(t, deployed+1, sandbox())
}
