package gateway

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// An upstream CA rotated in --upstream-ca-file holds for the next
// handshakes without a restart, as the gateway's own certificate does: the
// new CA is trusted, and the one the file no longer holds is refused.
func TestGatewayUpstreamCAFileIsReloaded(t *testing.T) {
	oldCA, newCA := newTestCerts(t), newTestCerts(t)
	var served atomic.Pointer[tls.Certificate]
	pairOf := func(c *testCerts) *tls.Certificate {
		certFile, keyFile, _ := c.issue(t, pki.RoleServer, "upstream")
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		return &pair
	}
	oldPair, newPair := pairOf(oldCA), pairOf(newCA)
	served.Store(oldPair)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close") // a handshake per request
		_, _ = io.WriteString(w, "secure app")
	}))
	// Its own TLS listener: httptest's StartTLS would serve its own
	// certificate to a client that sends no server name (an IP address).
	up.Listener = tls.NewListener(up.Listener, &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return served.Load(), nil }})
	up.Start()
	t.Cleanup(up.Close)
	upURL := "https://" + up.Listener.Addr().String()

	caFile := t.TempDir() + "/upstream-ca.pem"
	writeAtomic(t, caFile, oldCA.ca.CertPEM())
	f := newGatewayFixture(t, backendUserKey)
	_, gw, _ := startTestGateway(t, f, upURL, f.placement(f.premium), Config{TLS: TLS{UpstreamCAFile: caFile}})
	status := func() int { return call(t, "GET", gw+"/articles?user_key=premium-key", nil).status }
	require.Equal(t, 200, status(), "the upstream of the CA of the file")

	served.Store(newPair)
	require.Equal(t, 502, status(), "an upstream of a CA the file does not hold")

	writeAtomic(t, caFile, newCA.ca.CertPEM())
	require.Eventually(t, func() bool { return status() == 200 }, 15*time.Second, 100*time.Millisecond,
		"the CA put in --upstream-ca-file is trusted without a restart")

	served.Store(oldPair)
	assert.Equal(t, 502, status(), "the CA taken out of --upstream-ca-file is refused")
}
