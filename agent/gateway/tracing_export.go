package gateway

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
)

// otlpExporter sends the gateway's spans to an OTLP/HTTP collector as
// binary protobuf (OTLP's default encoding), POSTed to its traces URL.
//
// It stands in for go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp
// because that module links google.golang.org/grpc into every agent (its
// configuration and the generated collector service import it): about 3 MB
// of the binary and a dozen package inits, for an encoding this file writes
// in a few lines (an ExportTraceServiceRequest is field 1, repeated, of
// ResourceSpans). `make size` shows the weight.
//
// As otlptracehttp, it retries a refused export (429, 502, 503, 504, or no
// answer) with backoff until the batcher's context ends, and otherwise
// drops the batch: a collector that is down loses spans, never requests.
//
// Spans go in clear only on loopback, unless clearText says otherwise
// (checkOTLPClearText).
type otlpExporter struct {
	url    string
	shown  string // url without its user info and query: for messages
	client *http.Client
	// clearText allows plain http to a host other than loopback: the
	// operator's --otel-insecure-http. Set before the first export.
	clearText bool
}

// otlpTimeout bounds one export attempt, as OTEL_EXPORTER_OTLP_TIMEOUT's
// default does.
const otlpTimeout = 10 * time.Second

// maxOTLPAnswer bounds how much of a collector's answer is read.
const maxOTLPAnswer = 64 << 10

// maxOTLPRedirects bounds the redirects of one export, as net/http's
// default policy does.
const maxOTLPRedirects = 10

func newOTLPExporter(url string) *otlpExporter {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	e := &otlpExporter{url: url, shown: cmp.Or(redact.URL(url), "the --otel-endpoint URL")}
	e.client = &http.Client{Transport: tr, Timeout: otlpTimeout, CheckRedirect: e.checkRedirect}
	return e
}

// errOTLPClearText marks a refusal of checkOTLPClearText: no retry mends it.
var errOTLPClearText = errors.New("plain http to a host other than loopback")

// checkOTLPClearText refuses a collector URL that would carry spans in
// clear beyond this machine, unless allowClearText (--otel-insecure-http).
// A span names no credential (tracing.go leaves the query and the headers
// out), but it does carry each request's path, which APIs fill with ids and
// names, and which application called which service when: traffic a
// network on the way has no business reading, so DESIGN's "HTTPS
// everywhere off loopback" holds for it too. A URL with user info is
// refused over plain http off loopback even when allowed: the client sends
// it as Basic credentials, and allowing spans in clear is not allowing a
// password in clear.
func checkOTLPClearText(u *url.URL, allowClearText bool) error {
	if u.Scheme != "http" || loopback.Host(u.Hostname()) {
		return nil
	}
	shown := cmp.Or(redact.URL(u.String()), "the --otel-endpoint URL")
	if u.User != nil {
		return fmt.Errorf("collector %s: %w would send the URL's credentials in clear: use https://", shown, errOTLPClearText)
	}
	if allowClearText {
		return nil
	}
	return fmt.Errorf("collector %s: %w would send each request's path, service and application in clear: "+
		"use https://, or --otel-insecure-http where the network on the way is yours", shown, errOTLPClearText)
}

// checkRedirect follows a collector's redirect as net/http does, but not to
// where checkOTLPClearText refuses to send: a 307 or 308 sends the spans
// again, to wherever it points.
func (e *otlpExporter) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxOTLPRedirects {
		return fmt.Errorf("stopped after %d redirects", maxOTLPRedirects)
	}
	if err := checkOTLPClearText(req.URL, e.clearText); err != nil {
		return fmt.Errorf("refused the redirect: %w", err)
	}
	return nil
}

var _ sdktrace.SpanExporter = (*otlpExporter)(nil)

// ExportSpans sends spans in one request, retrying while the collector is
// busy or unreachable and ctx lives.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := marshalSpans(spans)
	if err != nil {
		return fmt.Errorf("otlp: encoding %d spans: %w", len(spans), err)
	}
	b := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		retry, err := e.post(ctx, body)
		if err == nil || !retry {
			return err
		}
		if !b.Wait(ctx) {
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		}
	}
}

// post makes one attempt; retry says whether another may succeed.
func (e *otlpExporter) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("otlp: %w", err)
	}
	if err := checkOTLPClearText(req.URL, e.clearText); err != nil {
		return false, fmt.Errorf("otlp: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := e.client.Do(req)
	if err != nil {
		// A refused redirect is final; anything else may pass.
		return !errors.Is(err, errOTLPClearText), fmt.Errorf("otlp: sending spans to %s: %w", e.shown, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxOTLPAnswer))
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		return true, fmt.Errorf("otlp: collector %s busy: %s", e.shown, resp.Status)
	default:
		return false, fmt.Errorf("otlp: collector %s refused the spans: %s", e.shown, resp.Status)
	}
}

