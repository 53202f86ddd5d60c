package gateway

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawStatusUpstream answers every request with the three-digit status its
// path names ("/042", "/999"), written on the wire as is: an app (or another
// instance routed to) can send any three digits, and Go's
// http.ReadResponse, which the gateway falls back on, accepts 000 to 999.
func rawStatusUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				code := strings.TrimPrefix(req.URL.Path, "/")
				_, _ = fmt.Fprintf(conn, "HTTP/1.1 %s X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// An upstream choosing its status must not make the gateway's metrics
// grow without end: each status label may only take the valid HTTP
// statuses (100 to 599) and one value for the rest. APIcast bounds its own
// status label so (gateway/src/apicast/metrics/3scale_backend_calls.lua:
// "invalid_status" for what is not a status, as threescale_backend_calls
// does here in agent/metrics.go), and Prometheus' instrumentation practice
// (client_golang's promhttp: "unknown" outside 100–599; prometheus.io
// "Use labels": label values must be bounded) asks every label to be.
// Before the fix every status 600..999 (and 1..99) from the app made a
// new series in upstream_status, apicast_status and
// portolan_agent_gateway_responses_total.
func TestStatusLabelsStayBoundedWhateverTheUpstreamAnswers(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up := rawStatusUpstream(t)
	_, gw, reg := startTestGateway(t, f, up, f.placement(f.basic, f.premium), Config{ExtendedMetrics: true})
	client := &http.Client{Timeout: 5 * time.Second}
	for code := 1; code <= 999; code++ {
		if code >= 100 && code < 200 { // informational: never a final answer
			continue
		}
		if code >= 210 && code < 600 { // a sample of valid statuses is enough
			continue
		}
		resp, err := client.Get(fmt.Sprintf("%s/%03d?user_key=premium-key", gw, code))
		require.NoError(t, err, "status %03d", code)
		_ = resp.Body.Close()
	}
	for _, name := range []string{"upstream_status", "apicast_status", "portolan_agent_gateway_responses_total"} {
		statuses := map[string]bool{}
		for _, m := range family(t, reg, name).GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" {
					statuses[l.GetValue()] = true
				}
			}
		}
		var notStatuses []string
		for s := range statuses {
			if n, err := strconv.Atoi(s); s != "invalid" && (err != nil || n < 100 || n > 599) {
				notStatuses = append(notStatuses, s)
			}
		}
		assert.Empty(t, notStatuses, "%s: values that are not HTTP statuses, each a series of its own", name)
		assert.LessOrEqual(t, len(statuses), 20, "%s: %d status series from one app", name, len(statuses))
	}
}
