package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// startTLSCoordinator runs a coordinator in this process serving TLS as
// cfg says, and returns its https:// URL.
func startTLSCoordinator(t *testing.T, tlsCfg coordinator.TLSConfig) string {
	t.Helper()
	return startTLSHome(t, tlsCfg).URL()
}

// startTLSHome runs a coordinator in this process serving TLS as cfg says.
func startTLSHome(t *testing.T, tlsCfg coordinator.TLSConfig) *coordinator.Coordinator {
	t.Helper()
	co, err := coordinator.New(coordinator.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: "admin", AgentToken: testenv.AgentToken,
		Logger: zerolog.Nop(), TLS: tlsCfg,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- co.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	require.True(t, strings.HasPrefix(co.URL(), "https://"), co.URL())
	return co
}

var pinLine = regexp.MustCompile(`(?m)^CA pin: (sha256:[0-9a-f]{64})$`)

// tlsCreate runs `portolan tls ...` and returns the pin it printed.
func tlsCreate(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, append([]string{"tls"}, args...)...)
	require.Equal(t, 0, code, errOut)
	m := pinLine.FindStringSubmatch(out)
	require.NotNil(t, m, "the pin is printed: %s", out)
	return m[1]
}

// `portolan tls ca create` writes the CA 0600, prints its pin, and never
// overwrites it.
func TestTLSCACreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	pin := tlsCreate(t, "ca", "create", "--dir", dir)
	for _, f := range []string{pki.CACertFile, pki.CAKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	ca, err := pki.LoadAuthority(filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile))
	require.NoError(t, err)
	assert.Equal(t, ca.Pin().String(), pin)

	key, err := os.ReadFile(filepath.Join(dir, pki.CAKeyFile))
	require.NoError(t, err)
	code, _, errOut := runCmd(t, "tls", "ca", "create", "--dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "is not overwritten")
	after, err := os.ReadFile(filepath.Join(dir, pki.CAKeyFile))
	require.NoError(t, err)
	assert.Equal(t, key, after, "the CA key is untouched")
}

// A server certificate from `portolan tls cert create --server` is served
// by a coordinator (--tls-cert), and `portolan map` and `portolan export`
// accept it with --ca-file or --ca-pin; without either they refuse it.
func TestTLSCertCreateServesAndMapAcceptsCAFile(t *testing.T) {
	dir := t.TempDir()
	pin := tlsCreate(t, "ca", "create", "--dir", dir)
	assert.Equal(t, pin, tlsCreate(t, "cert", "create", "--server", "--dns", "home.example", "--ip", "192.0.2.7", "--ca", dir, "--dir", dir, "--days", "30"))
	cert := readCert(t, filepath.Join(dir, "portolan-server.pem"))
	assert.Equal(t, []string{"home.example", "localhost"}, cert.DNSNames)
	assert.Equal(t, "192.0.2.7", cert.IPAddresses[len(cert.IPAddresses)-1].String())
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, cert.ExtKeyUsage)
	assert.WithinDuration(t, time.Now().Add(30*24*time.Hour), cert.NotAfter, time.Hour)
	fi, err := os.Stat(filepath.Join(dir, "portolan-server-key.pem"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	home := startTLSCoordinator(t, coordinator.TLSConfig{
		CertFile: filepath.Join(dir, "portolan-server.pem"), KeyFile: filepath.Join(dir, "portolan-server-key.pem")})
	caFile := filepath.Join(dir, pki.CACertFile)

	code, out, errOut := runCmd(t, "map", "--home", home, "--token", "admin", "--ca-file", caFile, "-o", "json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"services"`)
	code, _, errOut = runCmd(t, "map", "--home", home, "--token", "admin", "--ca-pin", pin)
	assert.Equal(t, 0, code, errOut)
	code, out, errOut = runCmd(t, "export", "--home", home, "--token", "admin", "--ca-file", caFile)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "portolan.composition/v1")

	code, _, errOut = runCmd(t, "map", "--home", home, "--token", "admin")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "certificate signed by unknown authority")
	assert.Contains(t, errOut, "answered with a certificate this command does not trust", "home answered: it is not unreachable")
	assert.Contains(t, errOut, "--ca-pin", "says how to trust home")
	code, _, errOut = runCmd(t, "map", "--home", home, "--token", "admin", "--ca-pin", "sha256:"+strings.Repeat("ab", 32))
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "matches the pinned CA")
	assert.NotContains(t, errOut, "is unreachable")
	code, _, errOut = runCmd(t, "map", "--home", home, "--token", "admin", "--ca-pin", "md5:00")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "--ca-pin")
	code, _, errOut = runCmd(t, "map", "--home", "http://"+strings.TrimPrefix(home, "https://"), "--token", "admin", "--ca-file", caFile)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "for an https:// home")
}

// An agent certificate from `portolan tls cert create --agent` gets
// `portolan map` past a coordinator that requires client certificates.
func TestTLSCertCreateAgentForMutualTLS(t *testing.T) {
	dir := t.TempDir()
	tlsCreate(t, "ca", "create", "--dir", dir)
	tlsCreate(t, "cert", "create", "--server", "--ca", dir, "--dir", dir)
	tlsCreate(t, "cert", "create", "--agent", "--ca", dir, "--dir", dir)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, readCert(t, filepath.Join(dir, "portolan-agent.pem")).ExtKeyUsage)
	caFile := filepath.Join(dir, pki.CACertFile)
	home := startTLSCoordinator(t, coordinator.TLSConfig{ClientCAFile: caFile,
		CertFile: filepath.Join(dir, "portolan-server.pem"), KeyFile: filepath.Join(dir, "portolan-server-key.pem")})

	code, _, errOut := runCmd(t, "map", "--home", home, "--token", "admin", "--ca-file", caFile,
		"--tls-client-cert", filepath.Join(dir, "portolan-agent.pem"), "--tls-client-key", filepath.Join(dir, "portolan-agent-key.pem"))
	assert.Equal(t, 0, code, errOut)
	code, _, errOut = runCmd(t, "map", "--home", home, "--token", "admin", "--ca-file", caFile)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "home requires a client certificate")

	code, _, errOut = runCmd(t, "tls", "cert", "create", "--server", "--agent", "--ca", dir, "--dir", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "want one of --server and --agent")
}

