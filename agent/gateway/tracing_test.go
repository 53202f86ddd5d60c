package gateway

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP collector: it decodes the export requests
// the gateway sends and keeps their spans.
type otlpReceiver struct {
	url       string
	busy      atomic.Int32 // answer this many exports 503 first
	mu        sync.Mutex
	spans     []*tracepb.Span
	resources []map[string]string
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
			return
		}
		if rc.busy.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		var req coltracepb.ExportTraceServiceRequest
		if !assert.NoError(t, proto.Unmarshal(b, &req)) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			rc.resources = append(rc.resources, kvStrings(rs.GetResource().GetAttributes()))
			for _, ss := range rs.GetScopeSpans() {
				rc.spans = append(rc.spans, ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(s.Close)
	rc.url = s.URL
	return rc
}

// span waits for the span of trace id traceID.
func (rc *otlpReceiver) span(t *testing.T, traceID string) *tracepb.Span {
	t.Helper()
	var found *tracepb.Span
	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, s := range rc.spans {
			if hex.EncodeToString(s.GetTraceId()) == traceID {
				found = s
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no span of trace %s reached the collector", traceID)
	return found
}

func spanAttrs(s *tracepb.Span) map[string]string { return kvStrings(s.GetAttributes()) }

func kvStrings(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			out[kv.GetKey()] = v.GetStringValue()
		default:
			out[kv.GetKey()] = strings.TrimSpace(strings.TrimPrefix(v.String(), "int_value:"))
		}
	}
	return out
}

// With --otel-endpoint the gateway sends a span per request over OTLP/HTTP
// (service, status and application; no credential), continues the
// client's W3C traceparent and passes its own span upstream as the parent.
func TestTracingSpanAndTraceparent(t *testing.T) {
	rc := startOTLPReceiver(t)
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	g, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{OTelEndpoint: rc.url})
	t.Cleanup(func() { assert.NoError(t, g.StopTracing(context.Background())) })

	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	a := call(t, "GET", gw+"/?user_key=premium-key", http.Header{"Traceparent": {"00-" + traceID + "-" + clientSpan + "-01"}})
	require.Equal(t, http.StatusOK, a.status)
	forwarded := (<-got).Header.Get("Traceparent")
	parts := strings.Split(forwarded, "-")
	require.Len(t, parts, 4, "the upstream gets a traceparent: %q", forwarded)
	assert.Equal(t, traceID, parts[1], "the client's trace continues upstream")
	assert.NotEqual(t, clientSpan, parts[2], "with the gateway's span as the parent")

	s := rc.span(t, traceID)
	assert.Equal(t, parts[2], hex.EncodeToString(s.GetSpanId()))
	assert.Equal(t, clientSpan, hex.EncodeToString(s.GetParentSpanId()))
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, s.GetKind())
	attrs := spanAttrs(s)
	assert.Equal(t, "200", attrs["http.response.status_code"])
	assert.Equal(t, "200", attrs["portolan.upstream.status_code"])
	assert.Equal(t, f.svc.SystemName, attrs["portolan.service.system_name"])
	assert.NotEmpty(t, attrs["portolan.service.id"])
	assert.NotEmpty(t, attrs["portolan.application.id"])
	for k, v := range attrs {
		assert.NotContains(t, v, "premium-key", "attribute %s holds the credential", k)
	}

	// No traceparent from the client: the gateway starts the trace.
	a = call(t, "GET", gw+"/", nil)
	require.Equal(t, http.StatusForbidden, a.status)
	a = call(t, "GET", gw+"/x?user_key=premium-key", nil)
	require.Equal(t, http.StatusOK, a.status)
	parts = strings.Split((<-got).Header.Get("Traceparent"), "-")
	require.Len(t, parts, 4)
	assert.Equal(t, "200", spanAttrs(rc.span(t, parts[1]))["http.response.status_code"])
}

// A collector that answers 503 gets the spans again once it recovers, with
// the gateway's resource (service.name) and its tracer's scope.
func TestTracingRetriesBusyCollector(t *testing.T) {
	rc := startOTLPReceiver(t)
	rc.busy.Store(2)
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	g, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{OTelEndpoint: rc.url})
	t.Cleanup(func() { assert.NoError(t, g.StopTracing(context.Background())) })

	require.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
	parts := strings.Split((<-got).Header.Get("Traceparent"), "-")
	require.Len(t, parts, 4)
	s := rc.span(t, parts[1])
	assert.Equal(t, int32(-1), rc.busy.Load(), "two refused exports, then the one that arrived")
	assert.Equal(t, "GET", s.GetName())
	assert.NotZero(t, s.GetStartTimeUnixNano())
	assert.GreaterOrEqual(t, s.GetEndTimeUnixNano(), s.GetStartTimeUnixNano())
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.NotEmpty(t, rc.resources)
	assert.Equal(t, "portolan-gateway", rc.resources[0]["service.name"])
}

// Off, the gateway adds nothing: no traceparent is made up for the upstream.
func TestTracingOff(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	g, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	assert.Nil(t, g.tracing)
	require.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", nil).status)
	assert.Empty(t, (<-got).Header.Get("Traceparent"))
}
