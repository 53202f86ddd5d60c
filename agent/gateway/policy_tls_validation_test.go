package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
)

// mtlsCA is a certificate authority a test makes: a self-signed root, or
// an intermediate under another.
type mtlsCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// mtlsSerial is a random serial number, as CAs make them.
func mtlsSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	require.NoError(t, err)
	return n
}

func newMTLSKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return key
}

// signMTLSCert signs tmpl for key with parent (self-signed when parent is nil).
func signMTLSCert(t *testing.T, tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *mtlsCA) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = mtlsSerial(t)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

// newMTLSCA makes a root CA (parent nil) or an intermediate under parent.
func newMTLSCA(t *testing.T, name string, parent *mtlsCA) *mtlsCA {
	t.Helper()
	key := newMTLSKey(t)
	cert := signMTLSCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, key, parent)
	return &mtlsCA{cert: cert, key: key}
}

// client issues a client certificate (with parent nil, self-signed); the
// TLS pair presents the leaf, then extra (intermediates the client sends).
func (ca *mtlsCA) client(t *testing.T, name string, tmpl *x509.Certificate, extra ...*x509.Certificate) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	if tmpl == nil {
		tmpl = &x509.Certificate{}
	}
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	key := newMTLSKey(t)
	leaf := signMTLSCert(t, tmpl, key, ca)
	pair := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, c := range extra {
		pair.Certificate = append(pair.Certificate, c.Raw)
	}
	return pair, leaf
}

// mtlsSelfSigned is a client certificate signed by its own key.
func mtlsSelfSigned(t *testing.T, name string) (tls.Certificate, *x509.Certificate) {
	var none *mtlsCA
	return none.client(t, name, nil)
}

// crl is ca's revocation list of serials, current unless the times say.
func (ca *mtlsCA) crl(t *testing.T, thisUpdate, nextUpdate time.Time, revoked ...*x509.Certificate) string {
	t.Helper()
	tmpl := &x509.RevocationList{Number: mtlsSerial(t), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

func mtlsCertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// mtlsPEMList is a whitelist or revoke_list: {"pem_certificate": ...} entries.
func mtlsPEMList(pems ...string) string {
	var entries []map[string]string
	for _, p := range pems {
		entries = append(entries, map[string]string{"pem_certificate": p})
	}
	b, _ := json.Marshal(entries)
	return string(b)
}

func tlsValidationChain(conf string) string {
	return `[{"name":"tls_validation","version":"builtin","enabled":true,"configuration":` + conf + `},
		{"name":"apicast","version":"builtin","enabled":true}]`
}

// startTLSChainGateway is startChainGateway serving TLS with a certificate
// of the test's server CA (certs).
func startTLSChainGateway(t *testing.T, chainJSON string) (*chainGateway, *testCerts) {
	t.Helper()
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "gateway")
	f := newGatewayFixture(t, backendUserKey)
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chainJSON) })
	up, got := echoUpstream(t, "app")
	g, base, reg := startTestGateway(t, f, up.URL, f.placement(f.basic, f.premium), Config{TLS: TLS{CertFile: certFile, KeyFile: keyFile}})
	cg := &chainGateway{f: f, g: g, base: "https://" + strings.TrimPrefix(base, "http://"), got: got, reg: reg, up: up.URL,
		basic: "basic-key", key: "premium-key"}
	return cg, certs
}

// mtlsClient trusts the server CA and presents cert when it is not nil;
// h2 offers HTTP/2 by ALPN, else HTTP/1.1 only.
func mtlsClient(pool *x509.CertPool, cert *tls.Certificate, h2 bool) *http.Client {
	c := tlsClient(pool, h2)
	if cert != nil {
		c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// callMTLS is call through client c, whose connections it then closes.
func callMTLS(t *testing.T, c *http.Client, target string, header http.Header) answer {
	t.Helper()
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), b.String(), nil}
}

// mtlsAppAnswer is the upstream's answer, forwarded.
var mtlsAppAnswer = answer{200, "text/plain; charset=utf-8", "app", nil}

// mtlsProtocols are the two ways a TLS client is served: HTTP/2 (by ALPN) and
// HTTP/1.1 (the lean loop).
var mtlsProtocols = []struct {
	name string
	h2   bool
}{{"h2", true}, {"http/1.1", false}}

