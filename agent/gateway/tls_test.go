package gateway

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
)

// testCerts is a CA the test makes, and the files of what it issues.
type testCerts struct {
	dir    string
	ca     *pki.Authority
	caFile string
	pool   *x509.CertPool
}

func newTestCerts(t testing.TB) *testCerts {
	t.Helper()
	ca, err := pki.NewAuthority("gateway test CA", time.Now())
	require.NoError(t, err)
	c := &testCerts{dir: t.TempDir(), ca: ca, pool: x509.NewCertPool()}
	c.caFile = filepath.Join(c.dir, "ca.pem")
	require.NoError(t, os.WriteFile(c.caFile, ca.CertPEM(), 0o600))
	c.pool.AddCert(ca.Cert)
	return c
}

// issue writes a new pair for 127.0.0.1 and localhost at name.pem and
// name-key.pem (each replaced atomically, the key first) and returns the
// files and the certificate.
func (c *testCerts) issue(t testing.TB, role pki.Role, name string) (certFile, keyFile string, leaf *x509.Certificate) {
	t.Helper()
	chain, key, err := c.ca.Issue(pki.Leaf{Role: role, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(c.dir, name+".pem"), filepath.Join(c.dir, name+"-key.pem")
	writeAtomic(t, keyFile, key)
	writeAtomic(t, certFile, chain)
	pair, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	return certFile, keyFile, pair.Leaf
}

func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// tlsClient trusts the test CA; h2 offers HTTP/2 by ALPN, else HTTP/1.1 only.
func tlsClient(pool *x509.CertPool, h2 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func getWith(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// startTLSGateway runs the test gateway with TLS from certs in front of
// upstream, and returns its https:// URL.
func startTLSGateway(t *testing.T, certs *testCerts, upstream string, tlsCfg TLS) (*gatewayFixture, string) {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	if tlsCfg.CertFile == "" {
		tlsCfg.CertFile, tlsCfg.KeyFile, _ = certs.issue(t, pki.RoleServer, "gateway")
	}
	_, gw, _ := startTestGateway(t, f, upstream, f.placement(f.basic, f.premium), Config{TLS: tlsCfg})
	return f, "https://" + strings.TrimPrefix(gw, "http://")
}

// The gateway terminates TLS and serves HTTP/2 to clients that offer it by
// ALPN and HTTP/1.1 (the lean loop) to the others, with the same policy
// chain: both get the app's answer, both are refused without a key.
func TestGatewayTLSServesHTTP2AndHTTP11ByALPN(t *testing.T) {
	certs := newTestCerts(t)
	up, got := echoUpstream(t, "app")
	_, gw := startTLSGateway(t, certs, up.URL, TLS{})

	for _, tc := range []struct {
		name  string
		h2    bool
		major int
	}{{"h2", true, 2}, {"http/1.1", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tlsClient(certs.pool, tc.h2)
			for range 3 { // kept alive: the same connection serves each
				resp, body := getWith(t, c, gw+"/articles?user_key=premium-key")
				assert.Equal(t, 200, resp.StatusCode, body)
				assert.Equal(t, tc.major, resp.ProtoMajor, "the protocol ALPN chose")
				assert.Equal(t, "app", body)
				assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))
				r := <-got
				assert.Equal(t, "/articles", r.URL.Path)
			}
			resp, body := getWith(t, c, gw+"/articles")
			assert.Equal(t, 403, resp.StatusCode)
			assert.Equal(t, "Authentication parameters missing\n", body)
		})
	}
}

// TLS below 1.2 is refused at the handshake.
func TestGatewayTLSRefusesTLS11(t *testing.T) {
	certs := newTestCerts(t)
	up, _ := echoUpstream(t, "app")
	_, gw := startTLSGateway(t, certs, up.URL, TLS{})
	_, err := tls.Dial("tcp", strings.TrimPrefix(gw, "https://"), &tls.Config{RootCAs: certs.pool, MaxVersion: tls.VersionTLS11})
	require.Error(t, err)
}

// curl --http2 against the TLS gateway negotiates HTTP/2 (ALPN), trusting
// the test CA with --cacert.
func TestGatewayTLSCurlHTTP2(t *testing.T) {
	certs := newTestCerts(t)
	up, _ := echoUpstream(t, "app")
	_, gw := startTLSGateway(t, certs, up.URL, TLS{})
	out := runCurl(t, "--http2", "--cacert", certs.caFile, gw+"/articles?user_key=premium-key")
	assert.Equal(t, "app\n2 200", out, "body, then HTTP version and status")
	out = runCurl(t, "--http1.1", "--cacert", certs.caFile, gw+"/articles?user_key=premium-key")
	assert.Equal(t, "app\n1.1 200", out)
}

// runCurl runs curl with args and prints the body, a newline, then the HTTP
// version and the status.
func runCurl(t *testing.T, args ...string) string {
	t.Helper()
	curl, err := exec.LookPath("curl")
	require.NoError(t, err, "curl is needed (with HTTP/2: Debian's curl has it): apt-get install curl")
	args = append([]string{"-sS", "--max-time", "10", "-w", "\n%{http_version} %{http_code}"}, args...)
	out, err := exec.Command(curl, args...).CombinedOutput()
	require.NoError(t, err, "curl %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// serialOf is the serial number of the certificate a handshake with addr
// presents.
func serialOf(t *testing.T, addr string, pool *x509.CertPool) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// A new pair written over the files is presented from the next handshake
// that looks (at most a second later), without a restart.
func TestGatewayTLSReloadsChangedCertificate(t *testing.T) {
	certs := newTestCerts(t)
	up, _ := echoUpstream(t, "app")
	certFile, keyFile, first := certs.issue(t, pki.RoleServer, "gateway")
	_, gw := startTLSGateway(t, certs, up.URL, TLS{CertFile: certFile, KeyFile: keyFile})
	addr := strings.TrimPrefix(gw, "https://")
	require.Equal(t, first.SerialNumber.String(), serialOf(t, addr, certs.pool))

	_, _, second := certs.issue(t, pki.RoleServer, "gateway")
	require.NotEqual(t, first.SerialNumber, second.SerialNumber)
	require.Eventually(t, func() bool { return serialOf(t, addr, certs.pool) == second.SerialNumber.String() },
		5*time.Second, 100*time.Millisecond, "the new certificate is served")
	resp, body := getWith(t, tlsClient(certs.pool, true), gw+"/articles?user_key=premium-key")
	assert.Equal(t, 200, resp.StatusCode, body)
}

// Configuration mistakes stop the agent at start with an error that names
// the flag and says what to do.
func TestGatewayTLSConfigErrorsNameTheFix(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "gateway")
	_, otherKey, _ := certs.issue(t, pki.RoleServer, "other")
	missing := filepath.Join(certs.dir, "missing.pem")
	for _, tc := range []struct {
		name string
		tls  TLS
		want []string
	}{
		{"cert without key", TLS{CertFile: certFile}, []string{"--gateway-tls-cert is given without --gateway-tls-key", "give the certificate's private key"}},
		{"key without cert", TLS{KeyFile: keyFile}, []string{"--gateway-tls-key is given without --gateway-tls-cert"}},
		{"unreadable cert", TLS{CertFile: missing, KeyFile: keyFile}, []string{"--gateway-tls-cert", "no such file", "check the path"}},
		{"unreadable key", TLS{CertFile: certFile, KeyFile: missing}, []string{"--gateway-tls-key", "no such file", "check the path"}},
		{"mismatched pair", TLS{CertFile: certFile, KeyFile: otherKey}, []string{"--gateway-tls-cert " + certFile + " with --gateway-tls-key " + otherKey, "private key does not match", "its own private key"}},
		{"h2c with TLS", TLS{CertFile: certFile, KeyFile: keyFile, H2C: true}, []string{"--gateway-h2c", "drop one"}},
		{"bad upstream CA file", TLS{UpstreamCAFile: keyFile}, []string{"--upstream-ca-file", "give PEM CA certificates"}},
		{"upstream cert without key", TLS{UpstreamCertFile: certFile}, []string{"--upstream-client-cert and --upstream-client-key"}},
		{"mismatched upstream pair", TLS{UpstreamCertFile: certFile, UpstreamKeyFile: otherKey}, []string{"--upstream-client-cert", "private key does not match"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Listen: ":0", Upstream: "http://127.0.0.1:1", TLS: tc.tls}
			_, err := cfg.Check()
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// A WebSocket upgrade over TLS goes through (HTTP/1.1 by ALPN, handed to
// net/http by the lean loop, hijacked by the reverse proxy): after the 101
// the connection carries the app's protocol both ways. The app is told the
// client came over https.
func TestGatewayTLSWebSocketUpgrade(t *testing.T) {
	proto := make(chan string, 1)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto <- r.Header.Get("X-Forwarded-Proto")
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		_, _ = io.Copy(c, brw) // echoes until the client closes
	}))
	t.Cleanup(echo.Close)
	certs := newTestCerts(t)
	_, gw := startTLSGateway(t, certs, echo.URL, TLS{})

	c, err := tls.Dial("tcp", strings.TrimPrefix(gw, "https://"), &tls.Config{RootCAs: certs.pool, NextProtos: []string{"http/1.1"}})
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(c, "GET /ws?user_key=premium-key HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "https", <-proto, "X-Forwarded-Proto")
	frame := "\x81\x05hello"
	_, err = io.WriteString(c, frame)
	require.NoError(t, err)
	back := make([]byte, len(frame))
	_, err = io.ReadFull(br, back)
	require.NoError(t, err)
	assert.Equal(t, frame, string(back))
}

// httpsUpstream is an app over TLS with a certificate of the test CA,
// offering HTTP/2; with mutual, it requires a client certificate of the
// same CA. It records the protocol each request came in.
func httpsUpstream(t *testing.T, certs *testCerts, mutual bool) (*httptest.Server, chan *http.Request) {
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "upstream")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	got := make(chan *http.Request, 10)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		_, _ = io.WriteString(w, "secure app")
	}))
	s.EnableHTTP2 = true
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if mutual {
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = certs.pool
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, got
}

