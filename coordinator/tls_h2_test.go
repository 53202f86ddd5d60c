package coordinator_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// negotiated is the protocol the home at url chooses by ALPN for a client
// of base that offers h2 and http/1.1.
func negotiated(t *testing.T, base *tls.Config, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	cfg := base.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	cfg.ClientSessionCache = nil
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", u.Host, cfg)
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState().NegotiatedProtocol
}

// With HTTP/2 turned off the way net/http documents (GODEBUG
// http2server=0), a home requiring client certificates offers no h2 by
// ALPN, as net/http would not: a client that chose it would speak HTTP/2
// to a server that answers HTTP/1.1 only. Without it, h2 is offered.
func TestClientCAHomeOffersH2OnlyWhenNetHTTPServesIt(t *testing.T) {
	t.Run("http2server=0", func(t *testing.T) {
		t.Setenv("GODEBUG", "http2server=0")
		r := startClientCAHome(t)
		tr := r.oldCli.Transport.(*http.Transport)
		assert.Equal(t, "http/1.1", negotiated(t, tr.TLSClientConfig, r.h.URL()))
		h2 := tr.Clone()
		h2.ForceAttemptHTTP2 = true // offers h2, as most clients do
		_, err := get(&http.Client{Timeout: 10 * time.Second, Transport: h2}, r.h.URL())
		assert.NoError(t, err, "a client offering h2 is served, over HTTP/1.1")
	})
	t.Run("default", func(t *testing.T) {
		r := startClientCAHome(t)
		tr := r.oldCli.Transport.(*http.Transport)
		assert.Equal(t, "h2", negotiated(t, tr.TLSClientConfig, r.h.URL()))
	})
}
