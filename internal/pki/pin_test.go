package pki

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPin(t *testing.T) {
	a := newAuthority(t, "home", t0)
	p := a.Pin()
	sum := sha256.Sum256(a.Cert.RawSubjectPublicKeyInfo)
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), p.String(), "kubeadm's CA cert hash")
	assert.True(t, p.Matches(a.Cert))
	assert.False(t, p.Matches(newAuthority(t, "home", t0).Cert), "same subject, another key")
	assert.False(t, p.IsZero())
	assert.True(t, Pin{}.IsZero())

	q, err := ParsePin(p.String())
	require.NoError(t, err)
	assert.Equal(t, p, q)
	_, err = ParsePin(strings.ToUpper(p.String()))
	assert.Error(t, err, "the algorithm is lowercase")
	q, err = ParsePin("sha256:" + strings.ToUpper(p.String()[7:]))
	require.NoError(t, err, "hex in either case")
	assert.Equal(t, p, q)
	_, err = ParsePin("sha256:" + strings.Repeat("0", 64))
	assert.ErrorContains(t, err, "all zeros", "the zero pin means none: given, it must not turn pinning off")

	b, err := json.Marshal(struct{ Pin Pin }{p})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Pin":"`+p.String()+`"}`, string(b))
	var back struct{ Pin Pin }
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, p, back.Pin)
	assert.Error(t, json.Unmarshal([]byte(`{"Pin":"sha256:00"}`), &back))
}

func TestPinSurvivesResigning(t *testing.T) {
	// The pin names the key: the same key in a new certificate keeps it.
	a := newAuthority(t, "home", t0)
	der := selfSigned(t, a.key, "home renewed")
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	assert.Equal(t, a.Pin(), PinOf(c))
}

func TestParsePinErrors(t *testing.T) {
	long := strings.Repeat("x", 500)
	for in, says := range map[string]string{
		"":                                   "want sha256:",
		"deadbeef":                           "want sha256:",
		"sha1:" + strings.Repeat("0", 40):    `unsupported hash "sha1"`,
		"SHA256:" + strings.Repeat("0", 64):  "unsupported hash",
		"sha256:" + strings.Repeat("0", 63):  "63 hex digits, want 64",
		"sha256:" + strings.Repeat("0", 66):  "66 hex digits",
		"sha256:" + strings.Repeat("g", 64):  "not hex",
		"sha256: " + strings.Repeat("0", 63): "not hex",
		"sha256:" + long:                     "...",
	} {
		_, err := ParsePin(in)
		require.Error(t, err, in)
		assert.ErrorContains(t, err, says, in)
		assert.ErrorContains(t, err, "CA pin")
		assert.Less(t, len(err.Error()), 300, "a long input is cut")
	}
}

