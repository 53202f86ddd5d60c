package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// autoCertEnv is an AutoCert on a fake clock, with its renewals recorded.
type autoCertEnv struct {
	ca       *Authority
	dir      string
	clock    *fakeClock
	mu       sync.Mutex
	renewals []Renewal
}

func newAutoCertEnv(t *testing.T) *autoCertEnv {
	return &autoCertEnv{
		ca:    newAuthority(t, "home", t0),
		dir:   filepath.Join(t.TempDir(), "data"),
		clock: &fakeClock{now: t0},
	}
}

func (e *autoCertEnv) config() AutoCertConfig {
	return AutoCertConfig{
		Authority: e.ca,
		Dir:       e.dir,
		DNSNames:  []string{"Home.Example"},
		IPs:       []net.IP{net.ParseIP("192.0.2.7")},
		Lifetime:  90 * time.Hour,
		Now:       e.clock.Now,
		OnRenew: func(r Renewal) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.renewals = append(e.renewals, r)
		},
	}
}

func (e *autoCertEnv) start(t *testing.T) *AutoCert {
	t.Helper()
	a, err := NewAutoCert(e.config())
	require.NoError(t, err)
	return a
}

func (e *autoCertEnv) taken() []Renewal {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.renewals
	e.renewals = nil
	return r
}

func serving(t *testing.T, a *AutoCert) *x509.Certificate {
	t.Helper()
	c, err := a.GetCertificate(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	require.NotNil(t, c.Leaf)
	return c.Leaf
}

func onDisk(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	require.NoError(t, err)
	c, err := x509.ParseCertificate(cert.Certificate[0])
	require.NoError(t, err)
	return c
}

func TestAutoCertFirstStart(t *testing.T) {
	e := newAutoCertEnv(t)
	a := e.start(t)
	r := e.taken()
	require.Len(t, r, 1)
	assert.Contains(t, r[0].Reason, "no server certificate in "+e.dir)
	require.NoError(t, r[0].Err)

	leaf := serving(t, a)
	assert.Equal(t, leaf, a.Certificate())
	assert.Equal(t, leaf.Raw, onDisk(t, e.dir).Raw)
	assert.Equal(t, os.FileMode(0o700), fileMode(t, e.dir))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, filepath.Join(e.dir, ServerKeyFile)))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, filepath.Join(e.dir, ServerCertFile)))

	assert.Contains(t, leaf.DNSNames, "home.example", "given names, lowercased")
	assert.Contains(t, leaf.DNSNames, "localhost")
	if h, err := os.Hostname(); err == nil && h != "" {
		assert.Contains(t, leaf.DNSNames, h)
	}
	for _, ip := range []string{"192.0.2.7", "127.0.0.1", "::1"} {
		assert.True(t, slices.ContainsFunc(leaf.IPAddresses, net.ParseIP(ip).Equal), ip)
	}
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.ExtKeyUsage)
	assert.Equal(t, t0.Add(90*time.Hour), leaf.NotAfter)

	cert, err := a.GetCertificate(nil)
	require.NoError(t, err)
	require.NoError(t, VerifyPinned(e.ca.Pin(), certsOf(t, *cert), t0), "the chain carries the CA")
}

func TestAutoCertReload(t *testing.T) {
	e := newAutoCertEnv(t)
	first := serving(t, e.start(t))
	e.taken()

	e.clock.Set(t0.Add(time.Hour))
	again := serving(t, e.start(t))
	assert.Equal(t, first.SerialNumber, again.SerialNumber, "a restart keeps a good certificate")
	assert.Empty(t, e.taken())

	// A kept certificate without its CA after it is served with it.
	certFile := filepath.Join(e.dir, ServerCertFile)
	chain, err := os.ReadFile(certFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, pemOf("CERTIFICATE", parseChain(t, chain)[0].Raw), 0o600))
	a := e.start(t)
	assert.Empty(t, e.taken(), "not reissued")
	cert, err := a.GetCertificate(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	assert.Equal(t, first.SerialNumber, cert.Leaf.SerialNumber)
	require.NoError(t, VerifyPinned(e.ca.Pin(), certsOf(t, *cert), t0.Add(time.Hour)))
}

