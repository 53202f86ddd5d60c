package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nginx_http_connections, as APIcast exports nginx's stub_status: a gauge by
// state. Two kept-alive connections that each made a request are accepted,
// handled, active and waiting (idle between requests); one whose head is
// half sent is reading; the series exist before any connection.
func TestNginxHTTPConnections(t *testing.T) {
	f := newGatewayFixture(t, backendUserKey)
	up, _ := echoUpstream(t, "app")
	_, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{})
	gauge := func(state string) float64 {
		return series(t, reg, "nginx_http_connections", map[string]string{"state": state}).GetGauge().GetValue()
	}
	assert.Equal(t, 0.0, gauge("active"))

	addr := strings.TrimPrefix(base, "http://")
	for range 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write([]byte("GET /?user_key=premium-key HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	half, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { half.Close() })
	_, err = half.Write([]byte("GET / HTTP/1.1\r\nHo"))
	require.NoError(t, err)

	require.Eventually(t, func() bool { return gauge("reading") == 1 && gauge("waiting") == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 3.0, gauge("accepted"))
	assert.Equal(t, 3.0, gauge("handled"))
	assert.Equal(t, 3.0, gauge("active"))
	assert.Equal(t, 0.0, gauge("writing"))
}

// HTTP/2 connections count too (APIcast's nginx counts them in
// stub_status): one h2c connection is accepted, handled and active, writing
// while it answers a request and waiting after.
func TestNginxHTTPConnectionsHTTP2(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = io.WriteString(w, "app")
	}))
	t.Cleanup(up.Close)
	f := newGatewayFixture(t, backendUserKey)
	_, gw, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{TLS: TLS{H2C: true}})
	gauge := func(state string) float64 {
		return series(t, reg, "nginx_http_connections", map[string]string{"state": state}).GetGauge().GetValue()
	}
	c := h2cClient()
	done := make(chan int, 1)
	go func() {
		resp, err := c.Get(gw + "/articles?user_key=premium-key")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.ProtoMajor
	}()
	require.Eventually(t, func() bool { return gauge("writing") == 1 }, 5*time.Second, 10*time.Millisecond, "answering")
	assert.Equal(t, 1.0, gauge("active"))
	assert.Equal(t, 0.0, gauge("waiting"))
	close(release)
	require.Equal(t, 2, <-done, "an HTTP/2 request")
	require.Eventually(t, func() bool { return gauge("waiting") == 1 && gauge("writing") == 0 }, 5*time.Second, 10*time.Millisecond, "idle")
	assert.Equal(t, 1.0, gauge("accepted"))
	assert.Equal(t, 1.0, gauge("handled"))
	assert.Equal(t, 1.0, gauge("active"))
}