func TestVerifyPinned(t *testing.T) {
	now := t0
	a := newAuthority(t, "home", now)
	forged := newAuthority(t, "home", now) // same subject, another key
	server := certsOf(t, issue(t, a, Leaf{Role: RoleServer, DNSNames: []string{"home"}}, now))

	require.NoError(t, VerifyPinned(a.Pin(), server, now))

	t.Run("forged CA", func(t *testing.T) {
		c := certsOf(t, issue(t, forged, Leaf{Role: RoleServer, DNSNames: []string{"home"}}, now))
		err := VerifyPinned(a.Pin(), c, now)
		require.ErrorIs(t, err, ErrPinMismatch)
		assert.ErrorContains(t, err, forged.Pin().String(), "says what it got")
	})
	t.Run("forged leaf beside the real CA", func(t *testing.T) {
		// The real CA certificate is public: an attacker can send it along.
		c := certsOf(t, issue(t, forged, Leaf{Role: RoleServer}, now))
		c = append(c, a.Cert)
		err := VerifyPinned(a.Pin(), c, now)
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrPinMismatch)
	})
	t.Run("leaf alone", func(t *testing.T) {
		err := VerifyPinned(a.Pin(), server[:1], now)
		require.ErrorIs(t, err, ErrPinMismatch)
		assert.ErrorContains(t, err, "without its CA")
	})
	t.Run("nothing", func(t *testing.T) {
		assert.ErrorContains(t, VerifyPinned(a.Pin(), nil, now), "no certificate")
	})
	t.Run("client certificate", func(t *testing.T) {
		c := certsOf(t, issue(t, a, Leaf{Role: RoleClient}, now))
		assert.ErrorContains(t, VerifyPinned(a.Pin(), c, now), "not for server authentication")
	})
	t.Run("the CA as its own server", func(t *testing.T) {
		assert.ErrorContains(t, VerifyPinned(a.Pin(), []*x509.Certificate{a.Cert, a.Cert}, now), "is a CA certificate")
	})
	t.Run("expired", func(t *testing.T) {
		c := certsOf(t, issue(t, a, Leaf{Role: RoleServer, Lifetime: time.Hour}, now))
		require.NoError(t, VerifyPinned(a.Pin(), c, now.Add(59*time.Minute)))
		err := VerifyPinned(a.Pin(), c, now.Add(2*time.Hour))
		assert.ErrorContains(t, err, "expired")
	})
	t.Run("not yet valid", func(t *testing.T) {
		c := certsOf(t, issue(t, a, Leaf{Role: RoleServer}, now.Add(48*time.Hour)))
		assert.Error(t, VerifyPinned(a.Pin(), c, now))
	})
	t.Run("host name not checked", func(t *testing.T) {
		c := certsOf(t, issue(t, a, Leaf{Role: RoleServer, DNSNames: []string{"elsewhere.example"}}, now))
		require.NoError(t, VerifyPinned(a.Pin(), c, now))
	})
	t.Run("intermediate", func(t *testing.T) {
		// A chain leaf -> intermediate -> pinned root verifies, the
		// intermediate taken from what the server sent.
		// Portolan's own authorities sign leaves only (MaxPathLenZero); a
		// root of your own may have intermediates.
		rootKey := newAuthority(t, "", now).key
		rootCert, err := x509.ParseCertificate(selfSigned(t, rootKey, "root"))
		require.NoError(t, err)
		root := &Authority{Cert: rootCert, chain: [][]byte{rootCert.Raw}, key: rootKey}
		inter := intermediate(t, root, "inter")
		c := certsOf(t, issue(t, inter, Leaf{Role: RoleServer}, now))
		require.Len(t, c, 3)
		require.NoError(t, VerifyPinned(root.Pin(), c, now))
		require.NoError(t, VerifyPinned(inter.Pin(), c, now), "pinning the intermediate works too")
		require.ErrorIs(t, VerifyPinned(newAuthority(t, "", now).Pin(), c, now), ErrPinMismatch)

		pinned := newAuthority(t, "leaves only", now)
		c = certsOf(t, issue(t, intermediate(t, pinned, "inter"), Leaf{Role: RoleServer}, now))
		assert.ErrorContains(t, VerifyPinned(pinned.Pin(), c, now), "path length", "an authority made here signs no other")
	})
}