func TestAutoCertReissues(t *testing.T) {
	for name, tc := range map[string]struct {
		spoil func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig)
		says  string
	}{
		"a name added": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				cfg.DNSNames = append(cfg.DNSNames, "new.example")
				cfg.IPs = append(cfg.IPs, net.ParseIP("2001:db8::9"))
			},
			"does not name new.example, 2001:db8::9",
		},
		"corrupt certificate": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				require.NoError(t, os.WriteFile(filepath.Join(e.dir, ServerCertFile), []byte("garbage"), 0o600))
			},
			ServerCertFile,
		},
		"key missing": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				require.NoError(t, os.Remove(filepath.Join(e.dir, ServerKeyFile)))
			},
			ServerKeyFile,
		},
		"key of another certificate (a crash between the writes)": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				_, key, err := e.ca.Issue(Leaf{Role: RoleServer}, t0)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(e.dir, ServerKeyFile), key, 0o600))
			},
			"private key does not match",
		},
		"another CA": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				cfg.Authority = newAuthority(t, "home", t0)
			},
			"was not issued by the CA",
		},
		"near its end": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				e.clock.Set(t0.Add(61 * time.Hour))
			},
			"expires on",
		},
		"a client certificate": {
			func(t *testing.T, e *autoCertEnv, cfg *AutoCertConfig) {
				chain, key, err := e.ca.Issue(Leaf{Role: RoleClient}, t0)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(e.dir, ServerCertFile), chain, 0o600))
				require.NoError(t, os.WriteFile(filepath.Join(e.dir, ServerKeyFile), key, 0o600))
			},
			"not a server certificate",
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newAutoCertEnv(t)
			first := serving(t, e.start(t))
			e.taken()
			cfg := e.config()
			tc.spoil(t, e, &cfg)
			a, err := NewAutoCert(cfg)
			require.NoError(t, err)
			leaf := serving(t, a)
			assert.NotEqual(t, first.SerialNumber, leaf.SerialNumber)
			assert.Equal(t, leaf.Raw, onDisk(t, e.dir).Raw)
			r := e.taken()
			require.Len(t, r, 1)
			assert.Contains(t, r[0].Reason, tc.says)
			assert.Equal(t, leaf, r[0].Cert)
		})
	}
}

func TestAutoCertRenewal(t *testing.T) {
	e := newAutoCertEnv(t)
	a := e.start(t)
	e.taken()
	first := serving(t, a)
	due := first.NotAfter.Add(-first.NotAfter.Sub(first.NotBefore) / 3)

	e.clock.Set(due.Add(-time.Second))
	assert.Equal(t, first.SerialNumber, serving(t, a).SerialNumber, "more than a third left")
	assert.Empty(t, e.taken())

	e.clock.Set(due)
	second := serving(t, a)
	assert.NotEqual(t, first.SerialNumber, second.SerialNumber, "renewed with a third left")
	assert.Equal(t, due.Add(90*time.Hour), second.NotAfter)
	assert.Equal(t, second.Raw, onDisk(t, e.dir).Raw, "kept for the next start")
	r := e.taken()
	require.Len(t, r, 1)
	assert.Contains(t, r[0].Reason, "expires on "+first.NotAfter.UTC().Format(time.RFC3339))
	assert.NoError(t, r[0].Err)

	assert.Equal(t, second.SerialNumber, serving(t, a).SerialNumber)
	assert.Empty(t, e.taken(), "once")
}

func TestAutoCertRenewsOnce(t *testing.T) {
	e := newAutoCertEnv(t)
	a := e.start(t)
	e.taken()
	e.clock.Set(t0.Add(80 * time.Hour))

	var wg sync.WaitGroup
	var serials sync.Map
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := a.GetCertificate(&tls.ClientHelloInfo{})
			if assert.NoError(t, err) {
				serials.Store(c.Leaf.SerialNumber.String(), true)
			}
		}()
	}
	wg.Wait()
	assert.Len(t, e.taken(), 1, "concurrent handshakes renew once")
	n := 0
	serials.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, 1, n, "and all get the new certificate")
}

func TestAutoCertRenewalFails(t *testing.T) {
	e := newAutoCertEnv(t)
	a := e.start(t)
	e.taken()
	first := serving(t, a)

	good := e.ca.key
	var signs atomic.Int32
	e.ca.key = countingSigner{brokenSigner{good}, &signs}

	e.clock.Set(t0.Add(70 * time.Hour))
	assert.Equal(t, first.SerialNumber, serving(t, a).SerialNumber, "the old certificate is served while valid")
	r := e.taken()
	require.Len(t, r, 1)
	assert.ErrorIs(t, r[0].Err, errSignerBroken)
	assert.Nil(t, r[0].Cert)
	assert.Equal(t, int32(1), signs.Load())

	e.clock.Set(t0.Add(70*time.Hour + renewRetry - time.Second))
	serving(t, a)
	assert.Equal(t, int32(1), signs.Load(), "no new attempt before renewRetry")

	e.clock.Set(t0.Add(70*time.Hour + renewRetry))
	serving(t, a)
	assert.Equal(t, int32(2), signs.Load(), "a new attempt after it")
	e.taken()

	e.clock.Set(first.NotAfter)
	_, err := a.GetCertificate(&tls.ClientHelloInfo{})
	assert.ErrorIs(t, err, errSignerBroken, "expired and not renewed")
	assert.ErrorContains(t, err, "expired")

	e.ca.key = good
	e.clock.Set(first.NotAfter.Add(renewRetry))
	assert.NotEqual(t, first.SerialNumber, serving(t, a).SerialNumber, "recovers")
}

