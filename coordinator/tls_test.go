package coordinator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/client"
)

// everyInterface listens on every interface: not loopback, so --tls auto
// serves HTTPS there, and the test still reaches it on 127.0.0.1.
const everyInterface = "0.0.0.0:0"

// With --tls auto (the default) off loopback, home serves HTTPS with a CA
// it made in its data dir (files 0600 in a 0700 directory), logs the pin,
// and a client pinned to that CA registers and heartbeats. A restart keeps
// the CA, so pins already handed out stay good.
func TestAutoTLSOffLoopbackServesHTTPSWithItsOwnCA(t *testing.T) {
	dir := t.TempDir()
	h := startTLSHome(t, everyInterface, dir, coordinator.Config{})
	require.True(t, strings.HasPrefix(h.URL(), "https://127.0.0.1:"), h.URL())
	pin := h.CAPin()
	require.False(t, pin.IsZero())

	tlsDir := filepath.Join(dir, coordinator.TLSDir)
	assert.Equal(t, os.FileMode(0o700), mode(t, tlsDir))
	for _, f := range []string{pki.CACertFile, pki.CAKeyFile, pki.ServerCertFile, pki.ServerKeyFile} {
		assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(tlsDir, f)), f)
	}
	ca, err := pki.LoadAuthority(filepath.Join(tlsDir, pki.CACertFile), filepath.Join(tlsDir, pki.CAKeyFile))
	require.NoError(t, err)
	assert.Equal(t, ca.Pin(), pin, "CAPin is the pin of the CA in the data dir")
	require.Eventually(t, func() bool { return h.logs.count(pin.String()) > 0 }, 5*time.Second, 10*time.Millisecond,
		"the pin is logged at start: %s", h.logs)

	registerAndBeat(t, homeClient(t, h.URL(), client.TLS{CAPin: pin}), "news-1", 3)
	// --ca-file checks the host name too: 127.0.0.1 is certified.
	registerAndBeat(t, homeClient(t, h.URL(), client.TLS{CAFile: filepath.Join(tlsDir, pki.CACertFile)}), "news-2", 1)

	h.stop()
	again := startTLSHome(t, everyInterface, dir, coordinator.Config{})
	assert.Equal(t, pin, again.CAPin(), "the CA survives a restart")
	registerAndBeat(t, homeClient(t, again.URL(), client.TLS{CAPin: pin}), "news-3", 1)
}

// On loopback --tls auto keeps plain HTTP and makes no CA.
func TestAutoTLSOnLoopbackStaysPlainHTTP(t *testing.T) {
	dir := t.TempDir()
	h := startTLSHome(t, "127.0.0.1:0", dir, coordinator.Config{})
	assert.Equal(t, "http://"+h.Addr(), h.URL())
	assert.True(t, h.CAPin().IsZero())
	assert.NoDirExists(t, filepath.Join(dir, coordinator.TLSDir))
	registerAndBeat(t, homeClient(t, h.URL(), client.TLS{}), "news-1", 1)
}

// A man in the middle presents another CA's chain: a client pinned to the
// real CA refuses it, saying which pin it wanted and which it got.
func TestClientPinnedToAnotherCAIsRefused(t *testing.T) {
	h := startTLSHome(t, "127.0.0.1:0", t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{Mode: coordinator.TLSOn}})
	other := newTestAuthority(t, t.TempDir())
	c := homeClient(t, h.URL(), client.TLS{CAPin: other.Pin()})
	_, err := c.Register(context.Background(), "news-1", nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, pki.ErrPinMismatch)
	assert.ErrorIs(t, err, client.ErrUnreachable)
	assert.Contains(t, err.Error(), other.Pin().String(), "the error names the pin expected")
	assert.Contains(t, err.Error(), h.CAPin().String(), "and the one home presented")

	// A client trusting only the system's roots refuses home's own CA too.
	_, err = homeClient(t, h.URL(), client.TLS{}).Register(context.Background(), "news-1", nil)
	var unknown x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &unknown)
}

