package coordinator_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// A client that keeps resuming its TLS session sees a replaced
// --tls-cert all the same: a resumed handshake, which asks for no
// certificate, still looks at the files, and a session made under the
// certificate no longer served is not resumed (the client gets the new
// certificate, which a client of the old CA refuses), though no other
// client makes a full handshake.
func TestResumingClientsSeeAReplacedCertificate(t *testing.T) {
	r := startRotation(t)
	roots, err := pki.LoadCertPool(r.oldTrust.CAFile)
	require.NoError(t, err)
	c := resumingClientOf(roots)
	url := r.h.URL()
	_, err = get(c, url)
	require.NoError(t, err)
	resumed, err := get(c, url)
	require.NoError(t, err)
	require.True(t, resumed, "the client resumes its session")

	replace(t, r.keyFile, r.newKey)
	replace(t, r.certFile, r.newCert)
	require.Eventually(t, func() bool { _, err := get(c, url); return err != nil }, reloadWait, 50*time.Millisecond,
		"the session made under the replaced certificate is not resumed: %s", r.h.logs)
	assert.Equal(t, r.newCA.Pin(), r.h.CAPin(), "the new certificate is served")

	_, err = get(c, url) // a full handshake now
	assert.ErrorContains(t, err, "certificate signed by unknown authority")
	newRoots, err := pki.LoadCertPool(r.newTrust.CAFile)
	require.NoError(t, err)
	c = resumingClientOf(newRoots)
	_, err = get(c, url)
	require.NoError(t, err, "served the new certificate")
	resumed, err = get(c, url)
	require.NoError(t, err)
	assert.True(t, resumed, "sessions made under the certificate served resume")
}

// resumingClientOf is an HTTPS client trusting roots that opens a
// connection for each request and resumes its TLS sessions.
func resumingClientOf(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(4)}}}
}
