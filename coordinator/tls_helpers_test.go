package coordinator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

const (
	tlsAdminToken = "tls-admin-token"
	tlsAgentToken = "tls-agent-token"
)

// logBuffer collects a coordinator's JSON log lines, safe for the server's
// goroutines to write while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Count(l.b.Bytes(), []byte(sub))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tlsHome is a coordinator running in this process.
type tlsHome struct {
	*coordinator.Coordinator
	dir  string
	logs *logBuffer
	stop func()
}

// startTLSHome runs a coordinator on listen with cfg's TLS settings (and
// limits) until the test ends or stop is called.
func startTLSHome(t *testing.T, listen, dir string, cfg coordinator.Config) *tlsHome {
	t.Helper()
	logs := &logBuffer{}
	cfg.Listen, cfg.DataDir = listen, dir
	cfg.AccessToken, cfg.AgentToken = tlsAdminToken, tlsAgentToken
	cfg.Logger = zerolog.New(logs)
	co, err := coordinator.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return &tlsHome{Coordinator: co, dir: dir, logs: logs, stop: stop}
}

// homeClient is the agent protocol's client of h with the given TLS trust.
func homeClient(t *testing.T, url string, trust client.TLS) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Address: url, Token: tlsAgentToken, Timeout: 5 * time.Second, TLS: trust})
	require.NoError(t, err)
	return c
}

// adminClient is the admin API's client of h with the given TLS trust.
func adminClient(t *testing.T, url string, trust client.TLS) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Address: url, Token: tlsAdminToken, Timeout: 5 * time.Second, TLS: trust})
	require.NoError(t, err)
	return c
}

// registerAndBeat registers an instance through c and heartbeats it n
// times: the agent protocol, end to end.
func registerAndBeat(t *testing.T, c *client.Client, id string, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := c.Register(ctx, id, &registry.Registration{Service: "news", Address: "10.0.0.5", Port: 3000, AgentVersion: "test"})
	require.NoError(t, err)
	for range n {
		_, err := c.Heartbeat(ctx, id, &registry.Heartbeat{Status: registry.StatusPassing})
		require.NoError(t, err)
	}
}

// servedCert is the certificate addr serves, read by a client that
// checks nothing (the test looks at it).
func servedCert(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test inspects what is served
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// newTestAuthority is a CA made in the test, kept in dir.
func newTestAuthority(t *testing.T, dir string) *pki.Authority {
	t.Helper()
	ca, err := pki.LoadOrCreateAuthority(dir, "test CA", time.Now())
	require.NoError(t, err)
	return ca
}

// issueFiles issues a certificate of role and writes its chain and key
// under dir as name.pem and name-key.pem.
func issueFiles(t *testing.T, ca *pki.Authority, role pki.Role, dir, name string) (certFile, keyFile string) {
	t.Helper()
	chain, key, err := ca.Issue(pki.Leaf{Role: role, DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	require.NoError(t, os.WriteFile(certFile, chain, 0o600))
	require.NoError(t, os.WriteFile(keyFile, key, 0o600))
	return certFile, keyFile
}

// mode is the permission bits of path.
func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// fakeClock is a clock the test sets, read by the server's handshakes.
type fakeClock struct{ unixNano atomic.Int64 }

func (c *fakeClock) set(t time.Time) { c.unixNano.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time  { return time.Unix(0, c.unixNano.Load()) }

// countDials counts the connections t opens.
func countDials(t *http.Transport) *atomic.Int64 {
	var n atomic.Int64
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	return &n
}
