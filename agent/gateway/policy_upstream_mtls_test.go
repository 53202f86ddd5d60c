package gateway

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// tlsUpstream is an https app with a certificate of certs that, with
// mutual, requires a client certificate of certs' CA. It sends the serial
// of each client certificate it gets ("" for none) and counts its
// connections.
type tlsUpstream struct {
	srv     *httptest.Server
	serials chan string
	conns   atomic.Int32
}

func startTLSUpstream(t *testing.T, certs *testCerts, mutual bool, handler http.HandlerFunc) *tlsUpstream {
	t.Helper()
	pair := proxiedPair(t, certs) // reachable through a proxy as proxiedHost too
	u := &tlsUpstream{serials: make(chan string, 100)}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serial := ""
		if len(r.TLS.PeerCertificates) > 0 {
			serial = r.TLS.PeerCertificates[0].SerialNumber.String()
		}
		u.serials <- serial
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "secure app")
	}))
	u.srv.EnableHTTP2 = true
	u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if mutual {
		u.srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		u.srv.TLS.ClientCAs = certs.pool
	}
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

func mtlsChain(conf string) string { return proxyChain("upstream_mtls", conf) }

// dataURLOf is a file's contents as the admin portal embeds an upload.
func dataURLOf(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return "data:application/pkix-cert;name=" + name + ";base64," + base64.StdEncoding.EncodeToString(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The README's "Path configuration": "connection to the upstream API will
// use the certificates defined in this policy". The upstream requires a
// client certificate: with the policy it gets the policy's (verified
// against ca_certificates), and the connection is kept for the next
// requests; without the policy, the gateway has none to give: 502.
func TestUpstreamMTLSPresentsThePolicysCertificateFromPaths(t *testing.T) {
	certs := newTestCerts(t)
	up := startTLSUpstream(t, certs, true, nil)
	certFile, keyFile, leaf := certs.issue(t, pki.RoleClient, "policy-client")
	conf := `{"certificate_type":"path","certificate":` + jsonString(certFile) + `,"certificate_key_type":"path","certificate_key":` + jsonString(keyFile) +
		`,"ca_certificates":[` + jsonString(string(certs.ca.CertPEM())) + `]}`

	tg := startTransportGateway(t, mtlsChain(conf), up.srv.URL, Config{})
	for range 3 {
		a := call(t, "GET", tg.base+"/articles?user_key=premium-key", nil)
		require.Equal(t, 200, a.status, a.body)
		assert.Equal(t, "secure app", a.body)
		assert.Equal(t, leaf.SerialNumber.String(), within(t, up.serials), "the policy's client certificate")
	}
	assert.Equal(t, int32(1), up.conns.Load(), "one TLS connection, kept and reused")

	tg.setChain(t, plainChain)
	assert.Equal(t, 502, call(t, "GET", tg.base+"/articles?user_key=premium-key", nil).status, "without the policy: no certificate, no CA")
}

// The README's "Embedded configuration" ("When using http forms and file
// upload": data: URLs), and "This policy will overwrite
// APICAST_PROXY_HTTPS_CERTIFICATE_KEY and APICAST_PROXY_HTTPS_CERTIFICATE":
// the policy's certificate is presented instead of the agent's
// --upstream-client-cert, while --upstream-ca-file, which the policy does
// not override (no ca_certificates), still verifies the upstream. Requests
// of a chain without the policy present the agent's certificate again.
func TestUpstreamMTLSEmbeddedCertificateOverridesTheAgents(t *testing.T) {
	certs := newTestCerts(t)
	up := startTLSUpstream(t, certs, true, nil)
	agentCert, agentKey, agentLeaf := certs.issue(t, pki.RoleClient, "agent-client")
	policyCert, policyKey, policyLeaf := certs.issue(t, pki.RoleClient, "policy-client")
	conf := `{"certificate_type":"embedded","certificate":` + jsonString(dataURLOf(t, policyCert, "client.cer")) +
		`,"certificate_key_type":"embedded","certificate_key":` + jsonString(dataURLOf(t, policyKey, "client.key")) + `}`

	tg := startTransportGateway(t, mtlsChain(conf), up.srv.URL,
		Config{TLS: TLS{UpstreamCAFile: certs.caFile, UpstreamCertFile: agentCert, UpstreamKeyFile: agentKey}})
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	assert.Equal(t, policyLeaf.SerialNumber.String(), within(t, up.serials), "the policy's certificate, not the agent's")

	tg.setChain(t, plainChain)
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	assert.Equal(t, agentLeaf.SerialNumber.String(), within(t, up.serials), "without the policy, the agent's own")

	// A policy with CAs and no certificate keeps the agent's certificate.
	tg.setChain(t, mtlsChain(`{"certificate_type":"path","certificate_key_type":"path","ca_certificates":[`+jsonString(string(certs.ca.CertPEM()))+`]}`))
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	assert.Equal(t, agentLeaf.SerialNumber.String(), within(t, up.serials), "no certificate in the policy: the agent's")
}

// ca_certificates ("PEM formatted certificate") verify the upstream
// instead of --upstream-ca-file, pasted on one line too (APIcast's
// normalize_pem_cert gives a PEM its line breaks back).
func TestUpstreamMTLSCACertificatesReplaceTheAgentsCAs(t *testing.T) {
	agentCA, otherCA := newTestCerts(t), newTestCerts(t)
	up := startTLSUpstream(t, otherCA, false, nil)
	oneLine := strings.Join(strings.Fields(string(otherCA.ca.CertPEM())), " ") // as pasted in one line: spaces for line breaks

	tg := startTransportGateway(t, plainChain, up.srv.URL, Config{TLS: TLS{UpstreamCAFile: agentCA.caFile}})
	assert.Equal(t, 502, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status, "--upstream-ca-file does not know the upstream's CA")

	tg.setChain(t, mtlsChain(`{"certificate_type":"path","certificate_key_type":"path","ca_certificates":[`+jsonString(oneLine)+`]}`))
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	assert.Equal(t, 200, a.status, a.body)
	assert.Equal(t, "", within(t, up.serials))

	// The agent's CA no longer counts with the policy's.
	agentUp := startTLSUpstream(t, agentCA, false, nil)
	tg2 := startTransportGateway(t, mtlsChain(`{"certificate_type":"path","certificate_key_type":"path","ca_certificates":[`+jsonString(oneLine)+`]}`),
		agentUp.srv.URL, Config{TLS: TLS{UpstreamCAFile: agentCA.caFile}})
	assert.Equal(t, 502, call(t, "GET", tg2.base+"/?user_key=premium-key", nil).status, "ca_certificates replace --upstream-ca-file")
}

// verify is "Verify upstream connection". Portolan verifies unless verify
// is false (APIcast verifies only with true): an upstream whose CA nothing
// trusts is refused (502) without verify and with verify true, reached
// with verify false, which is logged when the chain is built, without the
// key.
func TestUpstreamMTLSVerifiesUnlessVerifyIsFalse(t *testing.T) {
	unknown := newTestCerts(t)
	up := startTLSUpstream(t, unknown, false, nil)
	for conf, want := range map[string]int{
		`{"certificate_type":"path","certificate_key_type":"path"}`:                 502,
		`{"certificate_type":"path","certificate_key_type":"path","verify":true}`:   502,
		`{"certificate_type":"path","certificate_key_type":"path","verify":false}`:  200,
		`{"certificate_type":"path","certificate_key_type":"path","verify":"true"}`: 503, // not a boolean: the chain fails closed
	} {
		tg := startTransportGateway(t, mtlsChain(conf), up.srv.URL, Config{})
		a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
		assert.Equal(t, want, a.status, "%s: %s", conf, a.body)
	}

	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleClient, "client")
	keyPEM, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	var logs bytes.Buffer
	env := &policy.Env{Log: zerolog.New(&logs), Metrics: policy.NewMetrics(prometheus.NewRegistry()), IdentityClient: &http.Client{}, ServiceSystemName: "news"}
	conf := `{"verify":false,"certificate_type":"embedded","certificate":` + jsonString(dataURLOf(t, certFile, "c.pem")) +
		`,"certificate_key_type":"embedded","certificate_key":` + jsonString(dataURLOf(t, keyFile, "k.pem")) + `}`
	_, err = policy.Build(policyChain(t, mtlsChain(conf)), nil, env)
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "verify is false")
	assert.Contains(t, logs.String(), `"service":"news"`)
	assert.NotContains(t, logs.String(), "PRIVATE KEY")
	assert.NotContains(t, logs.String(), base64.StdEncoding.EncodeToString(keyPEM)[:40])
}

