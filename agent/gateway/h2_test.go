package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/internal/pki"
)

// h2cClient speaks HTTP/2 in clear text with prior knowledge (net/http's
// client; x/net's http2.Transport with AllowHTTP is deprecated for it).
func h2cClient() *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

func startH2CGateway(t *testing.T, upstream string, cfg Config) string {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	cfg.TLS.H2C = true
	_, gw, _ := startTestGateway(t, f, upstream, f.placement(f.basic, f.premium), cfg)
	return gw
}

// With --gateway-h2c, a client with prior knowledge speaks HTTP/2 in clear
// text, several streams on one connection, through the same chain; HTTP/1.1
// clients are still served by the lean loop on the same port.
func TestGatewayH2CPriorKnowledge(t *testing.T) {
	up, got := echoUpstream(t, "app")
	gw := startH2CGateway(t, up.URL, Config{})
	c := h2cClient()
	for range 3 {
		resp, body := getWith(t, c, gw+"/articles?user_key=premium-key")
		assert.Equal(t, 200, resp.StatusCode, body)
		assert.Equal(t, 2, resp.ProtoMajor)
		assert.Equal(t, "app", body)
		<-got
	}
	resp, body := getWith(t, c, gw+"/articles")
	assert.Equal(t, 403, resp.StatusCode)
	assert.Equal(t, "Authentication parameters missing\n", body)

	resp, body = getWith(t, http.DefaultClient, gw+"/articles?user_key=premium-key")
	assert.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, 1, resp.ProtoMajor)
}

// Request bodies over HTTP/2 (no Content-Length: sent chunked to the app)
// reach the app whole, and are held to the gateway's body bound.
func TestGatewayH2CRequestBodies(t *testing.T) {
	bodies := make(chan string, 4)
	up := echoBodyUpstream(t, bodies)
	gw := startH2CGateway(t, up, Config{MaxBodyBytes: 1000})
	c := h2cClient()
	post := func(body io.Reader) int {
		req, err := http.NewRequest(http.MethodGet, gw+"/articles?user_key=premium-key", body)
		require.NoError(t, err)
		req.ContentLength = -1 // streamed: no content-length
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	assert.Equal(t, 200, post(io.NopCloser(strings.NewReader("hello over h2"))))
	assert.Equal(t, "hello over h2", <-bodies)
	assert.Equal(t, 413, post(io.NopCloser(strings.NewReader(strings.Repeat("x", 5000)))), "over MaxBodyBytes")
}

// echoBodyUpstream sends each request's body to bodies.
func echoBodyUpstream(t *testing.T, bodies chan string) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	return up.URL
}

// curl --http2-prior-knowledge speaks h2c to the gateway; curl --http2 on
// an http:// URL asks for the upgrade to h2c (Upgrade: h2c), which the
// gateway takes: the answer comes in HTTP/2.
func TestGatewayH2CCurl(t *testing.T) {
	up, _ := echoUpstream(t, "app")
	gw := startH2CGateway(t, up.URL, Config{})
	assert.Equal(t, "app\n2 200", runCurl(t, "--http2-prior-knowledge", gw+"/articles?user_key=premium-key"))
	assert.Equal(t, "app\n2 200", runCurl(t, "--http2", gw+"/articles?user_key=premium-key"), "Upgrade: h2c")
	assert.Equal(t, "app\n1.1 200", runCurl(t, "--http1.1", gw+"/articles?user_key=premium-key"))
}

// Without --gateway-h2c, an upgrade to h2c is not taken: the request is
// served in HTTP/1.1.
func TestGatewayWithoutH2CAnswersHTTP11(t *testing.T) {
	up, _ := echoUpstream(t, "app")
	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{})
	assert.Equal(t, "app\n1.1 200", runCurl(t, "--http2", gw+"/articles?user_key=premium-key"))
}

// BenchmarkGatewayTLS is TLS termination on kept-alive connections: the
// whole request path (chain, ledger in memory, forwarding over loopback)
// behind the TLS gateway, with Go's client over HTTP/1.1 (the lean loop on
// the tls.Conn) and over HTTP/2, and plain HTTP/1.1 as the baseline.
func BenchmarkGatewayTLS(b *testing.B) {
	certs := newTestCerts(b)
	certFile, keyFile, _ := certs.issue(b, pki.RoleServer, "gateway")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	b.Cleanup(up.Close)
	for _, tc := range []struct {
		name   string
		tls    bool
		client *http.Client
	}{
		{"plain-http1.1", false, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}},
		{"tls-http1.1", true, tlsClient(certs.pool, false)},
		{"tls-h2", true, tlsClient(certs.pool, true)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newGatewayFixture(b, backendUserKey)
			cfg := Config{}
			if tc.tls {
				cfg.TLS = TLS{CertFile: certFile, KeyFile: keyFile}
			}
			g, gw, _ := startTestGateway(b, f, up.URL, f.placement(f.basic, f.premium), cfg)
			l, err := ledger.New("", "bench", func() int64 { return f.svc.ID }, zerolog.Nop())
			require.NoError(b, err)
			g.ledger = l
			if tc.tls {
				gw = "https://" + strings.TrimPrefix(gw, "http://")
			}
			url := gw + "/health?user_key=premium-key"
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				resp, err := tc.client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