func TestAutoCertWriteFails(t *testing.T) {
	e := newAutoCertEnv(t)
	a := e.start(t)
	e.taken()
	first := serving(t, a)
	// A directory where the key file goes: the rename over it fails.
	require.NoError(t, os.Remove(filepath.Join(e.dir, ServerKeyFile)))
	require.NoError(t, os.Mkdir(filepath.Join(e.dir, ServerKeyFile), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, ServerKeyFile, "x"), nil, 0o600))

	e.clock.Set(t0.Add(70 * time.Hour))
	leaf := serving(t, a)
	assert.NotEqual(t, first.SerialNumber, leaf.SerialNumber, "the new certificate is served")
	r := e.taken()
	require.Len(t, r, 1)
	assert.Equal(t, leaf, r[0].Cert)
	assert.ErrorContains(t, r[0].Err, filepath.Join(e.dir, ServerKeyFile), "and the failure reported")
}

func TestNewAutoCertErrors(t *testing.T) {
	e := newAutoCertEnv(t)
	cfg := e.config()
	cfg.Authority = nil
	_, err := NewAutoCert(cfg)
	assert.ErrorContains(t, err, "no authority")

	cfg = e.config()
	cfg.Dir = ""
	_, err = NewAutoCert(cfg)
	assert.ErrorContains(t, err, "no directory")

	cfg = e.config()
	cfg.DNSNames = []string{"bad name"}
	_, err = NewAutoCert(cfg)
	assert.ErrorContains(t, err, "bad name")

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cfg = e.config()
	cfg.Dir = filepath.Join(file, "tls")
	_, err = NewAutoCert(cfg)
	assert.ErrorContains(t, err, cfg.Dir)

	cfg = e.config()
	cfg.Now = func() time.Time { return e.ca.Cert.NotAfter }
	_, err = NewAutoCert(cfg)
	assert.ErrorContains(t, err, "expired", "a CA past its end issues nothing")
}

func TestAutoCertServesTLS(t *testing.T) {
	ca := newAuthority(t, "home", time.Now())
	a, err := NewAutoCert(AutoCertConfig{Authority: ca, Dir: t.TempDir()})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(DefaultServerLifetime), a.Certificate().NotAfter, time.Minute)
	url := serveHTTPS(t, a.TLSConfig())
	body, err := get(t, url, PinnedClientConfig(ca.Pin()))
	require.NoError(t, err)
	assert.Equal(t, "ok", body)

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	body, err = get(t, url, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool})
	require.NoError(t, err, "127.0.0.1 is among the local names")
	assert.Equal(t, "ok", body)
}

func TestLocalNames(t *testing.T) {
	dns, ips := LocalNames()
	assert.Contains(t, dns, "localhost")
	assert.True(t, slices.ContainsFunc(ips, net.IPv4(127, 0, 0, 1).Equal))
	assert.True(t, slices.ContainsFunc(ips, net.IPv6loopback.Equal))
	for i, ip := range ips {
		assert.False(t, ip.IsLinkLocalUnicast(), ip)
		assert.False(t, slices.ContainsFunc(ips[i+1:], ip.Equal), "no duplicate %s", ip)
	}
}

// countingSigner counts the signatures asked of it.
type countingSigner struct {
	brokenSigner
	n *atomic.Int32
}

func (s countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.brokenSigner.Sign(r, d, o)
}

// A certificate capped by the CA's end cannot be extended by renewing it:
// handshakes in the CA's last minutes renew at most once, not each time.
func TestAutoCertRenewsAtMostOnceNearCAEnd(t *testing.T) {
	e := newAutoCertEnv(t)
	a := e.start(t)
	e.taken()
	e.clock.Set(e.ca.Cert.NotAfter.Add(-20 * time.Minute))
	for range 5 {
		_, err := a.GetCertificate(&tls.ClientHelloInfo{})
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, len(e.taken()), 1, "five handshakes at one instant renew at most once")
}