// What APIcast logs and goes on without is refused when the chain is
// built, naming the field: the service fails closed rather than reach its
// upstream without the certificate it was given. No error repeats an
// embedded key.
func TestUpstreamMTLSConfigErrorsNameTheField(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleClient, "client")
	_, otherKey, _ := certs.issue(t, pki.RoleClient, "other")
	missing := filepath.Join(certs.dir, "missing.pem")
	keyData := dataURLOf(t, keyFile, "k.pem")
	notPEM := "data:text/plain;base64," + base64.StdEncoding.EncodeToString([]byte("hello"))
	path := func(cert, key string) string {
		return `{"certificate_type":"path","certificate":` + jsonString(cert) + `,"certificate_key_type":"path","certificate_key":` + jsonString(key) + `}`
	}
	for _, tc := range []struct{ conf, field, want string }{
		{`{"certificate_type":"path","certificate":` + jsonString(certFile) + `,"certificate_key_type":"path"}`, "certificate_key", "is required with certificate"},
		{`{"certificate_type":"path","certificate_key_type":"path","certificate_key":` + jsonString(keyFile) + `}`, "certificate", "is required with certificate_key"},
		{path(missing, keyFile), "certificate", "no such file"},
		{path(certFile, missing), "certificate_key", "no such file"},
		{path(keyFile, keyFile), "certificate", "holds no PEM certificate"},
		{path(certFile, otherKey), "certificate_key", "does not match"},
		{path(certFile, certFile), "certificate_key", "not a PEM private key"},
		{`{"certificate_type":"embedded","certificate":"/etc/client.pem","certificate_key_type":"embedded","certificate_key":` + jsonString(keyData) + `}`, "certificate", "data: URL"},
		{`{"certificate_type":"embedded","certificate":` + jsonString(notPEM) + `,"certificate_key_type":"embedded","certificate_key":` + jsonString(keyData) + `}`, "certificate", "holds no PEM certificate"},
		{`{"certificate_type":"embedded","certificate":"data:;base64,!!!","certificate_key_type":"embedded","certificate_key":` + jsonString(keyData) + `}`, "certificate", "base64"},
		{`{"certificate_type":"file","certificate_key_type":"path"}`, "certificate_type", "one of path, embedded"},
		{`{"certificate_type":"path","certificate_key_type":"disk"}`, "certificate_key_type", "one of path, embedded"},
		{`{"certificate_type":"path","certificate_key_type":"path","ca_certificates":["not a certificate"]}`, "ca_certificates[0]", "holds no PEM certificate"},
		{`{"certificate_type":"path","certificate_key_type":"path","ca_certificates":"pem"}`, "ca_certificates", "an array"},
	} {
		env := &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry()), IdentityClient: &http.Client{}} // an agent's: files are read
		_, err := policy.Build(policyChain(t, mtlsChain(tc.conf)), nil, env)
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, tc.conf) {
			assert.Equal(t, tc.field, fe.Field, tc.conf)
			assert.Contains(t, fe.Problem, tc.want, tc.conf)
			assert.NotContains(t, fe.Problem, "BEGIN PRIVATE KEY", tc.conf)
			assert.NotContains(t, fe.Problem, keyData[40:80], tc.conf)
		}
	}
}

