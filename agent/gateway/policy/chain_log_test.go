package policy

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
)

// dyingUpstream answers every request with head and then closes the
// connection: a body cut short.
func dyingUpstream(t *testing.T, head string) *url.URL {
	t.Helper()
	addr := testenv.ServeTCP(t, func(conn net.Conn) {
		defer conn.Close()
		_, _ = conn.Read(make([]byte, 4096))
		_, _ = io.WriteString(conn, head)
	})
	return &url.URL{Scheme: "http", Host: addr}
}

// chainServer serves the chain of configs on a real listener, forwarding
// through httputil.ReverseProxy to up, which panics with
// http.ErrAbortHandler when the upstream dies mid-body.
func chainServer(t *testing.T, up *url.URL, configs ...composition.PolicyConfig) *httptest.Server {
	t.Helper()
	env := &Env{ServiceID: 7, Log: zerolog.Nop(), Metrics: NewMetrics(prometheus.NewRegistry()), Shared: &Shared{}}
	c, err := Build(configs, nil, env)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ErrorLog = nil
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ctx Context
		c.Acquire(&ctx, w, r)
		c.Serve(&ctx, ForwarderFunc(func(ctx *Context) { rp.ServeHTTP(ctx.W, ctx.R) }))
	}))
	srv.Config.ErrorLog = nil
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func policyConfig(name, conf string) composition.PolicyConfig {
	return composition.PolicyConfig{Name: name, Enabled: true, Configuration: json.RawMessage(conf)}
}

// getThrough returns the status and the header named of a GET of url; 0
// when the exchange failed.
func getThrough(t *testing.T, url, header string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get(header)
}

// The log phase runs for a request whose upstream died mid-body, which
// makes the forward panic (http.ErrAbortHandler): a connection limit's
// slot is left, not kept for good.
func TestConnectionLimitLeftWhenUpstreamDiesMidBody(t *testing.T) {
	up := dyingUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
	srv := chainServer(t, up, policyConfig("rate_limit",
		`{"connection_limiters":[{"key":{"name":"k"},"conn":1,"burst":0,"delay":1}]}`))
	for i := range 3 {
		status, _ := getThrough(t, srv.URL, "")
		assert.NotEqual(t, http.StatusTooManyRequests, status, "request %d: a request before it kept its slot", i)
	}
}

// A response cut short is not kept by content_caching, whose log phase now
// runs for it too: it has no Content-Length to tell it was cut.
func TestCutShortResponseNotCached(t *testing.T) {
	up := dyingUpstream(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nshort\r\n")
	srv := chainServer(t, up, policyConfig("content_caching", `{"rules":[{"cache":true}]}`))
	getThrough(t, srv.URL, "X-Cache-Status")
	_, cache := getThrough(t, srv.URL, "X-Cache-Status")
	assert.NotEqual(t, "HIT", cache, "the cut response was kept")
}
