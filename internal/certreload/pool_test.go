package certreload

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

var poolRole = Role{CertFlag: "--tls-client-ca", Name: "client CAs", Reader: "the coordinator"}

// verifies tells whether pool verifies a client certificate ca issues.
func verifies(t *testing.T, pool *x509.CertPool, ca *pki.Authority) bool {
	t.Helper()
	chain, key, err := ca.Issue(pki.Leaf{Role: pki.RoleClient, DNSNames: []string{"agent"}}, time.Now())
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	_, err = pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil
}

// CA certificates whose file changes are used from the next look: a CA
// added beside the old one, then the old one dropped. A file that does
// not load keeps the last good ones, and is logged once, naming the flag
// and the file.
func TestPoolTakesTheChangedFileAndKeepsTheLastGoodOne(t *testing.T) {
	certs := newTestCerts(t)
	other, err := pki.NewAuthority("other CA", time.Now())
	require.NoError(t, err)
	file := filepath.Join(certs.dir, "client-ca.pem")
	writeAtomic(t, file, certs.ca.CertPEM())
	p, err := NewPool(file, poolRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	p.SetLog(zerolog.New(&logs))
	require.True(t, verifies(t, p.Current(), certs.ca))
	require.False(t, verifies(t, p.Current(), other))

	// A look just made, whatever time a loaded machine took to get here.
	p.checked.Store(time.Now().Add(time.Hour).UnixNano())
	writeAtomic(t, file, append(certs.ca.CertPEM(), other.CertPEM()...))
	assert.False(t, verifies(t, p.Current(), other), "within the interval the file is not looked at")
	p.checked.Store(0)
	assert.True(t, verifies(t, p.Current(), other), "the CA added")
	assert.True(t, verifies(t, p.Current(), certs.ca), "beside the old one")
	assert.Contains(t, logs.String(), "client CAs reloaded")

	writeAtomic(t, file, other.CertPEM())
	p.checked.Store(0)
	assert.False(t, verifies(t, p.Current(), certs.ca), "the old CA dropped")

	writeAtomic(t, file, []byte("not PEM"))
	for range 2 {
		p.checked.Store(0)
		assert.True(t, verifies(t, p.Current(), other), "the last good CAs are kept")
		assert.False(t, verifies(t, p.Current(), certs.ca))
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `"level":"error"`), "logged once: %s", logs.String())
	assert.Contains(t, logs.String(), "--tls-client-ca "+file+": no CERTIFICATE block")
	assert.Contains(t, logs.String(), "the client CAs file changed but does not load; still using the previous ones")

	_, err = NewPool(file, poolRole)
	assert.ErrorContains(t, err, "--tls-client-ca "+file+": no CERTIFICATE block", "refused at start")
}
