package agent_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// gaugeValue is the value of an unlabelled gauge in a scrape, -1 when absent.
func gaugeValue(mfs map[string]*dto.MetricFamily, name string) float64 {
	mf := mfs[name]
	if mf == nil || len(mf.GetMetric()) != 1 {
		return -1
	}
	return mf.GetMetric()[0].GetGauge().GetValue()
}

// While home is away the gateway keeps serving and its usage waits in the
// spool: the pending batches and the report lag grow; once home is back
// and has acknowledged them both return to 0.
func TestUsageReportLagGrowsWhileHomeIsAway(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "News", "news")
	var plan struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &plan)
	_, key := signUp(t, co, plan.Plan.ID)

	host, port := gwUpstream(t, "app")
	gw, metricsAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "news", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", "http://"+net.JoinHostPort(host, port), "--metrics-listen", metricsAddr,
		"--report-interval", "100ms", "--heartbeat", "300ms", "--ttl", "2s", "--", "sleep", "60")
	keyed := "http://" + gw + "/?user_key=" + key
	require.Eventually(t, func() bool { return get(t, keyed).status == http.StatusOK }, 10*time.Second, 20*time.Millisecond)
	metrics := "http://" + metricsAddr + "/metrics"
	caughtUp := func() bool {
		mfs := scrape(t, metrics)
		return gaugeValue(mfs, "portolan_agent_usage_pending_batches") == 0 && gaugeValue(mfs, "portolan_agent_usage_report_lag_seconds") == 0
	}
	require.Eventually(t, caughtUp, 10*time.Second, 50*time.Millisecond, "home acknowledges the usage: no backlog")

	co.Stop()
	require.Equal(t, http.StatusOK, get(t, keyed).status, "the gateway serves without home")
	var lag float64
	require.Eventually(t, func() bool {
		mfs := scrape(t, metrics)
		lag = gaugeValue(mfs, "portolan_agent_usage_report_lag_seconds")
		return gaugeValue(mfs, "portolan_agent_usage_pending_batches") >= 1 && lag >= 0.5
	}, 10*time.Second, 50*time.Millisecond, "the usage waits in the spool and its lag grows (last lag %v)", lag)

	co.Start()
	require.Eventually(t, caughtUp, 20*time.Second, 50*time.Millisecond, "home back: the spool drains")
}
