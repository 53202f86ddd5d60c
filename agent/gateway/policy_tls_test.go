package gateway

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// tlsChainGateway is a gateway whose service has a policy chain, serving
// TLS with its own certificate (own) unless plain, and logging to logs.
type tlsChainGateway struct {
	*chainGateway
	addr string // host:port
	own  string // the serial of the gateway's own certificate
	logs *syncBuffer
}

// startTLSChainGatewayWith runs the gateway, TLS with a certificate of
// certs' CA (plain: none), for chainJSON.
func startTLSChainGatewayWith(t *testing.T, certs *testCerts, chainJSON string, plain bool) *tlsChainGateway {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	up, got := echoUpstream(t, "app")
	cfg := Config{Listen: "127.0.0.1:0", Upstream: up.URL}
	tg := &tlsChainGateway{logs: &syncBuffer{}}
	if !plain {
		certFile, keyFile, leaf := certs.issue(t, pki.RoleServer, "gateway")
		cfg.TLS, tg.own = TLS{CertFile: certFile, KeyFile: keyFile}, leaf.SerialNumber.String()
	}
	u, err := cfg.Check()
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	// Info: the debug lines would take the room of the sampled log's burst.
	g := New(cfg, u, "self", &countingLedger{}, reg, zerolog.New(tg.logs).Level(zerolog.InfoLevel))
	_, err = g.Update(agentView(t, f.tx.Result(), f.svc.SystemName), f.placement(f.basic, f.premium))
	require.NoError(t, err)
	ln := runGateway(t, g, cfg.Listen)
	tg.addr = ln.Addr().String()
	scheme := "https://"
	if plain {
		scheme = "http://"
	}
	tg.chainGateway = &chainGateway{f: f, g: g, base: scheme + tg.addr, got: got, reg: reg, up: up.URL, basic: "basic-key", key: "premium-key"}
	return tg
}

// tlsPolicyChain is a chain of the tls policy with entries, then apicast.
func tlsPolicyChain(entries ...map[string]string) string {
	conf, _ := json.Marshal(map[string]any{"certificates": entries})
	return `[{"name":"tls","version":"builtin","enabled":true,"configuration":` + string(conf) + `},
		{"name":"apicast","version":"builtin","enabled":true}]`
}

func pathEntry(certFile, keyFile string) map[string]string {
	return map[string]string{"certificate_path": certFile, "certificate_key_path": keyFile}
}

func embeddedEntry(cert, key string) map[string]string {
	return map[string]string{"certificate": cert, "certificate_key": key}
}

// dataURL is b as the schema's "data-url" format, as 3scale's admin portal
// uploads a file (APIcast's README: "data:application/pkix-cert;name=one.crt;base64,…").
func dataURL(mime, name string, b []byte) string {
	return "data:" + mime + ";name=" + name + ";base64," + base64.StdEncoding.EncodeToString(b)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// handshakeWith runs a TLS handshake with addr, sending serverName as SNI
// ("": none, as a client that dialled an IP address), and returns the
// serial of the certificate served and whether the server asked for a
// client certificate: GetClientCertificate is called only on a
// CertificateRequest.
func handshakeWith(t *testing.T, addr, serverName string) (serial string, asked bool) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{
		ServerName: serverName,
		// The test reads the certificate served itself: it names localhost
		// whatever the SNI.
		InsecureSkipVerify: true, //nolint:gosec
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return &tls.Certificate{}, nil // offers none
		},
	})
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), asked
}

