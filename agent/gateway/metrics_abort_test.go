package gateway

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request whose upstream dies mid-body (the forward ends in
// http.ErrAbortHandler, cutting the client's answer) is still counted in
// the gateway's metrics, as nginx logs and counts a 200 it could not finish.
func TestRequestCutByItsUpstreamIsCounted(t *testing.T) {
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
				defer conn.Close()
				_, _ = conn.Read(make([]byte, 4096))
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
			}()
		}
	}()
	f := newGatewayFixture(t, backendUserKey)
	_, gw, reg := startTestGateway(t, f, "http://"+ln.Addr().String(), f.placement(f.basic, f.premium), Config{ExtendedMetrics: true})
	for range 2 {
		resp, err := http.Get(gw + "/?user_key=premium-key")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		require.Error(t, err, "the answer is cut short")
	}
	id := strconv.FormatInt(f.svc.ID, 10)
	svc := map[string]string{"service_id": id, "service_system_name": f.svc.SystemName}
	assert.Equal(t, uint64(2), series(t, reg, "total_response_time_seconds", svc).GetHistogram().GetSampleCount(),
		"both cut requests are counted")
}
