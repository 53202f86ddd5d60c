package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// APIcast's tls_validation README: "By default, during the TLS handshake,
// APIcast requests client certificates ... The only exception is when a
// browser or front-end application uses the service. In this case, the
// browser will always prompt the user to choose a client certificate ...
// set the environment variable APICAST_HTTPS_VERIFY_CLIENT to off. This
// instructs APIcast to request a client certificate only when the policy
// is in the chain." The gateway asks only for a service whose chain reads
// the certificate: tls_validation, oauth_mtls, fapi with
// validate_oauth2_certificate_bound_access_token; with any SNI or none
// (the gateway serves one service whatever the name).
func TestTLSClientCertificateAskedOnlyWhenTheChainReadsIt(t *testing.T) {
	certs := newTestCerts(t)
	ca := newMTLSCA(t, "ca", nil)
	for _, tc := range []struct {
		name, chain string
		asked       bool
	}{
		{"apicast only", `[{"name":"apicast","version":"builtin","enabled":true}]`, false},
		{"tls_validation", tlsValidationChain(`{"whitelist":` + mtlsPEMList(mtlsCertPEM(ca.cert)) + `}`), true},
		{"tls_validation disabled", `[{"name":"tls_validation","version":"builtin","enabled":false,"configuration":{}},
			{"name":"apicast","version":"builtin","enabled":true}]`, false},
		{"oauth_mtls", `[{"name":"oauth_mtls","version":"builtin","enabled":true},{"name":"apicast","version":"builtin","enabled":true}]`, true},
		{"fapi binding tokens", `[{"name":"fapi","version":"builtin","enabled":true,"configuration":{"validate_oauth2_certificate_bound_access_token":true}},
			{"name":"apicast","version":"builtin","enabled":true}]`, true},
		{"fapi without binding", `[{"name":"fapi","version":"builtin","enabled":true,"configuration":{"validate_x_fapi_customer_ip_address":true}},
			{"name":"apicast","version":"builtin","enabled":true}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startTLSChainGatewayWith(t, certs, tc.chain, false)
			for _, sni := range []string{"localhost", "api.example.com", ""} {
				_, asked := handshakeWith(t, tg.addr, sni)
				assert.Equal(t, tc.asked, asked, "SNI %q: a CertificateRequest", sni)
			}
		})
	}
}

// Before the gateway knows its service (no composition yet) what a
// connection will need cannot be told: the handshake asks, as it always
// did.
func TestTLSClientCertificateAskedWithoutAView(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "gateway")
	up, _ := echoUpstream(t, "app")
	cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL, TLS: TLS{CertFile: certFile, KeyFile: keyFile}}
	u, err := cfg.Check()
	require.NoError(t, err)
	g := New(cfg, u, "self", &countingLedger{}, prometheus.NewRegistry(), zerolog.Nop())
	ln := runGateway(t, g, cfg.Listen)
	_, asked := handshakeWith(t, ln.Addr().String(), "localhost")
	assert.True(t, asked)
}

// setChain installs chainJSON as the service's chain in a new revision.
func (cg *chainGateway) setChain(t *testing.T, chainJSON string) {
	t.Helper()
	cg.f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	updated, err := cg.g.Update(agentView(t, cg.f.tx.Result(), cg.f.svc.SystemName), cg.f.placement(cg.f.basic, cg.f.premium))
	require.NoError(t, err)
	require.True(t, updated)
}

// countingDialer counts the TLS connections a client opens and the
// CertificateRequests it gets, and presents cert when asked.
type countingDialer struct {
	dials, asked atomic.Int32
	cert         *tls.Certificate
}

func (d *countingDialer) client(certs *testCerts, h2 bool) *http.Client {
	c := tlsClient(certs.pool, h2)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		d.asked.Add(1)
		if d.cert == nil {
			return &tls.Certificate{}, nil
		}
		return d.cert, nil
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.dials.Add(1)
		return dialer.DialContext(ctx, network, addr)
	}
	return c
}

func doWith(t *testing.T, c *http.Client, method, target string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}
}

// RFC 9110 section 15.5.20: "The 421 (Misdirected Request) status code
// indicates that the request was directed at a server that is unable or
// unwilling to produce an authoritative response for the target URI ...
// Clients receiving a 421 (Misdirected Request) response from a server
// MAY retry the request ... over a different connection." A connection
// made while the service read no certificate (its handshake did not ask)
// carries, after a new revision adds tls_validation, a request: it gets
// 421, not tls_validation's 400 "No required TLS certificate was sent"
// (the client was never asked), counted, and the connection is closed
// (HTTP/2: GOAWAY), so the next request opens a new one, whose handshake
// asks; over HTTP/2, the lean HTTP/1.1 loop and net/http's (a chunked
// body). The certificate given there passes tls_validation; a client that
// gives none then gets the 400.
func TestTLSClientCertificateMisdirectedOnAConnectionNotAsked(t *testing.T) {
	certs := newTestCerts(t)
	ca := newMTLSCA(t, "ca", nil)
	clientCert, _ := ca.client(t, "client", nil)
	for _, tc := range []struct {
		name    string
		h2      bool
		chunked bool
	}{{"h2", true, false}, {"http/1.1", false, false}, {"http/1.1 chunked (net/http)", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startTLSChainGatewayWith(t, certs, `[{"name":"apicast","version":"builtin","enabled":true}]`, false)
			target := tg.base + "/?user_key=" + tg.key
			get := func(c *http.Client) answer {
				if tc.chunked {
					// No ContentLength: Go sends the body chunked, which the lean loop hands to net/http.
					return doWith(t, c, http.MethodGet, target, io.MultiReader(strings.NewReader("x")))
				}
				return doWith(t, c, http.MethodGet, target, nil)
			}
			d := &countingDialer{cert: &clientCert}
			c := d.client(certs, tc.h2)
			defer c.CloseIdleConnections()
			a := get(c)
			require.Equal(t, 200, a.status, a.body)
			require.Equal(t, int32(0), d.asked.Load(), "the service reads no certificate: not asked")

			tg.setChain(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(mtlsCertPEM(ca.cert))+`}`))
			a = get(c)
			assert.Equal(t, http.StatusMisdirectedRequest, a.status, a.body)
			assert.Equal(t, `Misdirected Request: service "news" reads the TLS client certificate (tls_validation), `+
				"which the handshake of this connection did not ask for: retry on a new connection\n", a.body)
			assert.Equal(t, int32(1), d.dials.Load(), "answered on the connection made before")
			assert.Equal(t, 1.0, policyEvents(tg.reg, "tls_validation", "misdirected"))

			a = get(c)
			assert.Equal(t, mtlsAppAnswer.status, a.status, "a new connection, whose handshake asks: %s", a.body)
			assert.Equal(t, int32(2), d.dials.Load(), "the 421 closed the connection")
			assert.Equal(t, int32(1), d.asked.Load())

			none := &countingDialer{}
			nc := none.client(certs, tc.h2)
			defer nc.CloseIdleConnections()
			a = get(nc)
			assert.Equal(t, answer{400, "text/plain; charset=utf-8", "No required TLS certificate was sent\n", nil}, strip(a),
				"asked and given none: tls_validation's answer")
			assert.Equal(t, int32(1), none.asked.Load())
		})
	}
}

// The 421 reaches a client that sends a body with its request, which the
// gateway does not read: Go's client writes all of it while it reads the
// answer, and a connection closed at once, with the body unread, is reset
// under its writes ("connection reset by peer" instead of the 421 it
// would retry on). RFC 9112 section 9.6: "servers typically close a
// connection in stages. First, the server performs a half-close ... The
// server then continues to read from the connection until it receives a
// corresponding close by the client"; the lean loop reads and discards
// the body, then closes. Bodies beyond what the socket buffers hold, on
// connections made before the revision that adds tls_validation: Go's
// client, and a raw one that writes all of its body before it reads.
func TestTLSClientCertificateMisdirectedWithABodyIsAnswered(t *testing.T) {
	certs := newTestCerts(t)
	ca := newMTLSCA(t, "ca", nil)
	plain := `[{"name":"apicast","version":"builtin","enabled":true}]`
	mtls := tlsValidationChain(`{"whitelist":` + mtlsPEMList(mtlsCertPEM(ca.cert)) + `}`)
	tg := startTLSChainGatewayWith(t, certs, plain, false)
	target := tg.base + "/?user_key=" + tg.key
	t.Run("go client", func(t *testing.T) {
		c := (&countingDialer{}).client(certs, false)
		defer c.CloseIdleConnections()
		for _, size := range []int{256 << 10, 8 << 20} {
			for range 3 {
				tg.setChain(t, plain)
				require.Equal(t, 200, doWith(t, c, http.MethodGet, target, nil).status)
				tg.setChain(t, mtls)
				a := doWith(t, c, http.MethodPost, target, bytes.NewReader(make([]byte, size)))
				assert.Equal(t, http.StatusMisdirectedRequest, a.status, "a body of %d bytes: %s", size, a.body)
			}
		}
	})
	t.Run("raw client", func(t *testing.T) {
		tg.setChain(t, plain)
		c, err := tls.Dial("tcp", tg.addr, &tls.Config{RootCAs: certs.pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
		tg.setChain(t, mtls)
		const size = 8 << 20
		head := "POST /?user_key=" + tg.key + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n"
		_, err = c.Write(append([]byte(head), make([]byte, size)...))
		require.NoError(t, err, "the gateway read the whole body, not reset the connection under it")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
		assert.True(t, resp.Close, "the connection is closed after the 421")
	})
}

// A session made by a handshake that did not ask is not resumed once the
// service reads the certificate: a resumed handshake sends no
// CertificateRequest and keeps the session's (no) certificate, so the
// client would never be asked. It gets a full handshake that asks; the
// sessions made then resume as usual. TLS 1.3 and 1.2.
func TestTLSClientCertificateSessionsResumeOnlyWhereMade(t *testing.T) {
	certs := newTestCerts(t)
	ca := newMTLSCA(t, "ca", nil)
	clientCert, _ := ca.client(t, "client", nil)
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			tg := startTLSChainGatewayWith(t, certs, `[{"name":"apicast","version":"builtin","enabled":true}]`, false)
			var asked atomic.Int32
			cfg := &tls.Config{RootCAs: certs.pool, ServerName: "localhost", MinVersion: version, MaxVersion: version,
				ClientSessionCache: tls.NewLRUClientSessionCache(8), NextProtos: []string{"http/1.1"},
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					asked.Add(1)
					return &clientCert, nil
				}}
			// connect runs a request on a new connection and reports whether it resumed a session.
			connect := func() (int, bool) {
				c, err := tls.Dial("tcp", tg.addr, cfg)
				require.NoError(t, err)
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = io.WriteString(c, "GET /?user_key="+tg.key+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
				require.NoError(t, err)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				require.NoError(t, err)
				_ = resp.Body.Close()
				return resp.StatusCode, c.ConnectionState().DidResume
			}
			status, _ := connect()
			require.Equal(t, 200, status)
			_, resumed := connect()
			require.True(t, resumed, "sessions resume while the service reads no certificate")
			require.Equal(t, int32(0), asked.Load())

			tg.setChain(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(mtlsCertPEM(ca.cert))+`}`))
			status, resumed = connect()
			assert.False(t, resumed, "the session made without asking is not resumed")
			assert.Equal(t, int32(1), asked.Load(), "a full handshake, which asks")
			assert.Equal(t, 200, status)
			status, resumed = connect()
			assert.True(t, resumed, "the session made by asking resumes, with its certificate")
			assert.Equal(t, 200, status, "the resumed session's certificate passes tls_validation")
		})
	}
}

// BenchmarkTLSHandshakeChoice is what the handshake's choice costs: the
// view's plan read, the configuration and the certificate chosen; beside
// it, the one configuration served before (the gateway's own certificate,
// always asking).
func BenchmarkTLSHandshakeChoice(b *testing.B) {
	certs := newTestCerts(b)
	certFile, keyFile, _ := certs.issue(b, pki.RoleServer, "gateway")
	f := newGatewayFixture(b, backendUserKey)
	cfg := Config{Listen: "127.0.0.1:0", Upstream: "http://127.0.0.1:1", TLS: TLS{CertFile: certFile, KeyFile: keyFile}}
	u, err := cfg.Check()
	require.NoError(b, err)
	g := New(cfg, u, "self", &countingLedger{}, prometheus.NewRegistry(), zerolog.Nop())
	_, err = g.Update(agentView(b, f.tx.Result(), f.svc.SystemName), f.placement(f.basic))
	require.NoError(b, err)
	hello := &tls.ClientHelloInfo{ServerName: "api.example.com", Conn: &handshakeConn{}}
	b.Run("per view", func(b *testing.B) {
		h := newHandshakes(&g.view, g.cfg.TLS.certs)
		b.ReportAllocs()
		for b.Loop() {
			c, err := h.configFor(hello)
			if err != nil {
				b.Fatal(err)
			}
			if servedCertificate(c, hello) == nil {
				b.Fatal("no certificate served")
			}
		}
	})
	b.Run("one configuration (before)", func(b *testing.B) {
		c := serverTLS(g.cfg.TLS.certs.GetCertificate, tls.RequestClientCert)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.GetCertificate(hello); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// servedCertificate is the certificate crypto/tls serves with c: its
// GetCertificate's, else its one certificate (configFor's configurations,
// bound to the certificate served, have no GetCertificate).
func servedCertificate(c *tls.Config, hello *tls.ClientHelloInfo) *tls.Certificate {
	if c.GetCertificate != nil {
		cert, _ := c.GetCertificate(hello)
		return cert
	}
	if len(c.Certificates) == 1 {
		return &c.Certificates[0]
	}
	return nil
}