// The schema: "The first valid certificate is going to be served to the
// client." Entries that do not load are skipped, whatever the reason: a
// missing file, a device instead of a file, an embedded certificate with
// another's key (APIcast's apicast-policy-tls.t TEST 2 pairs a
// certificate with another's key, which fails APIcast's handshakes; here
// it is not valid, so skipped). The first that loads is served, to every
// client, with any SNI or none (the gateway serves one service), and the
// requests go through the chain.
func TestPolicyTLSServesTheFirstValidCertificate(t *testing.T) {
	certs := newTestCerts(t)
	aCert, aKey, a := certs.issue(t, pki.RoleServer, "a")
	bCert, bKey, _ := certs.issue(t, pki.RoleServer, "b")
	missing := filepath.Join(certs.dir, "missing.pem")
	tg := startTLSChainGatewayWith(t, certs, tlsPolicyChain(
		pathEntry(missing, aKey),
		pathEntry("/dev/null", "/dev/null"),
		embeddedEntry(readFile(t, aCert), readFile(t, bKey)),
		pathEntry(aCert, aKey),
		embeddedEntry(readFile(t, bCert), readFile(t, bKey)),
	), false)
	for _, sni := range []string{"localhost", "api.example.com", ""} {
		serial, _ := handshakeWith(t, tg.addr, sni)
		assert.Equal(t, a.SerialNumber.String(), serial, "SNI %q: the first valid entry (the fourth) is served", sni)
	}
	c := tlsClient(certs.pool, true)
	defer c.CloseIdleConnections()
	resp, body := getWith(t, c, tg.base+"/?user_key="+tg.key)
	assert.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, a.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber)
	assert.Equal(t, "app", body)
}

// Embedded certificates: the schema's "data-url" format, as APIcast
// parses them (its README: "certificate": "data:application/pkix-cert;
// name=one.crt;base64,…"), or plain PEM, as the schema's description
// says ("Certificate including the -----BEGIN CERTIFICATE----- and
// -----END CERTIFICATE-----").
func TestPolicyTLSEmbeddedCertificate(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, leaf := certs.issue(t, pki.RoleServer, "embedded")
	cert, key := readFile(t, certFile), readFile(t, keyFile)
	for name, entry := range map[string]map[string]string{
		"data URL":  embeddedEntry(dataURL("application/pkix-cert", "one.crt", []byte(cert)), dataURL("application/x-iwork-keynote-sffkey", "one.key", []byte(key))),
		"plain PEM": embeddedEntry(cert, key),
	} {
		t.Run(name, func(t *testing.T) {
			tg := startTLSChainGatewayWith(t, certs, tlsPolicyChain(entry), false)
			serial, _ := handshakeWith(t, tg.addr, "localhost")
			assert.Equal(t, leaf.SerialNumber.String(), serial)
		})
	}
}

// With no valid certificate, the gateway's own (--gateway-tls-cert) is
// served, as APIcast's ssl_certificate phase leaves its fallback
// certificate ("No valid certificates in place, continue."); an entry
// that does not load is logged as an error, naming the entry, never the
// embedded key.
func TestPolicyTLSFallsBackToTheGatewaysCertificate(t *testing.T) {
	certs := newTestCerts(t)
	aCert, _, _ := certs.issue(t, pki.RoleServer, "a")
	_, bKey, _ := certs.issue(t, pki.RoleServer, "b")
	key := readFile(t, bKey)
	for name, chain := range map[string]string{
		"no certificates": tlsPolicyChain(),
		"none valid":      tlsPolicyChain(embeddedEntry(readFile(t, aCert), key), pathEntry(filepath.Join(certs.dir, "missing.pem"), bKey)),
	} {
		t.Run(name, func(t *testing.T) {
			tg := startTLSChainGatewayWith(t, certs, chain, false)
			for _, sni := range []string{"localhost", ""} {
				serial, _ := handshakeWith(t, tg.addr, sni)
				assert.Equal(t, tg.own, serial, "SNI %q: the gateway's own certificate", sni)
			}
			resp, body := getWith(t, tlsClient(certs.pool, false), tg.base+"/?user_key="+tg.key)
			assert.Equal(t, 200, resp.StatusCode, "the service is served, not failed closed: %s", body)
			logs := tg.logs.String()
			if name == "none valid" {
				assert.Contains(t, logs, "certificates[0]")
				assert.Contains(t, logs, "private key does not match public key")
				assert.Contains(t, logs, "certificates[1].certificate_path")
				assert.Contains(t, logs, "skipped")
			}
			keyBody := strings.Split(strings.TrimSpace(key), "\n")[1]
			assert.NotContains(t, logs, keyBody, "no key material is logged")
		})
	}
}