// The README: "Whitelist expects PEM formatted CA or Client certificates"
// and "you can add to the whitelist just leaf client certificates without
// the whole bundle with a CA certificate". As APIcast's
// apicast-policy-tls_validation.t: a whitelisted certificate (TEST 1) or
// one issued by a whitelisted CA (TEST 2) passes; one the whitelist does
// not cover gets 400 "TLS certificate validation failed" (TEST 3), and no
// certificate 400 "No required TLS certificate was sent" (TEST 4). Over
// HTTP/2 and HTTP/1.1 alike.
func TestPolicyTLSValidationWhitelist(t *testing.T) {
	root := newMTLSCA(t, "root", nil)
	inter := newMTLSCA(t, "intermediate", root)
	byInter, _ := inter.client(t, "by-intermediate", nil)
	listed, listedLeaf := newMTLSCA(t, "other", nil).client(t, "listed", nil)
	stranger, _ := newMTLSCA(t, "stranger", nil).client(t, "stranger", nil)
	cg, certs := startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(mtlsCertPEM(inter.cert), mtlsCertPEM(listedLeaf))+`}`))
	target := cg.base + "/?user_key=" + cg.key
	for _, p := range mtlsProtocols {
		t.Run(p.name, func(t *testing.T) {
			a := callMTLS(t, mtlsClient(certs.pool, &byInter, p.h2), target, nil)
			assert.Equal(t, mtlsAppAnswer, a, "issued by a whitelisted intermediate CA")
			a = callMTLS(t, mtlsClient(certs.pool, &listed, p.h2), target, nil)
			assert.Equal(t, mtlsAppAnswer, a, "whitelisted itself")
			a = callMTLS(t, mtlsClient(certs.pool, &stranger, p.h2), target, nil)
			assert.Equal(t, answer{400, "text/plain; charset=utf-8", "TLS certificate validation failed\n", nil}, a)
			a = callMTLS(t, mtlsClient(certs.pool, nil, p.h2), target, nil)
			assert.Equal(t, answer{400, "text/plain; charset=utf-8", "No required TLS certificate was sent\n", nil}, a)
		})
	}
	assert.Equal(t, 4.0, policyEvents(cg.reg, "tls_validation", "denied"))
	assert.Len(t, cg.got, 4, "refused requests do not reach the upstream")
}

// Without TLS there is no client certificate: APIcast's
// ngx.var.ssl_client_raw_cert is empty, and the request is refused with
// "No required TLS certificate was sent".
func TestPolicyTLSValidationPlainHTTPIsRefused(t *testing.T) {
	root := newMTLSCA(t, "root", nil)
	cg := startChainGateway(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(mtlsCertPEM(root.cert))+`}`))
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, answer{400, "text/plain; charset=utf-8", "No required TLS certificate was sent\n", nil}, strip(a))
	assert.Empty(t, cg.got)
}

// allow_partial_chain: "Allow certificate verification with only an
// intermediate certificate", default true; the README's "Use full
// certificate chain to verify client certificate" sets it to false. Then a
// whitelisted leaf alone is refused (APIcast's TEST 9: "unable to get local
// issuer certificate"), as is a whitelisted intermediate without its root;
// the root and intermediate together pass, and so does a whitelisted
// self-signed client certificate. In both modes the chain is built from the
// whitelist only: intermediates the client sends do not count (APIcast
// verifies the leaf with no untrusted chain).
func TestPolicyTLSValidationAllowPartialChain(t *testing.T) {
	root := newMTLSCA(t, "root", nil)
	inter := newMTLSCA(t, "intermediate", root)
	byInter, leaf := inter.client(t, "by-intermediate", nil)
	bundled, _ := inter.client(t, "bundled", nil, inter.cert)
	selfSigned, selfLeaf := mtlsSelfSigned(t, "self")
	for _, tc := range []struct {
		name   string
		conf   string
		client tls.Certificate
		wantOK bool
	}{
		{"partial: leaf whitelisted", `{"whitelist":` + mtlsPEMList(mtlsCertPEM(leaf)) + `}`, byInter, true},
		{"full: leaf whitelisted", `{"allow_partial_chain":false,"whitelist":` + mtlsPEMList(mtlsCertPEM(leaf)) + `}`, byInter, false},
		{"full: intermediate without its root", `{"allow_partial_chain":false,"whitelist":` + mtlsPEMList(mtlsCertPEM(inter.cert)) + `}`, byInter, false},
		{"full: root and intermediate", `{"allow_partial_chain":false,"whitelist":` + mtlsPEMList(mtlsCertPEM(root.cert), mtlsCertPEM(inter.cert)) + `}`, byInter, true},
		{"full: self-signed whitelisted", `{"allow_partial_chain":false,"whitelist":` + mtlsPEMList(mtlsCertPEM(selfLeaf)) + `}`, selfSigned, true},
		{"full: root only, client sends the intermediate", `{"allow_partial_chain":false,"whitelist":` + mtlsPEMList(mtlsCertPEM(root.cert)) + `}`, bundled, false},
		{"partial: root only, client sends the intermediate", `{"whitelist":` + mtlsPEMList(mtlsCertPEM(root.cert)) + `}`, bundled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cg, certs := startTLSChainGateway(t, tlsValidationChain(tc.conf))
			a := callMTLS(t, mtlsClient(certs.pool, &tc.client, false), cg.base+"/?user_key="+cg.key, nil)
			if tc.wantOK {
				assert.Equal(t, mtlsAppAnswer, a)
			} else {
				assert.Equal(t, answer{400, "text/plain; charset=utf-8", "TLS certificate validation failed\n", nil}, a)
			}
		})
	}
}