// intermediate is an authority signed by parent.
func intermediate(t *testing.T, parent *Authority, name string) *Authority {
	t.Helper()
	a := newAuthority(t, name, t0)
	tmpl := *a.Cert
	tmpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(randReader(), &tmpl, parent.Cert, a.key.Public(), parent.key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &Authority{Cert: c, chain: [][]byte{der, parent.Cert.Raw}, key: a.key}
}

// TestPinnedHandshake is the real thing: TLS over loopback.
func TestPinnedHandshake(t *testing.T) {
	now := time.Now()
	a := newAuthority(t, "home", now)
	forged := newAuthority(t, "home", now)

	serve := func(t *testing.T, cert tls.Certificate) string {
		return serveHTTPS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	}

	t.Run("right pin", func(t *testing.T) {
		url := serve(t, issue(t, a, Leaf{Role: RoleServer, DNSNames: []string{"home.example"}}, now))
		body, err := get(t, url, PinnedClientConfig(a.Pin()))
		require.NoError(t, err, "127.0.0.1 is not in the certificate: the pin is the identity")
		assert.Equal(t, "ok", body)
	})
	t.Run("forged CA", func(t *testing.T) {
		url := serve(t, issue(t, forged, Leaf{Role: RoleServer, DNSNames: []string{"home.example"}, IPs: loopback()}, now))
		_, err := get(t, url, PinnedClientConfig(a.Pin()))
		require.ErrorIs(t, err, ErrPinMismatch)
	})
	t.Run("client certificate as server", func(t *testing.T) {
		url := serve(t, issue(t, a, Leaf{Role: RoleClient, IPs: loopback()}, now))
		_, err := get(t, url, PinnedClientConfig(a.Pin()))
		assert.ErrorContains(t, err, "not for server authentication")
	})
	t.Run("expired", func(t *testing.T) {
		url := serve(t, issue(t, a, Leaf{Role: RoleServer, Lifetime: time.Minute}, now.Add(-2*time.Hour)))
		_, err := get(t, url, PinnedClientConfig(a.Pin()))
		assert.ErrorContains(t, err, "expired")
	})
	t.Run("system roots are not trusted", func(t *testing.T) {
		url := serve(t, issue(t, a, Leaf{Role: RoleServer, IPs: loopback()}, now))
		_, err := get(t, url, &tls.Config{MinVersion: tls.VersionTLS12})
		assert.Error(t, err, "without the pin, home's own CA is unknown")
	})
	t.Run("mutual TLS with a client certificate", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(a.Cert)
		url := serveHTTPS(t, &tls.Config{
			Certificates: []tls.Certificate{issue(t, a, Leaf{Role: RoleServer}, now)},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
		})
		cfg := PinnedClientConfig(a.Pin())
		_, err := get(t, url, cfg)
		require.Error(t, err, "no client certificate")
		cfg.Certificates = []tls.Certificate{issue(t, a, Leaf{Role: RoleClient, CommonName: "agent"}, now)}
		body, err := get(t, url, cfg)
		require.NoError(t, err)
		assert.Equal(t, "ok", body)
		cfg.Certificates = []tls.Certificate{issue(t, forged, Leaf{Role: RoleClient, CommonName: "agent"}, now)}
		_, err = get(t, url, cfg)
		require.Error(t, err, "a client certificate of another CA")
	})
}

func TestCAPoolClientConfig(t *testing.T) {
	now := time.Now()
	a := newAuthority(t, "own", now)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, a.CertPEM(), 0o644))
	cfg, err := CAPoolClientConfig(caFile)
	require.NoError(t, err)

	url := serveHTTPS(t, &tls.Config{Certificates: []tls.Certificate{issue(t, a, Leaf{Role: RoleServer, IPs: loopback()}, now)}})
	body, err := get(t, url, cfg)
	require.NoError(t, err)
	assert.Equal(t, "ok", body)

	url = serveHTTPS(t, &tls.Config{Certificates: []tls.Certificate{issue(t, a, Leaf{Role: RoleServer, DNSNames: []string{"elsewhere"}}, now)}})
	_, err = get(t, url, cfg)
	assert.Error(t, err, "with a CA file, the host name is checked")

	for name, content := range map[string][]byte{
		"empty.pem":   nil,
		"garbage.pem": []byte("garbage"),
		"key.pem":     pemOf("PRIVATE KEY", []byte{1}),
		"bad.pem":     pemOf("CERTIFICATE", []byte{1, 2}),
	} {
		f := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(f, content, 0o644))
		_, err := CAPoolClientConfig(f)
		assert.ErrorContains(t, err, f)
	}
	_, err = LoadCertPool(filepath.Join(dir, "missing.pem"))
	assert.ErrorContains(t, err, "missing.pem")
}
