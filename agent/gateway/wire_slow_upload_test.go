package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trickleUpload POSTs a body that comes in parts, gap apart after the
// first, chunked or with its Content-Length, and returns the answer and
// how long it took from the last part sent.
func trickleUpload(t *testing.T, addr string, chunked bool, parts []string, gap time.Duration) (status int, body string, afterLast time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	head := "POST /upload?user_key=premium-key HTTP/1.1\r\nHost: gw\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.Itoa(len(strings.Join(parts, ""))) + "\r\n\r\n"
	}
	_, err = io.WriteString(c, head)
	require.NoError(t, err)
	for i, p := range parts {
		if i > 0 {
			time.Sleep(gap)
		}
		if chunked {
			p = wtChunk(p)
		}
		_, err = io.WriteString(c, p)
		require.NoError(t, err)
	}
	if chunked {
		_, err = io.WriteString(c, "0\r\n\r\n")
		require.NoError(t, err)
	}
	sent := time.Now()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), time.Since(sent)
}

var trickleParts = []string{uploadFirst, "a", "b", "c", "d", uploadLast}

// nginx reads a request's body before it starts its upstream timers
// (proxy_request_buffering on, its default): an upload slower than the
// upstream timeout (400 ms here; 1.25 s to upload) reaches a healthy
// upstream whole and its answer comes back, chunked or with a
// Content-Length, without request_unbuffered, and under the timeouts
// policy's read_timeout ("between two successive read operations", which
// starts once the request is sent).
func TestGatewayWireSlowUploadIsNotTimedOut(t *testing.T) {
	app := newSlowUploadApp(t)
	for name, chain := range map[string]string{
		"defaults": `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`,
		"timeouts": `[{"name":"upstream_connection","version":"builtin","enabled":true,"configuration":{"read_timeout":0.4,"send_timeout":0.4}},
			{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`,
	} {
		addr := startUnbufferedGatewayWith(t, chain, app.url, Config{UpstreamTimeout: 400 * time.Millisecond})
		for _, chunked := range []bool{true, false} {
			status, body, _ := trickleUpload(t, addr, chunked, trickleParts, 250*time.Millisecond)
			assert.Equal(t, http.StatusOK, status, "%s, chunked %v: %s", name, chunked, body)
			assert.Equal(t, strings.Join(trickleParts, ""), body, "%s, chunked %v", name, chunked)
		}
	}
}

// An upstream that takes the slow upload and never answers is still timed
// out, 504 as nginx answers it, the timeout counted from the body sent.
func TestGatewayWireSlowUploadUnansweredIs504(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(up.Close)
	addr := startUnbufferedGatewayWith(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`,
		up.URL, Config{UpstreamTimeout: 400 * time.Millisecond})
	status, _, afterLast := trickleUpload(t, addr, true, trickleParts, 250*time.Millisecond)
	assert.Equal(t, http.StatusGatewayTimeout, status)
	assert.GreaterOrEqual(t, afterLast, 150*time.Millisecond, "half the timeout at least, from the body sent")
	assert.Less(t, afterLast, 2*time.Second)
}

const unbufferedLimitsChain = `[{"name":"request_unbuffered","version":"builtin","enabled":true,"configuration":{}},
	{"name":"payload_limits","version":"builtin","enabled":true,"configuration":{"request":100,"response":0}},
	{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`

// With request_unbuffered ("sending the request body to the proxied server
// immediately upon receiving it", its README) payload_limits does not read
// a chunked body whole to check it (APIcast's does not check one at all:
// "the content-length header is mandatory"): the body is bounded while it
// streams. A slow chunked upload within the limit reaches the upstream
// part by part, to the lean forwarder and through httputil.ReverseProxy
// (an upstream with a base path).
func TestGatewayWireUnbufferedPayloadLimitsStreams(t *testing.T) {
	app := newSlowUploadApp(t)
	for _, up := range []string{app.url, app.url + "/base"} {
		addr := startUnbufferedGateway(t, unbufferedLimitsChain, up)
		early, status, body := slowUpload(t, addr, app, true, 3*time.Second)
		assert.True(t, early, "%s: the first part reaches the upstream before the last is sent", up)
		assert.Equal(t, http.StatusOK, status, up)
		assert.Equal(t, uploadFirst+uploadLast, body, up)
	}
}

// A chunked body over the limit is still refused, 413, though its first
// part has reached the upstream: the gateway reads the upstream's answer
// only once the body is sent, so the client's answer is still its own to
// give, as nginx answers 413 when a body it streams goes over
// client_max_body_size before the upstream answered. The upstream's
// connection is closed, its chunked body without its last chunk: never
// taken for a whole request.
//
// Through httputil.ReverseProxy (an upstream with a base path) too, where
// the body's bound surfaced as a 502.
func TestGatewayWireUnbufferedPayloadLimitsRefusesOverTheLimit(t *testing.T) {
	app := newSlowUploadApp(t)
	for _, up := range []string{app.url, app.url + "/base"} {
		addr := startUnbufferedGateway(t, unbufferedLimitsChain, up)
		status, body, _ := trickleUpload(t, addr, true, []string{uploadFirst, strings.Repeat("x", 200), uploadLast}, 100*time.Millisecond)
		assert.Equal(t, http.StatusRequestEntityTooLarge, status, "%s: %s", up, body)
		select {
		case <-app.first:
		case <-time.After(5 * time.Second):
			assert.Fail(t, "the first part did not reach the upstream", up)
		}
	}
}