// Certificates from paths are read again when their files change, as the
// gateway's own pair is: a rotated pair is served from the next handshake
// that looks (at most a second later), and a pair whose files were missing
// is served once they are written. The gateway's own is served until then.
func TestPolicyTLSReloadsRotatedFiles(t *testing.T) {
	certs := newTestCerts(t)
	aCert, aKey, first := certs.issue(t, pki.RoleServer, "a")
	lateCert, lateKey := filepath.Join(certs.dir, "late.pem"), filepath.Join(certs.dir, "late-key.pem")
	tg := startTLSChainGatewayWith(t, certs, tlsPolicyChain(pathEntry(lateCert, lateKey), pathEntry(aCert, aKey)), false)
	serial, _ := handshakeWith(t, tg.addr, "localhost")
	require.Equal(t, first.SerialNumber.String(), serial, "the first valid: the late pair is missing")

	_, _, second := certs.issue(t, pki.RoleServer, "a")
	require.Eventually(t, func() bool {
		serial, _ := handshakeWith(t, tg.addr, "localhost")
		return serial == second.SerialNumber.String()
	}, 5*time.Second, 100*time.Millisecond, "the rotated pair is served")

	_, _, late := certs.issue(t, pki.RoleServer, "late")
	require.Eventually(t, func() bool {
		serial, _ := handshakeWith(t, tg.addr, "localhost")
		return serial == late.SerialNumber.String()
	}, 5*time.Second, 100*time.Millisecond, "the pair written later is served, being first")
	assert.Contains(t, tg.logs.String(), "tls policy certificate certificates[0] of service news loaded")
}

// APIcast's README: "For this policy APICAST_HTTPS_PORT variable need to
// be defined to be able to listen in TLS in any port." A gateway without
// TLS serves the service in plain HTTP, the policy accepted (not failed
// closed) and unused, with a warning naming the flags.
func TestPolicyTLSWithoutTLSIsUnused(t *testing.T) {
	certs := newTestCerts(t)
	aCert, aKey, _ := certs.issue(t, pki.RoleServer, "a")
	tg := startTLSChainGatewayWith(t, certs, tlsPolicyChain(pathEntry(aCert, aKey)), true)
	a := call(t, "GET", tg.base+"/?user_key="+tg.key, nil)
	assert.Equal(t, 200, a.status, a.body)
	assert.Contains(t, tg.logs.String(), "the tls policy's certificates are not served: the gateway serves plain HTTP")
	assert.Contains(t, tg.logs.String(), "--gateway-tls-cert")
}

// An entry that could never be served is a configuration error naming it
// (the schema requires either pair whole), checked at home as on the
// agent; files are not read at home.
func TestPolicyTLSConfigurationErrors(t *testing.T) {
	for conf, field := range map[string]string{
		`{"certificates":[{"certificate_path":"/a.pem"}]}`:                                    "certificates[0].certificate_key_path",
		`{"certificates":[{"certificate_key_path":"/a-key.pem"}]}`:                            "certificates[0].certificate_path",
		`{"certificates":[{"certificate":"PEM"}]}`:                                            "certificates[0].certificate_key",
		`{"certificates":[{"certificate_path":"/a.pem","certificate_key_path":"/k.pem"},{}]}`: "certificates[1]",
		`{"certificates":[{"certificate_path":"a.pem","certificate_key_path":"/k.pem"}]}`:     "certificates[0].certificate_path",
		`{"certificates":{"certificate":"PEM"}}`:                                              "certificates",
	} {
		err := policy.Validate([]composition.PolicyConfig{{Name: "tls", Version: "builtin", Enabled: true, Configuration: json.RawMessage(conf)}})
		require.Error(t, err, conf)
		assert.Contains(t, err.Error(), "configuration."+field+":", conf)
	}
	ok := `{"certificates":[{"certificate_path":"/nowhere/a.pem","certificate_key_path":"/nowhere/a-key.pem"},{"certificate":"not PEM","certificate_key":"not PEM"}]}`
	assert.NoError(t, policy.Validate([]composition.PolicyConfig{{Name: "tls", Version: "builtin", Enabled: true, Configuration: json.RawMessage(ok)}}),
		"certificates that do not load are skipped where the gateway serves them, never refused")
}
