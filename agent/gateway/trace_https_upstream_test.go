package gateway

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// A TRACE to a service whose upstream is https (forwarded through
// httputil.ReverseProxy, not the lean loop) is refused too, before any
// policy: nginx answers 405 to TRACE ahead of APIcast's Lua
// (ngx_http_process_request_header), and the upstream's echo carried the
// service's X-3scale-Proxy-Secret-Token to the client.
func TestGatewayRefusesTraceToHTTPSUpstreams(t *testing.T) {
	certs := newTestCerts(t)
	var reached atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Type", "message/http")
		_ = r.Write(w) // as Apache httpd answers TRACE by default
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{proxiedPair(t, certs)}}
	up.StartTLS()
	t.Cleanup(up.Close)

	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "ANY", Pattern: "/", Delta: 1}))
	p, _ := f.tx.View().Proxies.Get(f.svc.ID)
	require.NotEmpty(t, p.SecretToken)
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})

	req, err := http.NewRequest(http.MethodTrace, gw+"/x?user_key=premium-key", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.False(t, strings.Contains(string(body), p.SecretToken), "the secret token was echoed: %s", body)
	assert.Zero(t, reached.Load(), "the upstream received the TRACE")

	resp, err = http.Get(gw + "/x?user_key=premium-key")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "other methods still reach the https upstream")
}