// An https upstream is verified against --upstream-ca-file, spoken to in
// HTTP/2 when it offers it, and refused (502) without the CA.
func TestGatewayUpstreamHTTPSWithCAFile(t *testing.T) {
	certs := newTestCerts(t)
	up, got := httpsUpstream(t, certs, false)

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	a := call(t, "GET", gw+"/articles?user_key=premium-key", nil)
	assert.Equal(t, 200, a.status, a.body)
	assert.Equal(t, "secure app", a.body)
	r := <-got
	assert.Equal(t, 2, r.ProtoMajor, "HTTP/2 to an upstream that offers it")

	_, plain, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{})
	a = call(t, "GET", plain+"/articles?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status, "the system's CAs do not know the test CA: %s", a.body)
}

// An upstream that requires a client certificate gets the one of
// --upstream-client-cert; without it, the handshake fails and the client
// gets 502.
func TestGatewayUpstreamMutualTLS(t *testing.T) {
	certs := newTestCerts(t)
	up, got := httpsUpstream(t, certs, true)
	clientCert, clientKey, clientLeaf := certs.issue(t, pki.RoleClient, "client")

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.premium),
		Config{TLS: TLS{UpstreamCAFile: certs.caFile, UpstreamCertFile: clientCert, UpstreamKeyFile: clientKey}})
	a := call(t, "GET", gw+"/articles?user_key=premium-key", nil)
	assert.Equal(t, 200, a.status, a.body)
	r := <-got
	require.NotEmpty(t, r.TLS.PeerCertificates)
	assert.Equal(t, clientLeaf.SerialNumber, r.TLS.PeerCertificates[0].SerialNumber, "the upstream saw the gateway's client certificate")

	_, noCert, _ := startTestGateway(t, f, up.URL, f.placement(f.premium), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	a = call(t, "GET", noCert+"/articles?user_key=premium-key", nil)
	assert.Equal(t, 502, a.status, a.body)
}