// A whitelisted certificate past its validity, or issued by a whitelisted
// CA and past its validity, is refused, as OpenSSL's verification is.
func TestPolicyTLSValidationExpiredCertificate(t *testing.T) {
	root := newMTLSCA(t, "root", nil)
	past := &x509.Certificate{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	expired, expiredLeaf := root.client(t, "expired", past)
	cg, certs := startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(mtlsCertPEM(root.cert), mtlsCertPEM(expiredLeaf))+`}`))
	a := callMTLS(t, mtlsClient(certs.pool, &expired, true), cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "TLS certificate validation failed\n", a.body)
}

// The README's CRL example: revocation_check_type "crl" with a revoke_list
// of "-----BEGIN X509 CRL-----" entries. As APIcast's TEST 10 and 11, a
// client of the whitelisted CA that its CRL does not list passes and one
// it lists is refused; as APIcast's check_revocation ("An error occurs if
// a suitable CRL cannot be found"), a client whose issuer has no CRL, or
// only an expired one, is refused. Without "crl", the revoke_list is not
// read, as in APIcast.
func TestPolicyTLSValidationCRL(t *testing.T) {
	ca := newMTLSCA(t, "ca", nil)
	other := newMTLSCA(t, "other", nil)
	good, _ := ca.client(t, "good", nil)
	revoked, revokedLeaf := ca.client(t, "revoked", nil)
	noCRL, _ := other.client(t, "no-crl", nil)
	now := time.Now()
	current := ca.crl(t, now.Add(-time.Hour), now.Add(time.Hour), revokedLeaf)
	whitelist := mtlsPEMList(mtlsCertPEM(ca.cert), mtlsCertPEM(other.cert))

	cg, certs := startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+whitelist+`,"revocation_check_type":"crl","revoke_list":`+mtlsPEMList(current)+`}`))
	target := cg.base + "/?user_key=" + cg.key
	assert.Equal(t, 200, callMTLS(t, mtlsClient(certs.pool, &good, true), target, nil).status)
	refused := callMTLS(t, mtlsClient(certs.pool, &revoked, true), target, nil)
	assert.Equal(t, answer{400, "text/plain; charset=utf-8", "TLS certificate validation failed\n", nil}, refused)
	assert.Equal(t, 400, callMTLS(t, mtlsClient(certs.pool, &noCRL, false), target, nil).status, "no CRL of its issuer")

	expired := ca.crl(t, now.Add(-2*time.Hour), now.Add(-time.Hour))
	cg, certs = startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+whitelist+`,"revocation_check_type":"crl","revoke_list":`+mtlsPEMList(expired)+`}`))
	assert.Equal(t, 400, callMTLS(t, mtlsClient(certs.pool, &good, false), cg.base+"/?user_key="+cg.key, nil).status, "the CRL expired")

	cg, certs = startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+whitelist+`,"revoke_list":`+mtlsPEMList(current)+`}`))
	assert.Equal(t, 200, callMTLS(t, mtlsClient(certs.pool, &revoked, false), cg.base+"/?user_key="+cg.key, nil).status,
		"revocation_check_type defaults to none")
}

// The README's examples write each entry on one line, the base64 between
// "-----BEGIN CERTIFICATE-----" and "-----END CERTIFICATE-----" separated
// by spaces, as the admin portal's text field may hold them: APIcast's
// normalize_pem_cert puts the line breaks back, and so does the gateway.
func TestPolicyTLSValidationPEMOnOneLine(t *testing.T) {
	ca := newMTLSCA(t, "ca", nil)
	client, _ := ca.client(t, "client", nil)
	oneLine := strings.ReplaceAll(strings.TrimSpace(mtlsCertPEM(ca.cert)), "\n", " ")
	cg, certs := startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(oneLine)+`}`))
	assert.Equal(t, 200, callMTLS(t, mtlsClient(certs.pool, &client, true), cg.base+"/?user_key="+cg.key, nil).status)
}