// Shutdown closes the idle connection to the collector.
func (e *otlpExporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

// marshalSpans encodes an ExportTraceServiceRequest: one ResourceSpans per
// resource, one ScopeSpans per instrumentation scope within it (a gateway
// has one of each).
func marshalSpans(spans []sdktrace.ReadOnlySpan) ([]byte, error) {
	type key struct {
		res   attribute.Distinct
		scope instrumentation.Scope
	}
	var order []*tracepb.ResourceSpans
	resources := map[attribute.Distinct]*tracepb.ResourceSpans{}
	scopes := map[key]*tracepb.ScopeSpans{}
	for _, s := range spans {
		res := s.Resource()
		rk := res.Equivalent()
		rs := resources[rk]
		if rs == nil {
			rs = &tracepb.ResourceSpans{Resource: &resourcepb.Resource{Attributes: keyValues(res.Attributes())}, SchemaUrl: validUTF8(res.SchemaURL())}
			resources[rk] = rs
			order = append(order, rs)
		}
		sk := key{rk, s.InstrumentationScope()}
		ss := scopes[sk]
		if ss == nil {
			ss = &tracepb.ScopeSpans{
				Scope: &commonpb.InstrumentationScope{Name: validUTF8(sk.scope.Name), Version: validUTF8(sk.scope.Version),
					Attributes: keyValues(sk.scope.Attributes.ToSlice())},
				SchemaUrl: validUTF8(sk.scope.SchemaURL),
			}
			scopes[sk] = ss
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, otlpSpan(s))
	}
	var out []byte
	for _, rs := range order {
		b, err := proto.Marshal(rs)
		if err != nil {
			return nil, err
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType) // ExportTraceServiceRequest.resource_spans
		out = protowire.AppendBytes(out, b)
	}
	return out, nil
}

func otlpSpan(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc, parent := s.SpanContext(), s.Parent()
	tid, sid := sc.TraceID(), sc.SpanID()
	out := &tracepb.Span{
		TraceId:                tid[:],
		SpanId:                 sid[:],
		TraceState:             validUTF8(sc.TraceState().String()),
		Flags:                  spanFlags(sc.TraceFlags(), parent),
		Name:                   validUTF8(s.Name()),
		Kind:                   tracepb.Span_SpanKind(s.SpanKind()), // OTLP numbers kinds as the API does
		StartTimeUnixNano:      unixNano(s.StartTime()),
		EndTimeUnixNano:        unixNano(s.EndTime()),
		Attributes:             keyValues(s.Attributes()),
		DroppedAttributesCount: saturate32(s.DroppedAttributes()),
		DroppedEventsCount:     saturate32(s.DroppedEvents()),
		DroppedLinksCount:      saturate32(s.DroppedLinks()),
		Status:                 &tracepb.Status{Code: statusCode(s.Status().Code), Message: validUTF8(s.Status().Description)},
	}
	if psid := parent.SpanID(); psid.IsValid() {
		out.ParentSpanId = psid[:]
	}
	for _, ev := range s.Events() {
		out.Events = append(out.Events, &tracepb.Span_Event{Name: validUTF8(ev.Name), TimeUnixNano: unixNano(ev.Time),
			Attributes: keyValues(ev.Attributes), DroppedAttributesCount: saturate32(ev.DroppedAttributeCount)})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		out.Links = append(out.Links, &tracepb.Span_Link{TraceId: ltid[:], SpanId: lsid[:], TraceState: validUTF8(l.SpanContext.TraceState().String()),
			Attributes: keyValues(l.Attributes), DroppedAttributesCount: saturate32(l.DroppedAttributeCount),
			Flags: spanFlags(l.SpanContext.TraceFlags(), l.SpanContext)})
	}
	return out
}

// spanFlags is the W3C trace flags, with OTLP's bits saying whether the
// parent was remote.
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	if parent.IsRemote() {
		f |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	return f
}

func statusCode(c codes.Code) tracepb.Status_StatusCode {
	switch c {
	case codes.Ok:
		return tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		return tracepb.Status_STATUS_CODE_ERROR
	default:
		return tracepb.Status_STATUS_CODE_UNSET
	}
}

func unixNano(t time.Time) uint64 { return uint64(max(0, t.UnixNano())) }

// saturate32 is n as a uint32, clamped; int64 so that it compiles where int
// is 32 bits (linux/arm, linux/mipsle releases).
func saturate32(n int) uint32 { return uint32(min(max(int64(n), 0), 1<<32-1)) }

func keyValues(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = &commonpb.KeyValue{Key: validUTF8(string(kv.Key)), Value: anyValue(kv.Value)}
	}
	return out
}

func anyValue(v attribute.Value) *commonpb.AnyValue {
	switch v.Type() {
	case attribute.BOOL:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case attribute.INT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.FLOAT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case attribute.STRING:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: validUTF8(v.AsString())}}
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.BOOLSLICE:
		return arrayValue(v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return arrayValue(v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return arrayValue(v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return arrayValue(v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		return arrayValue(v.AsSlice(), func(v attribute.Value) attribute.Value { return v })
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: keyValues(v.AsMap())}}}
	default: // EMPTY: a value with no data
		return &commonpb.AnyValue{}
	}
}

// validUTF8 is s with each byte sequence that is not UTF-8 replaced by
// U+FFFD: protobuf refuses to encode a string field that is not UTF-8, and
// one span's (a request path of "/%ff", from any client) would otherwise
// lose the whole batch it is sent in.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func arrayValue[T any](vs []T, value func(T) attribute.Value) *commonpb.AnyValue {
	arr := &commonpb.ArrayValue{Values: make([]*commonpb.AnyValue, len(vs))}
	for i, v := range vs {
		arr.Values[i] = anyValue(value(v))
	}
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}
}
