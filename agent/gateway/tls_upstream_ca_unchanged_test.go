package gateway

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// An --upstream-ca-file read again with the same CAs (rewritten as it
// was, touched, its mode or owner set again by a configuration tool)
// keeps the connections to https upstreams: only CAs that changed make
// the transports again, dropping their idle connections.
func TestGatewayUpstreamCAFileReadAgainUnchangedKeepsConnections(t *testing.T) {
	ca := newTestCerts(t)
	certFile, keyFile, _ := ca.issue(t, pki.RoleServer, "upstream")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "secure app")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Listener = tls.NewListener(up.Listener, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}})
	up.Start()
	t.Cleanup(up.Close)

	caFile := t.TempDir() + "/upstream-ca.pem"
	writeAtomic(t, caFile, ca.ca.CertPEM())
	f := newGatewayFixture(t, backendUserKey)
	g, gw, _ := startTestGateway(t, f, "https://"+up.Listener.Addr().String(), f.placement(f.premium), Config{TLS: TLS{UpstreamCAFile: caFile}})
	status := func() int { return call(t, "GET", gw+"/articles?user_key=premium-key", nil).status }
	require.Equal(t, 200, status())
	require.Equal(t, 200, status())
	require.Equal(t, int32(1), conns.Load(), "the connection to the upstream is kept alive")

	cas := g.cfg.TLS.trust.cas
	first := cas.Current()
	writeAtomic(t, caFile, ca.ca.CertPEM()) // the same CAs, another file
	require.Eventually(t, func() bool { return cas.Current() != first }, 15*time.Second, 50*time.Millisecond,
		"the file is read again")
	require.Equal(t, 200, status())
	assert.Equal(t, int32(1), conns.Load(), "the same CAs read again keep the connection")
}