// error_status: APIcast's Lua answers with config.error_status (400 when
// absent), though the schema does not list it.
func TestPolicyTLSValidationErrorStatus(t *testing.T) {
	ca := newMTLSCA(t, "ca", nil)
	cg, certs := startTLSChainGateway(t, tlsValidationChain(`{"error_status":403,"whitelist":`+mtlsPEMList(mtlsCertPEM(ca.cert))+`}`))
	a := callMTLS(t, mtlsClient(certs.pool, nil, true), cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, answer{403, "text/plain; charset=utf-8", "No required TLS certificate was sent\n", nil}, a)
}

// curl (OpenSSL) presenting a whitelisted CA's client certificate with
// --cert and --key passes over HTTP/2 and HTTP/1.1; without one it gets
// "No required TLS certificate was sent".
func TestPolicyTLSValidationCurl(t *testing.T) {
	ca := newMTLSCA(t, "ca", nil)
	pair, leaf := ca.client(t, "curl", nil)
	keyDER, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	require.NoError(t, os.WriteFile(certFile, []byte(mtlsCertPEM(leaf)), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	cg, certs := startTLSChainGateway(t, tlsValidationChain(`{"whitelist":`+mtlsPEMList(mtlsCertPEM(ca.cert))+`}`))
	target := cg.base + "/?user_key=" + cg.key
	assert.Equal(t, "app\n2 200", runCurl(t, "--http2", "--cacert", certs.caFile, "--cert", certFile, "--key", keyFile, target))
	assert.Equal(t, "app\n1.1 200", runCurl(t, "--http1.1", "--cacert", certs.caFile, "--cert", certFile, "--key", keyFile, target))
	assert.Equal(t, "No required TLS certificate was sent\n\n2 400", runCurl(t, "--http2", "--cacert", certs.caFile, target))
}

// The gateway asks every TLS client for a certificate but verifies none in
// the handshake: on a service without tls_validation, clients with and
// without one are served alike, over HTTP/2 and HTTP/1.1.
func TestPolicyTLSValidationCertificateAskedNotRequired(t *testing.T) {
	cg, certs := startTLSChainGateway(t, `[{"name":"apicast","version":"builtin","enabled":true}]`)
	unknown, _ := newMTLSCA(t, "nobody's", nil).client(t, "client", nil)
	for _, p := range mtlsProtocols {
		for _, cert := range []*tls.Certificate{nil, &unknown} {
			a := callMTLS(t, mtlsClient(certs.pool, cert, p.h2), cg.base+"/?user_key="+cg.key, nil)
			assert.Equal(t, mtlsAppAnswer, a, "%s, with a certificate: %v", p.name, cert != nil)
		}
	}
}

// The schema's types and enums, and what the gateway refuses: an entry
// that is not a PEM certificate (CRL), "ocsp" (see the policy's doc), an
// error_status that is not a final HTTP status. Each fails the service
// closed, naming the field.
func TestPolicyTLSValidationInvalidConfigurationFailsClosed(t *testing.T) {
	ca := newMTLSCA(t, "ca", nil)
	stranger := newMTLSCA(t, "stranger", nil)
	crl := stranger.crl(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	caList := mtlsPEMList(mtlsCertPEM(ca.cert))
	for conf, field := range map[string]string{
		`{"whitelist":[{"pem_certificate":"not a certificate"}]}`: "whitelist[0].pem_certificate",
		`{"whitelist":[{}]}`: "whitelist[0].pem_certificate",
		`{"whitelist":` + mtlsPEMList(mtlsCertPEM(ca.cert), crl) + `}`:                                      "whitelist[1].pem_certificate",
		`{"allow_partial_chain":"yes"}`:                                                                     "allow_partial_chain",
		`{"revocation_check_type":"sometimes"}`:                                                             "revocation_check_type",
		`{"revocation_check_type":"ocsp","whitelist":` + caList + `}`:                                       "revocation_check_type",
		`{"revocation_check_type":"crl","whitelist":` + caList + `,"revoke_list":` + caList + `}`:           "revoke_list[0].pem_certificate",
		`{"revocation_check_type":"crl","whitelist":` + caList + `,"revoke_list":` + mtlsPEMList(crl) + `}`: "revoke_list[0].pem_certificate",
		`{"error_status":42}`: "error_status",
	} {
		cg := startChainGateway(t, tlsValidationChain(conf))
		a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, conf)
		assert.Contains(t, a.body, "configuration."+field+":", conf)
	}
}
