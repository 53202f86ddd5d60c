package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/portolan/portolan/internal/testenv"
)

// cutUpstream answers every request with a 200 whose body stops short of
// its Content-Length, and passes on each request's traceparent.
func cutUpstream(t *testing.T) (string, <-chan string) {
	t.Helper()
	traceparents := make(chan string, 8)
	addr := testenv.ServeTCP(t, func(conn net.Conn) {
		defer conn.Close()
		if req, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
			traceparents <- req.Header.Get("Traceparent")
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
	})
	return "http://" + addr, traceparents
}

// getCut GETs url and requires the answer to be cut short.
func getCut(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	require.Error(t, err, "the answer is cut short")
}

// A request whose upstream died mid-body reached the upstream, which
// answered 200: its upstream status and time are counted, as nginx has
// $upstream_status for an answer it could not finish (and the log phase,
// which runs for it, reads them too).
func TestCutRequestCountsItsUpstreamStatus(t *testing.T) {
	up, _ := cutUpstream(t)
	f := newGatewayFixture(t, backendUserKey)
	_, gw, reg := startTestGateway(t, f, up, f.placement(f.basic, f.premium), Config{ExtendedMetrics: true})
	for range 2 {
		getCut(t, gw+"/?user_key=premium-key")
	}
	id, name := strconv.FormatInt(f.svc.ID, 10), f.svc.SystemName
	svc := map[string]string{"service_id": id, "service_system_name": name}
	assert.Equal(t, uint64(2), series(t, reg, "upstream_response_time_seconds", svc).GetHistogram().GetSampleCount())
	assert.Equal(t, 2.0, series(t, reg, "upstream_status",
		map[string]string{"status": "200", "service_id": id, "service_system_name": name}).GetCounter().GetValue())
}

// A request whose upstream died mid-body has its span, as it is counted in
// the metrics, marked as an error.
func TestCutRequestIsTraced(t *testing.T) {
	up, traceparents := cutUpstream(t)
	rc := startOTLPReceiver(t)
	f := newGatewayFixture(t, backendUserKey)
	g, gw, _ := startTestGateway(t, f, up, f.placement(f.basic, f.premium), Config{OTelEndpoint: rc.url})
	t.Cleanup(func() { assert.NoError(t, g.StopTracing(context.Background())) })
	getCut(t, gw+"/?user_key=premium-key")
	parts := strings.Split(<-traceparents, "-")
	require.Len(t, parts, 4)
	span := rc.span(t, parts[1])
	assert.Equal(t, "200", spanAttrs(span)["http.response.status_code"])
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, span.GetStatus().GetCode(), "the answer was cut short")
}
