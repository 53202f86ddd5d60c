package gateway

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A request whose upstream dies mid-body (the forward ends in
// http.ErrAbortHandler, cutting the client's answer) is still counted in
// the gateway's metrics, as nginx logs and counts a 200 it could not finish.
func TestRequestCutByItsUpstreamIsCounted(t *testing.T) {
	up, _ := cutUpstream(t)
	f := newGatewayFixture(t, backendUserKey)
	_, gw, reg := startTestGateway(t, f, up, f.placement(f.basic, f.premium), Config{ExtendedMetrics: true})
	for range 2 {
		getCut(t, gw+"/?user_key=premium-key")
	}
	id := strconv.FormatInt(f.svc.ID, 10)
	svc := map[string]string{"service_id": id, "service_system_name": f.svc.SystemName}
	assert.Equal(t, uint64(2), series(t, reg, "total_response_time_seconds", svc).GetHistogram().GetSampleCount(),
		"both cut requests are counted")
}
