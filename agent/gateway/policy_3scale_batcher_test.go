package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

func batcherChain(conf string) string {
	return `[{"name":"3scale_batcher","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true}]`
}

// startBatcherGateway is the chain gateway for chainJSON on an agent that
// reports usage every interval (0: unknown).
func startBatcherGateway(t *testing.T, chainJSON string, interval time.Duration) (*gatewayFixture, *Gateway, string) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	chain := policyChain(t, chainJSON)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = chain })
	up, _ := echoUpstream(t, "app")
	g, base, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{ReportInterval: interval})
	return f, g, base
}

// auths_ttl: "TTL for cached auths in seconds". The README: "The policy
// checks whether the credentials are cached. If they are, the policy uses
// the cached authorization status instead of calling 3scale's backend",
// and so "going over the defined usage limits is easier". The gateway
// caches no authorization: with auths_ttl 60, the basic plan's 5 hits a
// minute still refuse the 6th at once, every request is counted, and a
// suspended application is refused from the next revision on.
func TestPolicy3scaleBatcherKeepsNoAuthorization(t *testing.T) {
	f, g, base := startBatcherGateway(t, batcherChain(`{"auths_ttl":60,"batch_report_seconds":10}`), time.Second)
	for i := range 5 {
		require.Equal(t, http.StatusOK, call(t, "GET", base+"/?user_key=basic-key", nil).status, "hit %d", i+1)
	}
	a := call(t, "GET", base+"/?user_key=basic-key", nil)
	assert.Equal(t, answer{429, "text/plain; charset=us-ascii", "Usage limit exceeded\n", nil}, strip(a), "no cached authorization lets the 6th through")

	require.Equal(t, http.StatusOK, call(t, "GET", base+"/?user_key=premium-key", nil).status)
	ledger := g.ledger.(*countingLedger)
	ledger.mu.Lock()
	var premium int64
	for _, n := range ledger.counts[[2]int64{f.premiumApp.ID, f.hits.ID}] {
		premium += n
	}
	ledger.mu.Unlock()
	assert.EqualValues(t, 1, premium, "usage is counted as without the policy, for the ledger's batches")

	app, ok := f.tx.View().Applications.Get(f.premiumApp.ID)
	require.True(t, ok)
	suspended := *app
	suspended.State = composition.AppSuspended
	require.NoError(t, f.tx.Update(&suspended))
	_, err := g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", base+"/?user_key=premium-key", nil).status,
		"suspended: refused at once, not after auths_ttl")
}

// batch_report_seconds: "Duration (in seconds) for batching reports"
// (APIcast's default 10). The agent reports its service's usage every
// --report-interval: a batch_report_seconds it meets is taken (the default
// 10 by an agent reporting every second, 5 by one reporting every 5 s); a
// shorter one cannot be honoured and fails the service closed, naming the
// field and the interval.
func TestPolicy3scaleBatcherBatchReportSecondsBoundsTheReportInterval(t *testing.T) {
	for conf, interval := range map[string]time.Duration{
		`{}`:                                       time.Second,
		`{"batch_report_seconds":1}`:               time.Second,
		`{"batch_report_seconds":5}`:               5 * time.Second,
		`{"batch_report_seconds":9223372036}`:      5 * time.Second,
		`{"batch_report_seconds":1,"auths_ttl":0}`: 0, // unknown interval: not checked
	} {
		_, _, base := startBatcherGateway(t, batcherChain(conf), interval)
		a := call(t, "GET", base+"/?user_key=premium-key", nil)
		assert.Equal(t, answer{200, "text/plain; charset=utf-8", "app", nil}, strip(a), "%s every %s", conf, interval)
	}
	for conf, interval := range map[string]time.Duration{
		`{"batch_report_seconds":4}`: 5 * time.Second,
		`{}`:                         30 * time.Second,
		`{"batch_report_seconds":1}`: 1500 * time.Millisecond,
	} {
		_, _, base := startBatcherGateway(t, batcherChain(conf), interval)
		a := call(t, "GET", base+"/?user_key=premium-key", nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, "%s every %s", conf, interval)
		assert.Contains(t, a.body, `policy "3scale_batcher"`)
		assert.Contains(t, a.body, "configuration.batch_report_seconds: ", conf)
		assert.Contains(t, a.body, "reports usage to home every "+interval.String()+": lower its --report-interval", conf)
	}
}

// The schema's types (integers), and values APIcast cannot run with: a
// negative auths_ttl (its shared dictionary's error at every request), a
// batch_report_seconds below 1. Home's check of a saved chain, knowing no
// agent's interval, takes any batch_report_seconds of 1 or more.
func TestPolicy3scaleBatcherSchema(t *testing.T) {
	for conf, field := range map[string]string{
		`{"auths_ttl":-1}`:              "auths_ttl",
		`{"auths_ttl":"10"}`:            "auths_ttl",
		`{"batch_report_seconds":0}`:    "batch_report_seconds",
		`{"batch_report_seconds":-10}`:  "batch_report_seconds",
		`{"batch_report_seconds":2.5}`:  "batch_report_seconds",
		`{"batch_report_seconds":true}`: "batch_report_seconds",
	} {
		_, _, base := startBatcherGateway(t, batcherChain(conf), time.Second)
		a := call(t, "GET", base+"/?user_key=premium-key", nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+": ", conf)
	}
	check := func(conf string) error {
		return policy.Validate([]composition.PolicyConfig{{Name: "3scale_batcher", Version: "builtin", Enabled: true, Configuration: json.RawMessage(conf)}})
	}
	assert.NoError(t, check(`{"batch_report_seconds":1,"auths_ttl":0}`))
	assert.ErrorContains(t, check(`{"batch_report_seconds":0}`), "configuration.batch_report_seconds: must be at least 1")
}