// A plain-HTTP client on the TLS port gets Go's 400, never an answer of
// the API; home's client turns it into advice.
func TestPlainHTTPToTheTLSPortIsRefused(t *testing.T) {
	h := startTLSHome(t, everyInterface, t.TempDir(), coordinator.Config{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL(), "https://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /v1/map HTTP/1.1\r\nHost: home\r\nAuthorization: Bearer "+tlsAgentToken+"\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	answer, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(answer), "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server."), "%q", answer)

	plain := "http://" + strings.TrimPrefix(h.URL(), "https://")
	_, err = homeClient(t, plain, client.TLS{}).Register(context.Background(), "news-1", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "serves HTTPS: use https://")
	assert.Equal(t, http.StatusBadRequest, client.StatusCode(err))
}

// With --tls-client-ca home requires a client certificate of that CA: a
// client without one, or with one of another CA, is refused.
func TestMutualTLSRefusesAClientWithoutACertificate(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	// The coordinator's own CA issues the agents' certificates: make it first.
	ca := newTestAuthority(t, filepath.Join(dir, coordinator.TLSDir))
	rogue := newTestAuthority(t, t.TempDir())
	h := startTLSHome(t, "127.0.0.1:0", dir, coordinator.Config{TLS: coordinator.TLSConfig{
		Mode: coordinator.TLSOn, ClientCAFile: filepath.Join(dir, coordinator.TLSDir, pki.CACertFile)}})
	require.Equal(t, ca.Pin(), h.CAPin())

	cert, key := issueFiles(t, ca, pki.RoleClient, certs, "agent")
	registerAndBeat(t, homeClient(t, h.URL(), client.TLS{CAPin: ca.Pin(), CertFile: cert, KeyFile: key}), "news-1", 2)

	_, err := homeClient(t, h.URL(), client.TLS{CAPin: ca.Pin()}).Register(context.Background(), "news-2", nil)
	require.Error(t, err, "no client certificate")
	assert.ErrorIs(t, err, client.ErrUnreachable)
	assert.ErrorIs(t, err, client.ErrClientCertificateRequired, "the client says what is missing")

	rcert, rkey := issueFiles(t, rogue, pki.RoleClient, certs, "rogue")
	_, err = homeClient(t, h.URL(), client.TLS{CAPin: ca.Pin(), CertFile: rcert, KeyFile: rkey}).Register(context.Background(), "news-3", nil)
	require.Error(t, err, "a certificate of another CA")
	// Under TLS 1.3 home refuses it after the client's handshake: the client
	// sees home's alert, or the connection closed under its request.
	assert.ErrorIs(t, err, client.ErrUnreachable)
}

// A connection that never finishes its handshake is cut after the header
// timeout: TLS is bounded like the rest of the request.
func TestTLSHandshakeIsBounded(t *testing.T) {
	h := startTLSHome(t, "127.0.0.1:0", t.TempDir(), coordinator.Config{
		TLS: coordinator.TLSConfig{Mode: coordinator.TLSOn}, Limits: httpserve.Limits{ReadHeaderTimeout: 300 * time.Millisecond}})
	for name, hello := range map[string]string{"silent": "", "half a ClientHello": "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"} {
		conn, err := net.Dial("tcp", h.Addr())
		require.NoError(t, err)
		_, err = io.WriteString(conn, hello)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		start := time.Now()
		_, err = io.ReadAll(conn)
		assert.NoError(t, err, "%s: home closed the connection", name)
		assert.Less(t, time.Since(start), 3*time.Second, name)
		conn.Close()
	}
}

// The server certificate renews itself once two thirds of its life have
// passed: a later handshake gets a new certificate, kept in the data dir,
// and pinned clients, on old connections and new ones, keep working.
func TestServerCertificateRenewalKeepsServing(t *testing.T) {
	dir := t.TempDir()
	var clock fakeClock
	clock.set(time.Now().Add(-80 * 24 * time.Hour)) // the first certificate is 80 days old: renewed after 60
	h := startTLSHome(t, "127.0.0.1:0", dir, coordinator.Config{TLS: coordinator.TLSConfig{Mode: coordinator.TLSOn, Now: clock.now}})
	first := servedCert(t, h.Addr())
	c := homeClient(t, h.URL(), client.TLS{CAPin: h.CAPin()})
	registerAndBeat(t, c, "news-1", 1)

	clock.set(time.Now())
	renewed := servedCert(t, h.Addr())
	assert.NotEqual(t, first.SerialNumber, renewed.SerialNumber, "a new certificate after renewal")
	assert.True(t, renewed.NotAfter.After(first.NotAfter))
	assert.Equal(t, renewed.SerialNumber, servedCert(t, h.Addr()).SerialNumber, "renewed once, not at every handshake")

	onDisk, err := tls.LoadX509KeyPair(filepath.Join(dir, coordinator.TLSDir, pki.ServerCertFile), filepath.Join(dir, coordinator.TLSDir, pki.ServerKeyFile))
	require.NoError(t, err)
	assert.Equal(t, renewed.Raw, onDisk.Certificate[0], "the renewed certificate is kept")
	assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, coordinator.TLSDir, pki.ServerKeyFile)))

	registerAndBeat(t, c, "news-1", 2)
	registerAndBeat(t, homeClient(t, h.URL(), client.TLS{CAPin: h.CAPin()}), "news-2", 1)
	assert.Equal(t, 1, h.logs.count("server certificate issued")-1, "one renewal logged after the first issue")
}

