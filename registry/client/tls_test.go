package client_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// tlsHome is the registry's real agent API over TLS, with a certificate of
// a CA made in the test, counting the connections it accepts.
func tlsHome(t *testing.T, h *home) (url string, ca *pki.Authority, conns *atomic.Int64) {
	t.Helper()
	ca, err := pki.NewAuthority("test CA", time.Now())
	require.NoError(t, err)
	chain, key, err := ca.Issue(pki.Leaf{Role: pki.RoleServer, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	require.NoError(t, err)
	cert, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	conns = &atomic.Int64{}
	srv := httptest.NewUnstartedServer(h.reg.Handler(registry.Access{BootstrapToken: token, Admin: isAdmin}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, ca, conns
}

// A client pinned to home's CA registers, heartbeats and reads over one
// connection; the transport keeps it alive.
func TestPinnedClientReusesOneConnection(t *testing.T) {
	h := newHome(t)
	h.addService(t, "news")
	url, ca, conns := tlsHome(t, h)
	c, err := client.New(client.Config{Address: url, Token: token, Timeout: 5 * time.Second, TLS: client.TLS{CAPin: ca.Pin()}})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Register(ctx, "news-1", registration("news"))
	require.NoError(t, err)
	for range 10 {
		_, err := c.Heartbeat(ctx, "news-1", &registry.Heartbeat{Status: registry.StatusPassing})
		require.NoError(t, err)
	}
	_, _, err = c.Map(ctx, 0, 0, "")
	require.NoError(t, err)
	assert.Equal(t, int64(1), conns.Load())
}

// A CA file trusts home as the pin does; another CA's file does not.
func TestCAFileClient(t *testing.T) {
	h := newHome(t)
	h.addService(t, "news")
	url, ca, _ := tlsHome(t, h)
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(good, ca.CertPEM(), 0o600))
	other, err := pki.NewAuthority("other", time.Now())
	require.NoError(t, err)
	bad := filepath.Join(dir, "other.pem")
	require.NoError(t, os.WriteFile(bad, other.CertPEM(), 0o600))

	c, err := client.New(client.Config{Address: url, Token: token, TLS: client.TLS{CAFile: good}})
	require.NoError(t, err)
	_, err = c.Register(context.Background(), "news-1", registration("news"))
	require.NoError(t, err)

	c, err = client.New(client.Config{Address: url, Token: token, TLS: client.TLS{CAFile: bad}})
	require.NoError(t, err)
	_, err = c.Register(context.Background(), "news-1", registration("news"))
	require.ErrorIs(t, err, client.ErrUnreachable)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
}

// TLS settings that cannot work are refused when the client is made.
func TestTLSSettingsRefused(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	pin := pki.Pin{1}
	for name, tc := range map[string]struct {
		cfg  client.Config
		want string
	}{
		"TLS for plain HTTP":     {client.Config{Address: "http://home:7070", TLS: client.TLS{CAPin: pin}}, "for an https:// home"},
		"missing CA file":        {client.Config{Address: "https://home:7070", TLS: client.TLS{CAFile: filepath.Join(dir, "none.pem")}}, "none.pem"},
		"CA file without PEM":    {client.Config{Address: "https://home:7070", TLS: client.TLS{CAFile: notPEM}}, "no PEM block"},
		"certificate, no key":    {client.Config{Address: "https://home:7070", TLS: client.TLS{CAPin: pin, CertFile: notPEM}}, "--tls-client-key"},
		"unreadable certificate": {client.Config{Address: "https://home:7070", TLS: client.TLS{CAPin: pin, CertFile: notPEM, KeyFile: notPEM}}, "client certificate"},
		"TLS and Transport":      {client.Config{Address: "https://home:7070", TLS: client.TLS{CAPin: pin}, Transport: http.DefaultTransport}, "exclusive"},
	} {
		_, err := client.New(tc.cfg)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), tc.want, name)
		}
	}
}
