package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusCount sums family name's counters whose status label is status.
func statusCount(t *testing.T, reg prometheus.Gatherer, name, status string) float64 {
	t.Helper()
	var n float64
	for _, m := range family(t, reg, name).GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "status" && l.GetValue() == status {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// upstream_status is what the upstream answered, nginx's $upstream_status
// (APIcast's gateway/src/apicast/metrics/upstream.lua reports
// ngx.var.upstream_status), and apicast_status what the client got: with
// statuscode_overwrite mapping 200 to 201 (ngx.status set in the header
// filter, which leaves $upstream_status alone), the upstream's 200 counts
// as upstream_status 200, the client's 201 as apicast_status 201.
func TestUpstreamStatusIsTheUpstreamsNotTheOverwrittenOne(t *testing.T) {
	up := statusUpstream(t)
	cg := startRouteGatewayTo(t, `[{"name":"statuscode_overwrite","version":"builtin","enabled":true,"configuration":`+statusMapConf+`},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, nil, up.URL)
	require.Equal(t, http.StatusCreated, call(t, "GET", cg.base+"/?user_key="+cg.key, nil).status)
	require.Eventually(t, func() bool { return statusCount(t, cg.reg, "apicast_status", "201") == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1.0, statusCount(t, cg.reg, "upstream_status", "200"), "the upstream answered 200")
	assert.Equal(t, 0.0, statusCount(t, cg.reg, "upstream_status", "201"), "201 is the gateway's, not the upstream's")
}
