package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewAuthority(t *testing.T) {
	a := newAuthority(t, "home", t0)
	c := a.Cert
	assert.Equal(t, "home", c.Subject.CommonName)
	assert.True(t, c.IsCA)
	assert.True(t, c.BasicConstraintsValid)
	assert.True(t, c.MaxPathLenZero, "it signs leaves only")
	assert.NotZero(t, c.KeyUsage&x509.KeyUsageCertSign)
	assert.Equal(t, t0.Add(CALifetime), c.NotAfter)
	assert.True(t, c.NotBefore.Before(t0), "backdated for clocks a little behind")
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok)
	assert.Equal(t, elliptic.P256(), pub.Curve)
	require.NoError(t, c.CheckSignatureFrom(c), "self-signed")
	assert.Positive(t, c.SerialNumber.Sign())
	assert.LessOrEqual(t, c.SerialNumber.BitLen(), 128)

	assert.Equal(t, DefaultCAName, newAuthority(t, "", t0).Cert.Subject.CommonName)
	assert.NotEqual(t, a.Pin(), newAuthority(t, "home", t0).Pin(), "a new key each time")
}

func TestIssue(t *testing.T) {
	a := newAuthority(t, "home", t0)
	chainPEM, keyPEM, err := a.Issue(Leaf{
		Role:     RoleServer,
		DNSNames: []string{"home.example", "*.home.example"},
		IPs:      []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")},
		Lifetime: 48 * time.Hour,
	}, t0)
	require.NoError(t, err)

	chain := parseChain(t, chainPEM)
	require.Len(t, chain, 2, "the leaf, then the CA")
	leaf := chain[0]
	assert.Equal(t, a.Cert.Raw, chain[1].Raw)
	assert.Equal(t, "home.example", leaf.Subject.CommonName, "the first DNS name")
	assert.Equal(t, []string{"home.example", "*.home.example"}, leaf.DNSNames)
	require.Len(t, leaf.IPAddresses, 2)
	assert.True(t, leaf.IPAddresses[0].Equal(net.ParseIP("10.0.0.1")))
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.ExtKeyUsage)
	assert.Equal(t, x509.KeyUsageDigitalSignature, leaf.KeyUsage)
	assert.False(t, leaf.IsCA)
	assert.Equal(t, t0.Add(48*time.Hour), leaf.NotAfter)
	require.NoError(t, leaf.CheckSignatureFrom(a.Cert))
	assert.Positive(t, leaf.SerialNumber.Sign())
	assert.LessOrEqual(t, leaf.SerialNumber.BitLen(), 128)
	assert.Greater(t, leaf.SerialNumber.BitLen(), 64, "random 128 bits: fewer than 65 has odds 2^-64")

	roots := x509.NewCertPool()
	roots.AddCert(a.Cert)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0, DNSName: "home.example"})
	require.NoError(t, err)

	blocks, err := pemBlocks(keyPEM)
	require.NoError(t, err)
	require.Len(t, blocks, 1)
	assert.Equal(t, "PRIVATE KEY", blocks[0].Type)
	k, err := x509.ParsePKCS8PrivateKey(blocks[0].Bytes)
	require.NoError(t, err)
	ek, ok := k.(*ecdsa.PrivateKey)
	require.True(t, ok)
	assert.Equal(t, elliptic.P256(), ek.Curve)
	assert.True(t, ek.PublicKey.Equal(leaf.PublicKey))
}

