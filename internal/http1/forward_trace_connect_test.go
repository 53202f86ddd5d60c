package http1

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TRACE and CONNECT are never sent to the upstream; the client is answered
// 405, as nginx in front of APIcast answers both before any handler runs
// (nginx/nginx src/http/ngx_http_request.c, ngx_http_process_request_header:
// "client sent TRACE method" / "client sent CONNECT method",
// NGX_HTTP_NOT_ALLOWED).
//
// TRACE: an upstream that implements it (Apache httpd's TraceEnable is on
// by default) echoes the request it received as its answer, and the
// forwarder's request carries the owned header (the gateway's
// X-3scale-Proxy-Secret-Token): relayed, the echo hands the secret to the
// client. RFC 9110 §9.3.8: "A client MUST NOT generate fields in a TRACE
// request containing sensitive data that might be disclosed by the
// response."
//
// CONNECT: RFC 9112 §6.3 (2): any 2xx answer to CONNECT makes the
// connection a tunnel right after its head, whatever Content-Length it
// has; the forwarder reads it as an ordinary answer, pools the connection
// and relays the 2xx with a framed body, which RFC 9110 §9.3.6 forbids a
// server ("MUST NOT send any Transfer-Encoding or Content-Length header
// fields in a 2xx (Successful) response to CONNECT"): a client or proxy in
// front that follows the RFC takes its connection for a tunnel while the
// gateway goes on reading it as HTTP.
func TestForwarderNeverSendsTraceOrConnect(t *testing.T) {
	up := newRecordingUpstream(t)
	f := NewForwarder(ForwarderConfig{Addr: up.addr, Host: "app", Owned: "X-Secret", Timeout: 5 * time.Second, Idle: 4})
	t.Cleanup(f.CloseIdle)
	for _, r := range []*http.Request{
		httptest.NewRequest("TRACE", "/x", nil),
		httptest.NewRequest("CONNECT", "/x", nil),
		httptest.NewRequest("CONNECT", "app:443", nil),
	} {
		w := httptest.NewRecorder()
		require.NoError(t, f.Serve(w, r, "", []string{"s3cret"}))
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code, r.Method)
		assert.NotContains(t, w.Body.String(), "s3cret", r.Method)
		if r.Method == http.MethodConnect {
			// What follows a CONNECT may be a tunnel's bytes, not a request.
			assert.Equal(t, "close", w.Header().Get("Connection"), r.Method)
		}
	}
	// An ordinary request still goes, on the same forwarder.
	w := httptest.NewRecorder()
	require.NoError(t, f.Serve(w, httptest.NewRequest("GET", "/after", nil), "", []string{"s3cret"}))
	assert.Equal(t, "ok", w.Body.String())
	raw, lines := up.seen()
	assert.Equal(t, []string{"GET /after"}, lines, "the upstream received TRACE or CONNECT")
	assert.False(t, strings.Contains(raw, "TRACE") || strings.Contains(raw, "CONNECT"), "upstream bytes: %q", raw)
}
