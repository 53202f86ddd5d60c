package gateway

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
)

// flakyUpstream drops the connection of its first failures requests
// without answering, then answers "ok"; attempts counts every request.
func flakyUpstream(t testing.TB, failures int32) (*httptest.Server, *atomic.Int32) {
	var attempts atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if attempts.Add(1) <= failures {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s, &attempts
}

func retryChain(retries string, upstreamURL string) string {
	return `[{"name":"retry","version":"builtin","enabled":true,"configuration":{"retries":` + retries + `}},
		{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"/","url":"` + upstreamURL + `"}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`
}

// Schema "retries": "Number of retries" (1 to 10); README: in which cases
// is APICAST_UPSTREAM_RETRY_CASES's (nginx's proxy_next_upstream, "error
// timeout" by default): an upstream that fails before answering is tried
// again, up to retries more times.
func TestRetryRetriesAFailingUpstream(t *testing.T) {
	up, attempts := flakyUpstream(t, 2)
	cg := startRouteGateway(t, retryChain("2", up.URL), nil)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "ok", a.body)
	assert.Equal(t, int32(3), attempts.Load(), "the request and 2 retries")

	up, attempts = flakyUpstream(t, 2)
	cg = startRouteGateway(t, retryChain("1", up.URL), nil)
	a = call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.Equal(t, int32(2), attempts.Load(), "the request and 1 retry")
}

// Without the policy, nothing is retried.
func TestRetryNoneWithoutThePolicy(t *testing.T) {
	up, attempts := flakyUpstream(t, 1)
	cg := startRouteGateway(t, `[{"name":"upstream","version":"builtin","enabled":true,"configuration":{"rules":[{"regex":"/","url":"`+up.URL+`"}]}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, nil)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.Equal(t, int32(1), attempts.Load())
}

// nginx's proxy_next_upstream does not pass a non-idempotent request (POST,
// LOCK, PATCH) that was sent to another attempt (without non_idempotent),
// and a body already sent cannot be replayed.
func TestRetryNotForAPostThatWasSent(t *testing.T) {
	up, attempts := flakyUpstream(t, 1)
	cg := startRouteGateway(t, retryChain("3", up.URL), func(f *gatewayFixture) {
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	})
	resp, err := http.Post(cg.base+"/?user_key="+cg.key, "text/plain", strings.NewReader("payload"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, int32(1), attempts.Load())
}

// An upstream timeout is a retry case too ("error timeout"): a first
// attempt past read_timeout is tried again.
func TestRetryAfterATimeout(t *testing.T) {
	var attempts atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	cg := startRouteGateway(t, `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":{"read_timeout":0.2}},`+
		strings.TrimPrefix(retryChain("1", up.URL), "["), nil)
	start := time.Now()
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, int32(2), attempts.Load())
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestRetryConfigErrorsNameTheField(t *testing.T) {
	for _, conf := range []string{`{"retries":0}`, `{"retries":11}`, `{"retries":1.5}`, `{"retries":"2"}`} {
		chain := policyChain(t, `[{"name":"retry","version":"builtin","enabled":true,"configuration":`+conf+`}]`)
		_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry())})
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, "retries", fe.Field, conf)
		}
	}
}

func BenchmarkPolicyRetry(b *testing.B) {
	benchPolicy(b, `[{"name":"retry","version":"builtin","enabled":true,"configuration":{"retries":3}},
		{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`, "/health?user_key=premium-key")
}

// The retry policy holds for an https upstream (forwarded through
// httputil.ReverseProxy, not the lean forwarder) as for a plain one: a GET
// that fails before an answer is tried again, up to retries more times; a
// POST is not.
func TestRetryRetriesAnHTTPSUpstream(t *testing.T) {
	var attempts atomic.Int32
	failures := int32(2)
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if attempts.Add(1) <= failures {
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}), 0o600))
	start := func(retries string) string {
		f := newGatewayFixture(t, backendUserKey)
		require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
			MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
		chain := policyChain(t, `[{"name":"retry","version":"builtin","enabled":true,"configuration":{"retries":`+retries+`}},
			{"name":"apicast","version":"builtin","enabled":true,"configuration":{}}]`)
		f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = chain })
		_, base, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{TLS: TLS{UpstreamCAFile: caFile}})
		return base
	}

	a := call(t, "GET", start("2")+"/?user_key=premium-key", nil)
	assert.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, "ok", a.body)
	assert.Equal(t, int32(3), attempts.Load(), "the request and 2 retries")

	attempts.Store(0)
	a = call(t, "GET", start("1")+"/?user_key=premium-key", nil)
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.Equal(t, int32(2), attempts.Load(), "the request and 1 retry")

	attempts.Store(0)
	base := start("2")
	a = call(t, "POST", base+"/?user_key=premium-key", nil)
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.Equal(t, int32(1), attempts.Load(), "a POST is sent once")
}
