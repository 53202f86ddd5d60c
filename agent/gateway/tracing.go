package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracing sends a span per request to an OTLP/HTTP collector and passes
// the W3C trace context upstream, as APIcast's opentelemetry integration
// does. It is nil when --otel-endpoint is empty: the request path then
// only checks for nil.
type tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// tracingBatch is how long spans wait before they are sent together.
const tracingBatch = time.Second

// checkOTelEndpoint validates --otel-endpoint: an http(s) URL, plain http
// only on loopback unless insecureHTTP (--otel-insecure-http).
func checkOTelEndpoint(endpoint string, insecureHTTP bool) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--otel-endpoint %q: want the OTLP/HTTP collector's URL, like http://127.0.0.1:4318", endpoint)
	}
	if err := checkOTLPClearText(u, insecureHTTP); err != nil {
		return fmt.Errorf("--otel-endpoint: %w", err)
	}
	return nil
}

// newTracing makes the exporter to endpoint; nothing is sent until a span
// ends, and an unreachable collector loses spans, never requests.
func newTracing(endpoint string, insecureHTTP bool) (*tracing, error) {
	if err := checkOTelEndpoint(endpoint, insecureHTTP); err != nil {
		return nil, err
	}
	// A base URL gets OTLP's trace path, as OTEL_EXPORTER_OTLP_ENDPOINT
	// does; a URL with a path is used as given.
	u, _ := url.Parse(endpoint)
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp := newOTLPExporter(u.String())
	exp.clearText = insecureHTTP
	res := resource.NewSchemaless(attribute.String("service.name", "portolan-gateway"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(tracingBatch)), sdktrace.WithResource(res))
	return &tracing{provider: tp, tracer: tp.Tracer("github.com/portolan/portolan/agent/gateway")}, nil
}

// start begins r's span, continuing the client's traceparent when it sent
// one, and sets r's traceparent to it so the upstream continues the trace
// (the forwarders pass headers as given).
func (t *tracing) start(r *http.Request) trace.Span {
	ctx := t.prop.Extract(context.Background(), w3cFields(r.Header))
	ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	r.Header.Del("Tracestate")
	t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	return span
}

// w3cCarrier is a request's trace context as W3C Trace Context reads it,
// whatever field lines it came in; propagation.HeaderCarrier would read the
// first line of each only. More than one traceparent line is no parent: which
// one is meant cannot be told, and the W3C conformance suite
// (test_traceparent_duplicated) wants a new trace. Tracestate lines are one
// list, joined in order as RFC 9110 §5.3 combines field lines (Trace Context
// §3.3.1.1), so that a key repeated across lines or more than 32 members in
// all invalidate the list as they would on one line.
type w3cCarrier struct{ parent, state string }

func w3cFields(h http.Header) *w3cCarrier {
	c := &w3cCarrier{}
	if parents := h.Values("Traceparent"); len(parents) == 1 {
		c.parent, c.state = parents[0], strings.Join(h.Values("Tracestate"), ",")
	}
	return c
}

func (c *w3cCarrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.parent
	case "tracestate":
		return c.state
	}
	return ""
}

func (c *w3cCarrier) Set(string, string) {}

func (c *w3cCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }

// end closes the span with what the request became. No credential goes in:
// the query (where user_key may be) is left out, the application is named by
// its id.
func (t *tracing) end(span trace.Span, rq *request, v *view, status int) {
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, attribute.Int("http.response.status_code", status))
	if v != nil {
		attrs = append(attrs, attribute.String("portolan.service.id", strconv.FormatInt(v.serviceID, 10)),
			attribute.String("portolan.service.system_name", v.service))
	}
	if c := &rq.ctx; c.App != nil {
		attrs = append(attrs, attribute.Int64("portolan.application.id", c.App.ID))
	}
	if up := rq.ctx.UpstreamStatus; up != 0 {
		attrs = append(attrs, attribute.Int("portolan.upstream.status_code", up))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// shutdown sends the spans still waiting, until ctx ends.
func (t *tracing) shutdown(ctx context.Context) error {
	return t.provider.Shutdown(ctx)
}

// StopTracing sends the spans still waiting and stops tracing; the agent
// calls it once the gateway has stopped serving.
func (g *Gateway) StopTracing(ctx context.Context) error {
	if g.tracing == nil {
		return nil
	}
	return g.tracing.shutdown(ctx)
}

// serveTraced is serve inside a span, ended also when serving panics (an
// answer cut short, http.ErrAbortHandler), as ServeHTTP counts it.
func (g *Gateway) serveTraced(rq *request, r *http.Request) *view {
	span := g.tracing.start(r)
	finished := false
	defer func() {
		if !finished {
			span.SetStatus(codes.Error, "the answer was cut short")
			g.tracing.end(span, rq, g.view.Load(), rq.rec.finalStatus(r))
		}
	}()
	v := g.serve(&rq.rec, r, rq)
	g.tracing.end(span, rq, v, rq.rec.finalStatus(r))
	finished = true
	return v
}