func TestIssueClient(t *testing.T) {
	a := newAuthority(t, "home", t0)
	chainPEM, _, err := a.Issue(Leaf{Role: RoleClient, CommonName: "agent-1"}, t0)
	require.NoError(t, err)
	leaf := parseChain(t, chainPEM)[0]
	assert.Equal(t, "agent-1", leaf.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
	assert.Equal(t, t0.Add(DefaultLeafLifetime), leaf.NotAfter, "zero lifetime is the default")

	chainPEM, _, err = a.Issue(Leaf{Role: RoleClient}, t0)
	require.NoError(t, err)
	assert.Equal(t, "portolan client", parseChain(t, chainPEM)[0].Subject.CommonName)
}

func TestIssueSerialsDiffer(t *testing.T) {
	a := newAuthority(t, "home", t0)
	seen := map[string]bool{}
	for range 20 {
		chainPEM, _, err := a.Issue(Leaf{Role: RoleServer, DNSNames: []string{"x"}}, t0)
		require.NoError(t, err)
		s := parseChain(t, chainPEM)[0].SerialNumber.String()
		assert.False(t, seen[s])
		seen[s] = true
	}
}

func TestIssueClampedToAuthority(t *testing.T) {
	a := newAuthority(t, "home", t0)
	late := a.Cert.NotAfter.Add(-24 * time.Hour)
	chainPEM, _, err := a.Issue(Leaf{Role: RoleServer, Lifetime: 30 * 24 * time.Hour}, late)
	require.NoError(t, err)
	assert.Equal(t, a.Cert.NotAfter, parseChain(t, chainPEM)[0].NotAfter, "never outlives its CA")

	_, _, err = a.Issue(Leaf{Role: RoleServer}, a.Cert.NotAfter)
	assert.ErrorContains(t, err, `CA "home" expired`)
}

func TestIssueRefuses(t *testing.T) {
	a := newAuthority(t, "home", t0)
	for name, l := range map[string]Leaf{
		"no role":          {},
		"unknown role":     {Role: Role(9)},
		"negative life":    {Role: RoleServer, Lifetime: -time.Second},
		"empty DNS name":   {Role: RoleServer, DNSNames: []string{""}},
		"space in name":    {Role: RoleServer, DNSNames: []string{"a b"}},
		"non-ASCII name":   {Role: RoleServer, DNSNames: []string{"é.example"}},
		"malformed IP":     {Role: RoleServer, IPs: []net.IP{{1, 2, 3}}},
		"control in name":  {Role: RoleServer, DNSNames: []string{"a\nb"}},
		"name over 253 ch": {Role: RoleServer, DNSNames: []string{string(make([]byte, 254))}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := a.Issue(l, t0)
			assert.Error(t, err)
		})
	}
	assert.Equal(t, "server", RoleServer.String())
	assert.Equal(t, "client", RoleClient.String())
	assert.Equal(t, "Role(7)", Role(7).String())
}

func TestLoadOrCreateAuthority(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "tls")
	a, err := LoadOrCreateAuthority(dir, "home", t0)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fileMode(t, dir))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, filepath.Join(dir, CAKeyFile)))
	assert.Equal(t, os.FileMode(0o600), fileMode(t, filepath.Join(dir, CACertFile)))
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, left, 2, "no temporary file is left behind")

	b, err := LoadOrCreateAuthority(dir, "ignored on reload", t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, a.Pin(), b.Pin(), "a restart keeps the CA")
	assert.Equal(t, a.Cert.Raw, b.Cert.Raw)
	assert.Equal(t, "home", b.Cert.Subject.CommonName)

	// What b issues, a's pin trusts.
	cert := issue(t, b, Leaf{Role: RoleServer}, t0)
	require.NoError(t, VerifyPinned(a.Pin(), certsOf(t, cert), t0))
}

func TestLoadOrCreateAuthorityAfterCrash(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("half a first start"), 0o600))
	a, err := LoadOrCreateAuthority(dir, "home", t0)
	require.NoError(t, err, "a key without its certificate was never handed out: replaced")
	b, err := LoadAuthority(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	require.NoError(t, err)
	assert.Equal(t, a.Pin(), b.Pin())
}

func TestLoadOrCreateAuthorityMissingKey(t *testing.T) {
	dir := t.TempDir()
	a := newAuthority(t, "home", t0)
	require.NoError(t, os.WriteFile(filepath.Join(dir, CACertFile), a.CertPEM(), 0o600))
	_, err := LoadOrCreateAuthority(dir, "home", t0)
	require.Error(t, err, "never replace a CA whose pin may be out there")
	assert.ErrorContains(t, err, filepath.Join(dir, CAKeyFile))
	_, err = os.Stat(filepath.Join(dir, CAKeyFile))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestLoadOrCreateAuthorityDirIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := LoadOrCreateAuthority(filepath.Join(file, "tls"), "home", t0)
	assert.ErrorContains(t, err, filepath.Join(file, "tls"))
}