// --tls-cert and --tls-key serve a certificate of one's own CA: a client
// with that CA in --ca-file is served, and CAPin is the pin of the CA at
// the end of the chain.
func TestOwnCertificateFiles(t *testing.T) {
	certs := t.TempDir()
	ca := newTestAuthority(t, certs)
	cert, key := issueFiles(t, ca, pki.RoleServer, certs, "server")
	h := startTLSHome(t, "127.0.0.1:0", t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{CertFile: cert, KeyFile: key}})
	require.True(t, strings.HasPrefix(h.URL(), "https://"))
	assert.Equal(t, ca.Pin(), h.CAPin())
	admin := adminClient(t, h.URL(), client.TLS{CAFile: filepath.Join(certs, pki.CACertFile)})
	_, err := admin.ExportComposition(context.Background(), false)
	require.NoError(t, err)
	both := adminClient(t, h.URL(), client.TLS{CAFile: filepath.Join(certs, pki.CACertFile), CAPin: ca.Pin()})
	_, err = both.ExportComposition(context.Background(), false)
	require.NoError(t, err, "CA file and pin together")
	wrongPin := adminClient(t, h.URL(), client.TLS{CAFile: filepath.Join(certs, pki.CACertFile), CAPin: newTestAuthority(t, t.TempDir()).Pin()})
	_, err = wrongPin.ExportComposition(context.Background(), false)
	assert.ErrorIs(t, err, pki.ErrPinMismatch, "with both, the pin must hold too")
}

// Plain HTTP off loopback needs --insecure-http, which is warned of at
// start and then periodically until the coordinator stops.
func TestInsecureHTTPOffLoopbackIsRefusedOrWarned(t *testing.T) {
	_, err := coordinator.New(coordinator.Config{Listen: everyInterface, DataDir: t.TempDir(),
		TLS: coordinator.TLSConfig{Mode: coordinator.TLSOff}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--insecure-http")

	h := startTLSHome(t, everyInterface, t.TempDir(), coordinator.Config{
		TLS: coordinator.TLSConfig{InsecureHTTP: true, InsecureWarning: 20 * time.Millisecond}})
	require.True(t, strings.HasPrefix(h.URL(), "http://"))
	registerAndBeat(t, homeClient(t, h.URL(), client.TLS{}), "news-1", 1)
	const warning = "serving plain HTTP on an address other than loopback"
	require.Eventually(t, func() bool { return h.logs.count(warning) >= 3 }, 5*time.Second, 10*time.Millisecond,
		"warned at start and again: %s", h.logs)
	h.stop()
	n := h.logs.count(warning)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, n, h.logs.count(warning), "the warnings stop with the coordinator")
}

// Settings that contradict each other are refused at start.
func TestContradictoryTLSSettingsAreRefused(t *testing.T) {
	certs := t.TempDir()
	cert, key := issueFiles(t, newTestAuthority(t, certs), pki.RoleServer, certs, "server")
	for name, tc := range map[string]struct {
		tls  coordinator.TLSConfig
		want string
	}{
		"cert without key":            {coordinator.TLSConfig{CertFile: cert}, "--tls-cert and --tls-key"},
		"cert with --tls off":         {coordinator.TLSConfig{CertFile: cert, KeyFile: key, Mode: coordinator.TLSOff}, "contradicts"},
		"cert with --insecure-http":   {coordinator.TLSConfig{CertFile: cert, KeyFile: key, InsecureHTTP: true}, "contradicts"},
		"--insecure-http, --tls on":   {coordinator.TLSConfig{InsecureHTTP: true, Mode: coordinator.TLSOn}, "contradicts"},
		"client CA without TLS":       {coordinator.TLSConfig{ClientCAFile: filepath.Join(certs, pki.CACertFile)}, "--tls-client-ca needs TLS"},
		"unknown mode":                {coordinator.TLSConfig{Mode: "maybe"}, "want auto, on or off"},
		"client CA file not a CA":     {coordinator.TLSConfig{Mode: coordinator.TLSOn, ClientCAFile: key}, "--tls-client-ca"},
		"cert file that is not a PEM": {coordinator.TLSConfig{CertFile: key, KeyFile: key}, "--tls-cert"},
	} {
		_, err := coordinator.New(coordinator.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), TLS: tc.tls})
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), tc.want, name)
		}
	}
}

// Heartbeats over TLS reuse one connection (HTTP/2), so an agent pays for
// one handshake, not one a heartbeat.
func TestHeartbeatsOverTLSReuseTheConnection(t *testing.T) {
	h := startTLSHome(t, "127.0.0.1:0", t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{Mode: coordinator.TLSOn}})
	trust := client.TLS{CAPin: h.CAPin()}
	tc, err := trust.Config()
	require.NoError(t, err)
	transport := client.NewTransport(tc)
	dials := countDials(transport)
	c, err := client.New(client.Config{Address: h.URL(), Token: tlsAgentToken, Transport: transport})
	require.NoError(t, err)
	registerAndBeat(t, c, "news-1", 20)
	assert.Equal(t, int64(1), dials.Load(), "one connection for a registration and 20 heartbeats")

	resp, err := (&http.Client{Transport: transport}).Get(h.URL() + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 2, resp.ProtoMajor, "HTTP/2 over TLS")
}
