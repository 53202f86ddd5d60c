package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The W3C Trace Context headers as they arrive on the wire, in more than one
// field line, as the W3C conformance suite (w3c/trace-context, test/test.py)
// sends them to a traced gateway, which must pass upstream:
//
//   - test_traceparent_duplicated: two traceparent lines are ambiguous, a new
//     trace is started (neither trace id goes on);
//   - test_tracestate_multiple_headers_different_keys, test_tracestate_empty_header:
//     tracestate lines are one list, combined in order (RFC 9110 §5.3;
//     Trace Context §3.3.1.1: "multiple tracestate header fields MUST be
//     handled as specified by RFC7230 Section 3.2.2");
//   - test_tracestate_duplicated_keys, test_tracestate_member_count_limit:
//     a key repeated across lines, or 33 members over four lines, makes the
//     whole list invalid: discarded, the trace continued;
//   - test_traceparent_ows_handling: spaces and tabs around the value.
func TestTracingW3CHeaderFieldLines(t *testing.T) {
	rc := startOTLPReceiver(t)
	f := newGatewayFixture(t, backendUserKey)
	up, got := echoUpstream(t, "app")
	g, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{OTelEndpoint: rc.url})
	t.Cleanup(func() { assert.NoError(t, g.StopTracing(context.Background())) })

	const trace = "12345678901234567890123456789012"
	parent := "00-" + trace + "-1234567890123456-00"
	forward := func(h http.Header) (traceID, state string) {
		t.Helper()
		require.Equal(t, http.StatusOK, call(t, "GET", gw+"/?user_key=premium-key", h).status)
		r := <-got
		parts := strings.Split(r.Header.Get("Traceparent"), "-")
		require.Len(t, parts, 4, "the upstream gets one traceparent: %q", r.Header.Values("Traceparent"))
		assert.Len(t, r.Header.Values("Traceparent"), 1)
		assert.LessOrEqual(t, len(r.Header.Values("Tracestate")), 1)
		return parts[1], r.Header.Get("Tracestate")
	}

	id, _ := forward(http.Header{"Traceparent": {
		"00-12345678901234567890123456789011-1234567890123456-01",
		"00-12345678901234567890123456789012-1234567890123456-01",
	}})
	assert.NotEqual(t, "12345678901234567890123456789011", id, "two traceparent lines: a new trace")
	assert.NotEqual(t, "12345678901234567890123456789012", id, "two traceparent lines: a new trace")

	id, state := forward(http.Header{"Traceparent": {parent}, "Tracestate": {"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}})
	assert.Equal(t, trace, id)
	assert.Equal(t, "foo=1,bar=2,rojo=1,congo=2,baz=3", state, "tracestate lines combined, in order")

	_, state = forward(http.Header{"Traceparent": {parent}, "Tracestate": {"", "foo=1"}})
	assert.Equal(t, "foo=1", state, "an empty first line hides nothing after it")

	id, state = forward(http.Header{"Traceparent": {parent}, "Tracestate": {"foo=1", "foo=2"}})
	assert.Equal(t, trace, id)
	assert.Empty(t, state, "a key repeated across lines: the list is invalid, discarded")

	members := func(from, to int) string {
		var m []string
		for i := from; i <= to; i++ {
			m = append(m, fmt.Sprintf("bar%02d=%02d", i, i))
		}
		return strings.Join(m, ",")
	}
	_, state = forward(http.Header{"Traceparent": {parent}, "Tracestate": {members(1, 10), members(11, 20), members(21, 30), members(31, 32)}})
	assert.Equal(t, members(1, 32), state, "32 members over four lines are kept")
	id, state = forward(http.Header{"Traceparent": {parent}, "Tracestate": {members(1, 10), members(11, 20), members(21, 30), members(31, 33)}})
	assert.Equal(t, trace, id)
	assert.Empty(t, state, "33 members over four lines: more than 32, discarded")

	// Optional whitespace around the value, sent raw: Go's client trims it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(conn, "GET /?user_key=premium-key HTTP/1.1\r\nHost: x\r\nTraceparent: \t %s \t\r\nConnection: close\r\n\r\n", parent)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, trace, strings.Split((<-got).Header.Get("Traceparent"), "-")[1], "whitespace around traceparent is not part of it")
}