// Home checks a saved chain without the agents' files: APIcast's admin
// portal saves any path, so a path home cannot read is not refused there,
// while what the configuration itself holds is checked (an embedded
// certificate that does not parse). On the agent, the missing file makes
// the service fail closed, the 503 naming the policy and the field.
func TestUpstreamMTLSPathsAreReadByTheAgentNotByHome(t *testing.T) {
	conf := `{"certificate_type":"path","certificate":"/secrets/client.cer","certificate_key_type":"path","certificate_key":"/secrets/client.key"}`
	assert.NoError(t, policy.Validate(policyChain(t, mtlsChain(conf))), "home cannot read the agents' files")
	bad := `{"certificate_type":"embedded","certificate":"data:;base64,aGVsbG8=","certificate_key_type":"path","certificate_key":"/secrets/client.key"}`
	err := policy.Validate(policyChain(t, mtlsChain(bad)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "configuration.certificate: holds no PEM certificate")

	certs := newTestCerts(t)
	up := startTLSUpstream(t, certs, true, nil)
	tg := startTransportGateway(t, mtlsChain(conf), up.srv.URL, Config{TLS: TLS{UpstreamCAFile: certs.caFile}})
	a := call(t, "GET", tg.base+"/?user_key=premium-key", nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Contains(t, a.body, `policy "upstream_mtls"`)
	assert.Contains(t, a.body, "configuration.certificate: cannot read /secrets/client.cer")
	assert.Equal(t, 1.0, policyEvents(tg.reg, "upstream_mtls", "fail_closed"))
	assert.Empty(t, up.serials, "nothing reaches the upstream")
}

// A plain http upstream is reached as without the policy (its lean
// forwarder): there is no TLS session to set up.
func TestUpstreamMTLSLeavesPlainHTTPUpstreamsAlone(t *testing.T) {
	up, got, conns := countingUpstream(t)
	tg := startTransportGateway(t, mtlsChain(`{"certificate_type":"path","certificate_key_type":"path","verify":true}`), up.URL, Config{})
	for range 3 {
		require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
		within(t, got)
	}
	assert.Equal(t, int32(1), conns.Load())
	assert.Zero(t, tg.g.transports.n, "no upstream made for the policy")
}

// The transport of an unchanged configuration outlives the chain: a new
// composition revision (here the same chain saved again) keeps the
// upstream's pooled connection.
func TestUpstreamMTLSConnectionsOutliveARevision(t *testing.T) {
	certs := newTestCerts(t)
	up := startTLSUpstream(t, certs, false, nil)
	chain := mtlsChain(`{"certificate_type":"path","certificate_key_type":"path","ca_certificates":[` + jsonString(string(certs.ca.CertPEM())) + `]}`)
	tg := startTransportGateway(t, chain, up.srv.URL, Config{})
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	tg.f.proxy(t, func(p *composition.Proxy) { p.ErrorAuthFailed = "Who are you?" }) // another revision, the same chain
	updated, err := tg.g.Update(agentView(t, tg.f.tx.Result(), tg.f.svc.SystemName), tg.f.placement(tg.f.basic, tg.f.premium))
	require.NoError(t, err)
	require.True(t, updated)
	require.Equal(t, 200, call(t, "GET", tg.base+"/?user_key=premium-key", nil).status)
	assert.Equal(t, int32(1), up.conns.Load(), "the same connection after the revision")
}

// The README: the certificates are read from files ("Using certificates
// Path, both for Openshift and Kubernetes secrets"). A path the
// composition names may be a FIFO (or a pipe behind /proc/self/fd): its
// open would wait for a writer that never comes, in the agent's update
// loop where chains are built. It is refused at once, naming the field.
func TestUpstreamMTLSRefusesAPathThatIsNotARegularFile(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleClient, "client")
	fifo := filepath.Join(t.TempDir(), "cert.pem")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	type pathCase struct{ cert, key, field string }
	cases := []pathCase{{fifo, keyFile, "certificate"}, {certFile, fifo, "certificate_key"}, {certs.dir, keyFile, "certificate"}}
	if runtime.GOOS == "linux" {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
		cases = append(cases, pathCase{fmt.Sprintf("/proc/self/fd/%d", r.Fd()), keyFile, "certificate"})
	}
	for _, tc := range cases {
		conf := `{"certificate_type":"path","certificate":` + jsonString(tc.cert) + `,"certificate_key_type":"path","certificate_key":` + jsonString(tc.key) + `}`
		chain, built := policyChain(t, mtlsChain(conf)), make(chan error, 1)
		go func() {
			_, err := policy.Build(chain, nil, &policy.Env{Metrics: policy.NewMetrics(prometheus.NewRegistry()), IdentityClient: &http.Client{}})
			built <- err
		}()
		err := within(t, built) // the chain is built at once, never held up
		var fe *policy.FieldError
		if assert.ErrorAs(t, err, &fe, conf) {
			assert.Equal(t, tc.field, fe.Field, conf)
			assert.Contains(t, fe.Problem, "is not a regular file", conf)
		}
	}
}