// The coordinator command's TLS flags, through the real binary: --tls on
// serves HTTPS on loopback with a CA in the data dir, which
// `portolan map --ca-file` trusts.
func TestCoordinatorCommandServesTLS(t *testing.T) {
	bin := testenv.Binary(t)
	dataDir := t.TempDir()
	addr := testenv.FreeAddr(t)
	out := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "coordinator", "--listen", addr, "--data-dir", dataDir, "--access-token", "admin",
		"--agent-token", testenv.AgentToken, "--tls", "on", "--tls-dns", "home.example", "--tls-ip", "192.0.2.9")
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })

	caFile := filepath.Join(dataDir, coordinator.TLSDir, pki.CACertFile)
	var code int
	var errOut string
	require.Eventually(t, func() bool {
		code, _, errOut = runCmd(t, "map", "--home", "https://"+addr, "--token", "admin", "--ca-file", caFile, "--timeout", "2s")
		return code == 0
	}, 15*time.Second, 100*time.Millisecond, "map over TLS: %s\n%s", errOut, out)
	assert.Contains(t, out.String(), `"ca_pin":"sha256:`)
	served := readCert(t, filepath.Join(dataDir, coordinator.TLSDir, pki.ServerCertFile))
	assert.Contains(t, served.DNSNames, "home.example")
	var ips []string
	for _, ip := range served.IPAddresses {
		ips = append(ips, ip.String())
	}
	assert.Contains(t, ips, "192.0.2.9")

	bad := exec.Command(bin, "coordinator", "--listen", "0.0.0.0:0", "--data-dir", t.TempDir(), "--tls", "off")
	b, err := bad.CombinedOutput()
	require.Error(t, err, "plain HTTP off loopback without --insecure-http: %s", b)
	assert.Contains(t, string(b), "--insecure-http")
}

// An agent given home's pin (--ca-pin) registers with an HTTPS home and
// heartbeats; one pinned to another CA never does, and says why.
func TestAgentPinsHomesCA(t *testing.T) {
	co := startTLSHome(t, coordinator.TLSConfig{Mode: coordinator.TLSOn})
	other, err := pki.NewAuthority("mitm", time.Now())
	require.NoError(t, err)
	good := testenv.StartAgentAt(t, co.URL(), "--service", "news", "--ca-pin", co.CAPin().String(), "--heartbeat", "200ms", "--", "sleep", "60")
	bad := testenv.StartAgentAt(t, co.URL(), "--service", "news", "--ca-pin", other.Pin().String(), "--", "sleep", "60")
	home, err := client.New(client.Config{Address: co.URL(), Token: "admin", TLS: client.TLS{CAPin: co.CAPin()}})
	require.NoError(t, err)
	id := good.ID()
	require.Eventually(t, func() bool {
		m, _, err := home.Map(context.Background(), 0, 0, "")
		if err != nil {
			return false
		}
		in, ok := testenv.FindInstance(m, id)
		return ok && in.Status == registry.StatusPassing
	}, 15*time.Second, 50*time.Millisecond, "the pinned agent registers over TLS")
	require.Eventually(t, func() bool { return strings.Contains(bad.Output.String(), other.Pin().String()) },
		15*time.Second, 50*time.Millisecond, "the agent pinned to another CA says which pin it wanted")
	m, _, err := home.Map(context.Background(), 0, 0, "")
	require.NoError(t, err)
	_, ok := testenv.FindInstance(m, bad.ID())
	assert.False(t, ok, "an agent that refused home's certificate is not registered")
}

// readCert parses the first certificate of a PEM file.
func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block, file)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return c
}

// A --days longer than a time.Duration holds means as long as the CA
// lasts, not a lifetime wrapped around to minutes.
func TestTLSCertCreateDaysPastTheCAEndEndWithTheCA(t *testing.T) {
	caDir, outDir := t.TempDir(), t.TempDir()
	code, _, stderr := runApp("tls", "ca", "create", "--dir", caDir)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runApp("tls", "cert", "create", "--server", "--ca", caDir, "--dir", outDir, "--days", "213504")
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(filepath.Join(outDir, "portolan-server.pem"))
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, cert.NotAfter.After(time.Now().Add(365*24*time.Hour)),
		"asked for 213504 days (capped at the CA's end), got a certificate ending %s (%s from now)",
		cert.NotAfter.UTC().Format(time.RFC3339), time.Until(cert.NotAfter).Round(time.Minute))
}

// A failed write leaves none of the files written before it: a CA key
// without its certificate would block the next tls ca create.
func TestWriteNewFilesRemovesWhatItWroteOnFailure(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	err := writeNewFiles(io.Discard, dir, []newFile{
		{key, "key", []byte("k")},
		{filepath.Join(dir, "missing", "cert.pem"), "certificate", []byte("c")},
	})
	require.Error(t, err)
	assert.NoFileExists(t, key, "the key written before the failure is removed")
}
