package coordinator

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The lean instrumentation scrapes as promhttp's did: for the same requests,
// the same series with the same counts.
func TestInstrumentationScrapesAsPromhttp(t *testing.T) {
	lean, reference := prometheus.NewRegistry(), prometheus.NewRegistry()
	m, ref := newHTTPMetrics(), newHTTPMetrics()
	lean.MustRegister(m.requests, m.latency)
	reference.MustRegister(ref.requests, ref.latency)

	// A handler answering as the query says: a status, nothing, a body
	// only, a flush, a copy, several WriteHeaders.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("do") {
		case "status":
			code := map[string]int{"201": 201, "404": 404, "429": 429, "503": 503, "999": 999, "42": 42}[r.URL.Query().Get("code")]
			w.WriteHeader(code)
		case "body":
			_, _ = io.WriteString(w, "hello")
		case "flush":
			w.(http.Flusher).Flush()
		case "copy":
			_, _ = io.Copy(w, strings.NewReader("copied"))
		case "twice":
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusConflict)
		}
	})
	leanHandlers := map[string]http.Handler{
		"timed":   m.api("admin", true).instrument(h),
		"counted": m.api("console", false).instrument(h),
	}
	refHandlers := map[string]http.Handler{
		"timed": promhttp.InstrumentHandlerDuration(ref.latency.MustCurryWith(prometheus.Labels{"api": "admin"}),
			promhttp.InstrumentHandlerCounter(ref.requests.MustCurryWith(prometheus.Labels{"api": "admin"}), h)),
		"counted": promhttp.InstrumentHandlerCounter(ref.requests.MustCurryWith(prometheus.Labels{"api": "console"}), h),
	}
	requests := []struct{ handler, method, query string }{
		{"timed", "GET", "do=nothing"}, {"timed", "GET", "do=nothing"}, {"timed", "PUT", "do=body"},
		{"timed", "POST", "do=status&code=201"}, {"timed", "DELETE", "do=status&code=404"},
		{"timed", "PATCH", "do=status&code=429"}, {"timed", "OPTIONS", "do=status&code=503"},
		{"timed", "PROPFIND", "do=body"}, {"timed", "get", "do=copy"}, {"timed", "HEAD", "do=flush"},
		{"timed", "GET", "do=twice"},
		{"counted", "GET", "do=flush"}, {"counted", "GET", "do=nothing"}, {"counted", "TRACE", "do=status&code=404"},
		{"counted", "PUT", "do=copy"}, {"counted", "BREW", "do=status&code=201"},
	}
	for _, rq := range requests {
		for _, handlers := range []map[string]http.Handler{leanHandlers, refHandlers} {
			w := httptest.NewRecorder()
			handlers[rq.handler].ServeHTTP(w, httptest.NewRequest(rq.method, "/x?"+rq.query, nil))
		}
	}
	// Out-of-range codes are refused by the recorder, so they are sent to
	// writers of their own, which take any code.
	for _, code := range []string{"999", "42"} {
		for _, handlers := range []map[string]http.Handler{leanHandlers, refHandlers} {
			handlers["timed"].ServeHTTP(anyStatusWriter{http.Header{}}, httptest.NewRequest("GET", "/x?do=status&code="+code, nil))
		}
	}

	got, want := scrape(t, lean), scrape(t, reference)
	assert.Equal(t, want, got)
	assert.Contains(t, got, `portolan_http_requests_total{api="admin",code="200",method="get"} 3`)
	assert.Contains(t, got, `portolan_http_requests_total{api="admin",code="unknown",method="get"} 2`)
	assert.Contains(t, got, `portolan_http_requests_total{api="console",code="201",method="unknown"} 1`)
	assert.Contains(t, got, `portolan_http_request_duration_seconds_count{api="admin"} 13`)
	assert.NotContains(t, got, `portolan_http_request_duration_seconds_count{api="console"}`)
}

// A series appears at its first request, as with promhttp: an API never
// called shows nothing.
func TestInstrumentationCreatesSeriesOnUse(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newHTTPMetrics()
	reg.MustRegister(m.requests, m.latency)
	m.api("admin", true)
	m.api("console", false)
	assert.NotContains(t, scrape(t, reg), "portolan_http_request")
}

// A request through the instrumentation allocates nothing of its own.
func TestInstrumentationAllocatesNothing(t *testing.T) {
	m := newHTTPMetrics()
	a := m.api("agents", true)
	h := a.instrument(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	w, r := anyStatusWriter{http.Header{}}, httptest.NewRequest(http.MethodPut, "/v1/instances/a/heartbeat", nil)
	h.ServeHTTP(w, r)
	assert.Zero(t, testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }))
}

// scrape is the text exposition of reg's HTTP series, durations left out
// (they differ from run to run): counts, label sets and buckets' presence.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var b bytes.Buffer
	for _, f := range families {
		for _, metric := range f.Metric {
			if h := metric.Histogram; h != nil {
				h.SampleSum = nil
				for _, bucket := range h.Bucket {
					bucket.CumulativeCount = nil
				}
			}
		}
		_, err := expfmt.MetricFamilyToText(&b, f)
		require.NoError(t, err)
	}
	return b.String()
}

// anyStatusWriter is a ResponseWriter that takes any status code.
type anyStatusWriter struct{ h http.Header }

func (w anyStatusWriter) Header() http.Header         { return w.h }
func (w anyStatusWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w anyStatusWriter) WriteHeader(int)             {}
