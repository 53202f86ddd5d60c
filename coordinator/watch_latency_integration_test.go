package coordinator_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// scrapeHome reads the coordinator's /metrics as Prometheus does.
func scrapeHome(t *testing.T, co *testenv.Coordinator) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(co.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return mfs
}

// seriesOf returns the series of mf whose labels include want.
func seriesOf(mf *dto.MetricFamily, want map[string]string) *dto.Metric {
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if match {
			return m
		}
	}
	return nil
}

// A blocking map read waits without being timed: it is counted under
// api="agents_watch", and the agents' latency histogram holds only the
// calls that did not wait (a registration, a heartbeat, a plain map read),
// none of them near the watch's wait.
func TestBlockingReadsStayOutOfAgentsLatency(t *testing.T) {
	co := testenv.StartCoordinator(t)
	ctx := context.Background()
	home := co.Home(t)
	const id = "news-watch-latency"
	_, err := home.Register(ctx, id, &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 8080})
	require.NoError(t, err)

	admin, err := client.New(client.Config{Address: co.URL, Token: co.Token})
	require.NoError(t, err)
	_, index, err := admin.Map(ctx, 0, 0, "")
	require.NoError(t, err)
	const wait = time.Second
	start := time.Now()
	_, after, err := admin.Map(ctx, index, wait, "")
	require.NoError(t, err)
	require.Equal(t, index, after, "nothing changed: the read waited out its wait")
	require.GreaterOrEqual(t, time.Since(start), wait, "the read blocked")

	_, err = home.Heartbeat(ctx, id, &registry.Heartbeat{Status: registry.StatusPassing})
	require.NoError(t, err)

	mfs := scrapeHome(t, co)
	watches := seriesOf(mfs["portolan_http_requests_total"], map[string]string{"api": "agents_watch", "code": "200", "method": "get"})
	require.NotNil(t, watches, "the blocking read is counted as agents_watch")
	assert.Equal(t, 1.0, watches.GetCounter().GetValue())
	agents := seriesOf(mfs["portolan_http_requests_total"], map[string]string{"api": "agents", "code": "200", "method": "get"})
	require.NotNil(t, agents, "the plain map read is counted as agents")
	assert.Equal(t, 1.0, agents.GetCounter().GetValue(), "only the plain map read")

	latency := seriesOf(mfs["portolan_http_request_duration_seconds"], map[string]string{"api": "agents"})
	require.NotNil(t, latency)
	h := latency.GetHistogram()
	assert.Equal(t, uint64(3), h.GetSampleCount(), "registration, plain map read and heartbeat timed; the watch not")
	// The sum below the wait: no observation (each ≥ 0) reaches it.
	assert.Less(t, h.GetSampleSum(), wait.Seconds(), "no observation holds the watch's wait")
	assert.Nil(t, seriesOf(mfs["portolan_http_request_duration_seconds"], map[string]string{"api": "agents_watch"}),
		"blocking reads have no latency series")
}