func TestLoadAuthorityCorrupt(t *testing.T) {
	a := newAuthority(t, "home", t0)
	keyPEM, err := a.KeyPEM()
	require.NoError(t, err)
	other := newAuthority(t, "home", t0)
	otherKey, err := other.KeyPEM()
	require.NoError(t, err)
	chainPEM, leafKey, err := a.Issue(Leaf{Role: RoleServer}, t0)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		cert, key []byte
		names     string // the file the error names
		says      string
	}{
		"garbage cert":        {[]byte("garbage"), keyPEM, CACertFile, "no PEM block"},
		"truncated cert":      {a.CertPEM()[:100], keyPEM, CACertFile, "no PEM block"},
		"bad DER":             {pemOf("CERTIFICATE", []byte{0x30, 0x03, 1, 2, 3}), keyPEM, CACertFile, "certificate 1"},
		"key in cert file":    {keyPEM, keyPEM, CACertFile, `"PRIVATE KEY", not a CERTIFICATE`},
		"leaf as CA":          {chainPEM, leafKey, CACertFile, "not a CA certificate"},
		"garbage key":         {a.CertPEM(), []byte("garbage"), CAKeyFile, "no PEM block"},
		"cert in key file":    {a.CertPEM(), a.CertPEM(), CAKeyFile, "no PRIVATE KEY block"},
		"bad key DER":         {a.CertPEM(), pemOf("PRIVATE KEY", []byte{1, 2, 3}), CAKeyFile, "parse PRIVATE KEY"},
		"encrypted key":       {a.CertPEM(), pemOf("ENCRYPTED PRIVATE KEY", []byte{1}), CAKeyFile, "encrypted"},
		"another CA's key":    {a.CertPEM(), otherKey, CAKeyFile, "does not match"},
		"empty cert file":     {nil, keyPEM, CACertFile, "no PEM block"},
		"empty key file":      {a.CertPEM(), nil, CAKeyFile, "no PEM block"},
		"oversized cert file": {make([]byte, maxPEMFile+1), keyPEM, CACertFile, "more than"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			certFile := filepath.Join(dir, CACertFile)
			keyFile := filepath.Join(dir, CAKeyFile)
			require.NoError(t, os.WriteFile(certFile, tc.cert, 0o600))
			require.NoError(t, os.WriteFile(keyFile, tc.key, 0o600))
			_, err := LoadAuthority(certFile, keyFile)
			require.Error(t, err)
			assert.ErrorContains(t, err, filepath.Join(dir, tc.names))
			assert.ErrorContains(t, err, tc.says)
			_, err = LoadOrCreateAuthority(dir, "home", t0)
			assert.ErrorContains(t, err, filepath.Join(dir, tc.names), "never replaced silently")
		})
	}

	_, err = LoadAuthority(filepath.Join(t.TempDir(), "none.pem"), "key.pem")
	assert.ErrorContains(t, err, "none.pem")
}

func TestLoadAuthorityForeignFormats(t *testing.T) {
	// A CA of your own: RSA in PKCS#1, and ECDSA in SEC 1 after openssl's
	// EC PARAMETERS block, with a parent certificate after it.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		key    crypto.Signer
		keyPEM []byte
	}{
		"rsa pkcs1": {rsaKey, pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))},
		"ec sec1":   {ecKey, append(pemOf("EC PARAMETERS", []byte{6, 5, 43, 129, 4, 0, 34}), pemOf("EC PRIVATE KEY", ecDER)...)},
	} {
		t.Run(name, func(t *testing.T) {
			caDER := selfSigned(t, tc.key, "own CA")
			parent := newAuthority(t, "parent", t0)
			dir := t.TempDir()
			certFile := filepath.Join(dir, "own.pem")
			keyFile := filepath.Join(dir, "own-key.pem")
			require.NoError(t, os.WriteFile(certFile, append(pemOf("CERTIFICATE", caDER), parent.CertPEM()...), 0o600))
			require.NoError(t, os.WriteFile(keyFile, tc.keyPEM, 0o600))
			a, err := LoadAuthority(certFile, keyFile)
			require.NoError(t, err)
			assert.Equal(t, "own CA", a.Cert.Subject.CommonName)

			chainPEM, _, err := a.Issue(Leaf{Role: RoleServer, DNSNames: []string{"x"}}, t0)
			require.NoError(t, err)
			chain := parseChain(t, chainPEM)
			require.Len(t, chain, 3, "leaf, the CA, and what its file held after it")
			require.NoError(t, chain[0].CheckSignatureFrom(a.Cert))
			require.NoError(t, VerifyPinned(a.Pin(), chain, t0))

			// Written back as PKCS#8, it loads again.
			out := t.TempDir()
			require.NoError(t, a.WriteFiles(filepath.Join(out, CACertFile), filepath.Join(out, CAKeyFile)))
			b, err := LoadOrCreateAuthority(out, "", t0)
			require.NoError(t, err)
			assert.Equal(t, a.Pin(), b.Pin())
		})
	}
}

func selfSigned(t *testing.T, key crypto.Signer, cn string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	return der
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// brokenSigner is a CA key that can no longer sign.
type brokenSigner struct{ crypto.Signer }

func (brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errSignerBroken
}

// The CA's directory is 0700 even when it existed before with a looser mode
// (an image layer, a mounted volume, a script's mkdir -p).
func TestTLSDirIsMade0700EvenWhenItExists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	_, err := LoadOrCreateAuthority(dir, "", t0)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fileMode(t, dir), "the CA's directory")
}
