package gateway

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// A client that keeps resuming its TLS session gets a rotated
// --gateway-tls-cert all the same: a resumed handshake, which asks for no
// certificate, still looks at the files, and a session made under the
// certificate no longer served is not resumed (a full handshake presents
// the new one), though no other client makes a full handshake. Sessions
// made under the certificate served resume as before.
func TestGatewayTLSResumingClientsGetARotatedCertificate(t *testing.T) {
	certs := newTestCerts(t)
	up, _ := echoUpstream(t, "app")
	certFile, keyFile, first := certs.issue(t, pki.RoleServer, "gateway")
	_, gw := startTLSGateway(t, certs, up.URL, TLS{CertFile: certFile, KeyFile: keyFile})
	addr := strings.TrimPrefix(gw, "https://")
	cfg := &tls.Config{RootCAs: certs.pool, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	// handshake is the serial of the certificate of a new connection's
	// session, and whether it was resumed.
	handshake := func() (serial string, resumed bool) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
		require.NoError(t, err)
		defer c.Close()
		// TLS 1.3 tickets come after the handshake: a read takes them in
		// (a request refused without a key: the app is not called).
		_, _ = io.WriteString(c, "GET /articles HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		_, _ = io.Copy(io.Discard, c)
		cs := c.ConnectionState()
		return cs.PeerCertificates[0].SerialNumber.String(), cs.DidResume
	}
	serial, _ := handshake()
	require.Equal(t, first.SerialNumber.String(), serial)
	serial, resumed := handshake()
	require.True(t, resumed, "the client resumes its session")
	require.Equal(t, first.SerialNumber.String(), serial)

	_, _, second := certs.issue(t, pki.RoleServer, "gateway")
	require.Eventually(t, func() bool { s, _ := handshake(); return s == second.SerialNumber.String() },
		15*time.Second, 100*time.Millisecond, "the rotated certificate reaches a client that kept resuming")
	serial, resumed = handshake()
	assert.True(t, resumed, "sessions made under the certificate served resume")
	assert.Equal(t, second.SerialNumber.String(), serial)
}
