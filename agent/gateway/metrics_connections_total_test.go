package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nginx_http_connections{state="total"} is nginx's stub_status "requests",
// the client requests served, which APIcast exports beside the connection
// states (gateway/src/apicast/policy/nginx_metrics/nginx_metrics.lua sets
// accepted, handled and total from /nginx_status; doc/prometheus-metrics.md
// lists "state(accepted,active,handled,reading,total,waiting,writing)"), and
// which the 3scale operator's APIcast dashboard plots with
// sum(rate(nginx_http_connections[1m])) by (state). It is there before any
// request, and counts every answer, the gateway's refusals included, several
// on one kept-alive connection.
func TestNginxHTTPConnectionsTotal(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, _ := echoUpstream(t, "app")
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	gauge := func(state string) float64 {
		return series(t, reg, "nginx_http_connections", map[string]string{"state": state}).GetGauge().GetValue()
	}
	assert.Equal(t, 0.0, gauge("total"))

	require.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
	require.Equal(t, http.StatusOK, call(t, "GET", gw+"/a?user_key=premium-key", nil).status)
	require.Equal(t, http.StatusForbidden, call(t, "GET", gw+"/", nil).status)
	require.Eventually(t, func() bool { return gauge("total") == 3 }, 5*time.Second, 10*time.Millisecond, "three requests")
	assert.Equal(t, 1.0, gauge("accepted"), "on one kept-alive connection")
}