// Plan-aware routing reaches a peer's app over the scheme of --upstream:
// with an https app, the peer is spoken to over https and verified against
// --upstream-ca-file, as the local app is.
func TestGatewayRoutesToPeersOverTheUpstreamsScheme(t *testing.T) {
	certs := newTestCerts(t)
	local, _ := httpsUpstream(t, certs, false)
	peer, got := httpsUpstream(t, certs, false)

	f := newGatewayFixture(t, backendUserKey)
	g, gw, _ := startTestGateway(t, f, local.URL, f.placement(f.basic), Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	host, port, err := net.SplitHostPort(strings.TrimPrefix(peer.URL, "https://"))
	require.NoError(t, err)
	n, _ := strconv.Atoi(port)
	g.SetMap(&registry.Map{Services: []registry.MapService{{Name: "news", ID: f.svc.ID, Instances: []registry.MapInstance{
		{ID: "peer", Service: "newsapi", Address: host, Port: n, Status: registry.StatusPassing, Plans: []registry.PlanRef{{ID: f.premium.ID}}},
	}}}})
	a := call(t, "GET", gw+"/articles?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	r := <-got
	assert.NotNil(t, r.TLS, "the peer's app was reached over TLS")
}

// The client certificate presented to upstreams is reloaded when its files
// change, as the served one is: a new connection after a rotation presents
// the new certificate, without a restart.
func TestGatewayUpstreamClientCertificateIsReloaded(t *testing.T) {
	certs := newTestCerts(t)
	serverCert, serverKey, _ := certs.issue(t, pki.RoleServer, "upstream")
	pair, err := tls.LoadX509KeyPair(serverCert, serverKey)
	require.NoError(t, err)
	seen := make(chan string, 100)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.TLS.PeerCertificates[0].SerialNumber.String()
		w.Header().Set("Connection", "close") // a handshake per request
		_, _ = io.WriteString(w, "secure app")
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: certs.pool}
	up.StartTLS()
	t.Cleanup(up.Close)
	clientCert, clientKey, first := certs.issue(t, pki.RoleClient, "client")

	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, up.URL, f.placement(f.premium),
		Config{TLS: TLS{UpstreamCAFile: certs.caFile, UpstreamCertFile: clientCert, UpstreamKeyFile: clientKey}})
	a := call(t, "GET", gw+"/articles?user_key=premium-key", nil)
	require.Equal(t, 200, a.status, a.body)
	assert.Equal(t, first.SerialNumber.String(), <-seen)

	_, _, second := certs.issue(t, pki.RoleClient, "client")
	require.Eventually(t, func() bool {
		if a := call(t, "GET", gw+"/articles?user_key=premium-key", nil); a.status != 200 {
			return false
		}
		return <-seen == second.SerialNumber.String()
	}, 5*time.Second, 100*time.Millisecond, "the new client certificate is presented")
}
