package certreload

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// A server whose GetConfigForClient takes the pair there (a look, on
// resumed handshakes too) and serves it by SessionConfigs resumes a
// session while the pair that made it is served, and not after a
// rotation: the client gets the new certificate, though it kept resuming.
func TestSessionConfigsResumeOnlyUnderTheCertificateServed(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, first := certs.issue(t, pki.RoleServer, "gateway")
	r, err := New(certFile, keyFile, testRole)
	require.NoError(t, err)
	keys := &tls.Config{}
	configs := NewSessionConfigs(&tls.Config{MinVersion: tls.VersionTLS12}, keys)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return configs.For(r.Current()), nil }})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = conn.Write([]byte("x")) // after the handshake, and its tickets
			}()
		}
	}()
	roots := x509.NewCertPool()
	roots.AddCert(certs.ca.Cert)
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	dial := func() (*x509.Certificate, bool) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), cfg)
		require.NoError(t, err)
		defer c.Close()
		_, _ = io.ReadAll(c) // takes the TLS 1.3 tickets in
		cs := c.ConnectionState()
		return cs.PeerCertificates[0], cs.DidResume
	}
	leaf, _ := dial()
	require.Equal(t, first.SerialNumber, leaf.SerialNumber)
	leaf, resumed := dial()
	require.True(t, resumed)
	require.Equal(t, first.SerialNumber, leaf.SerialNumber)

	_, _, second := certs.issue(t, pki.RoleServer, "gateway")
	r.checked.Store(0) // as if a second went by: a look is due
	leaf, resumed = dial()
	assert.False(t, resumed, "the session of the certificate no longer served")
	assert.Equal(t, second.SerialNumber, leaf.SerialNumber)
	leaf, resumed = dial()
	assert.True(t, resumed, "the session of the certificate served")
	assert.Equal(t, second.SerialNumber, leaf.SerialNumber)
}
