package certreload

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// A pair that does not load (here a certificate without its key: a key
// written after its certificate, or a mistake) keeps the served one and
// logs an error, once for that state of the files.
func TestReloaderKeepsOldCertificateWhenNewOneFails(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, first := certs.issue(t, pki.RoleServer, "gateway")
	r, err := New(certFile, keyFile, testRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	r.SetLog(zerolog.New(&logs))

	other, _, _ := certs.issue(t, pki.RoleServer, "other")
	chain, err := os.ReadFile(other)
	require.NoError(t, err)
	writeAtomic(t, certFile, chain) // the key is still the first one's
	for range 2 {
		r.checked.Store(0) // as if a second went by
		c, err := r.GetCertificate(nil)
		require.NoError(t, err)
		assert.Equal(t, first.SerialNumber, c.Leaf.SerialNumber, "the old pair is still served")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), `"level":"error"`), "logged once: %s", logs.String())
	assert.Contains(t, logs.String(), "gateway: the TLS certificate files changed but do not load; still using the previous certificate")

	require.NoError(t, os.WriteFile(certFile, []byte("not PEM"), 0o600))
	r.checked.Store(0)
	c, err := r.GetCertificate(nil)
	require.NoError(t, err)
	assert.Equal(t, first.SerialNumber, c.Leaf.SerialNumber)
	assert.Equal(t, 2, strings.Count(logs.String(), `"level":"error"`), "a new failure is logged")
}

// A new pair is served from the next look at the files, is logged with
// its serial, and is told to OnReload with the pair it replaces.
func TestReloaderServesTheNewPairAndTellsOnReload(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, first := certs.issue(t, pki.RoleServer, "server")
	r, err := New(certFile, keyFile, testRole)
	require.NoError(t, err)
	var logs bytes.Buffer
	r.SetLog(zerolog.New(&logs))
	var prev, next *tls.Certificate
	r.OnReload(func(p, n *tls.Certificate) { prev, next = p, n })

	_, _, second := certs.issue(t, pki.RoleServer, "server")
	c, err := r.GetCertificate(nil)
	require.NoError(t, err)
	assert.Equal(t, first.SerialNumber, c.Leaf.SerialNumber, "within the interval the files are not looked at")
	r.checked.Store(0)
	c, err = r.GetCertificate(nil)
	require.NoError(t, err)
	assert.Equal(t, second.SerialNumber, c.Leaf.SerialNumber)
	require.NotNil(t, prev)
	assert.Equal(t, first.SerialNumber, prev.Leaf.SerialNumber)
	assert.Same(t, c, next)
	assert.Contains(t, logs.String(), "gateway: TLS certificate reloaded")
	assert.Contains(t, logs.String(), second.SerialNumber.Text(16))
}

// A pair whose files are missing or mismatched is refused at start by
// New, naming the flag and what to do; NewLenient serves nothing and says
// why, without the key's contents.
func TestReloaderErrorsNameTheFlagNotTheKey(t *testing.T) {
	certs := newTestCerts(t)
	certFile, keyFile, _ := certs.issue(t, pki.RoleServer, "server")
	_, otherKey, _ := certs.issue(t, pki.RoleServer, "other")
	missing := filepath.Join(certs.dir, "missing.pem")
	for name, tc := range map[string]struct {
		cert, key string
		want      []string
	}{
		"missing cert":    {missing, keyFile, []string{"--tls-cert", "no such file", "check the path and that the agent may read it"}},
		"missing key":     {certFile, missing, []string{"--tls-key", "no such file"}},
		"mismatched pair": {certFile, otherKey, []string{"--tls-cert " + certFile + " with --tls-key " + otherKey, "private key does not match", "its own private key"}},
	} {
		_, err := New(tc.cert, tc.key, testRole)
		if assert.Error(t, err, name) {
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w, name)
			}
		}
	}

	var logs bytes.Buffer
	r := NewLenient(certFile, otherKey, lenientRole, zerolog.New(&logs))
	assert.Nil(t, r.Current(), "nothing served until it loads")
	assert.Contains(t, logs.String(), "does not load; skipped until it does")
	assert.Contains(t, logs.String(), "the gateway's own is served")
	key, err := os.ReadFile(otherKey)
	require.NoError(t, err)
	assert.NotContains(t, logs.String(), strings.Split(string(key), "\n")[1], "no key material is logged")
}
