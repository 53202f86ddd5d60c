package coordinator_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
)

// clientCAHome is a coordinator serving HTTPS (its own CA) that requires
// client certificates of the CAs of --tls-client-ca, and clients of two
// CAs: the one of the file at start, and the one rotated in.
type clientCAHome struct {
	h              *tlsHome
	caFile         string
	oldCA, newCA   *pki.Authority
	oldCli, newCli *http.Client
}

func startClientCAHome(t *testing.T) *clientCAHome {
	t.Helper()
	certs := t.TempDir()
	r := &clientCAHome{
		oldCA:  newTestAuthority(t, filepath.Join(certs, "old-ca")),
		newCA:  newTestAuthority(t, filepath.Join(certs, "new-ca")),
		caFile: filepath.Join(certs, "client-ca.pem"),
	}
	writeAtomicFile(t, r.caFile, r.oldCA.CertPEM())
	dir := t.TempDir()
	r.h = startTLSHome(t, "127.0.0.1:0", dir, coordinator.Config{TLS: coordinator.TLSConfig{Mode: coordinator.TLSOn, ClientCAFile: r.caFile}})
	roots, err := pki.LoadCertPool(filepath.Join(dir, coordinator.TLSDir, pki.CACertFile))
	require.NoError(t, err)
	r.oldCli = resumingClient(t, roots, r.oldCA, certs, "old-agent")
	r.newCli = resumingClient(t, roots, r.newCA, certs, "new-agent")
	return r
}

// resumingClient is an HTTPS client presenting a certificate of ca, that
// opens a connection for each request and resumes its TLS sessions.
func resumingClient(t *testing.T, roots *x509.CertPool, ca *pki.Authority, dir, name string) *http.Client {
	t.Helper()
	certFile, keyFile := issueFiles(t, ca, pki.RoleClient, dir, name)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	cfg := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
}

// writeAtomicFile replaces path with data, as a secret update does (a
// rename over it).
func writeAtomicFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// get is whether c is served /metrics on a new connection, and whether
// its TLS session was resumed.
func get(c *http.Client, url string) (resumed bool, err error) {
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.TLS.DidResume, nil
}

// An operator rotating --tls-client-ca (the new CA added beside the old,
// then the old dropped) needs no restart: each change of the file holds
// for new handshakes, resumed sessions of a dropped CA's certificate
// included; a file that does not load keeps the last good CAs, and is
// logged naming it.
func TestClientCAFileIsReloadedWhenRotated(t *testing.T) {
	r := startClientCAHome(t)
	url := r.h.URL()
	_, err := get(r.oldCli, url)
	require.NoError(t, err, "a client of the CA of the file is served")
	resumed, err := get(r.oldCli, url)
	require.NoError(t, err)
	require.True(t, resumed, "the client resumes its session (what dropping its CA must end)")
	_, err = get(r.newCli, url)
	require.Error(t, err, "a client of a CA not in the file is refused")

	bundle := append(append([]byte{}, r.oldCA.CertPEM()...), r.newCA.CertPEM()...)
	writeAtomicFile(t, r.caFile, bundle)
	require.Eventually(t, func() bool { _, err := get(r.newCli, url); return err == nil }, reloadWait, 50*time.Millisecond,
		"the new CA, added to the file, is trusted: %s", r.h.logs)
	_, err = get(r.oldCli, url)
	assert.NoError(t, err, "the old CA is still trusted")
	assert.Equal(t, 1, r.h.logs.count("client CAs reloaded"), "%s", r.h.logs)

	writeAtomicFile(t, r.caFile, r.newCA.CertPEM())
	require.Eventually(t, func() bool { _, err := get(r.oldCli, url); return err != nil }, reloadWait, 50*time.Millisecond,
		"the old CA, dropped from the file, is refused, resumed sessions included: %s", r.h.logs)
	_, err = get(r.newCli, url)
	assert.NoError(t, err, "the new CA is still trusted")

	writeAtomicFile(t, r.caFile, []byte("not PEM"))
	require.Eventually(t, func() bool {
		_, err := get(r.newCli, url) // a handshake, to look at the file
		assert.NoError(t, err, "the last good CAs are kept")
		return r.h.logs.count("the client CAs file changed but does not load; still using the previous ones") == 1
	}, reloadWait, 50*time.Millisecond, "a file that does not load is logged: %s", r.h.logs)
	assert.Contains(t, r.h.logs.String(), r.caFile, "naming the file")
	assert.Contains(t, r.h.logs.String(), "--tls-client-ca", "and the flag")
	_, err = get(r.newCli, url)
	assert.NoError(t, err, "the last good CAs are kept")
	_, err = get(r.oldCli, url)
	assert.Error(t, err, "the last good CAs only")
}
