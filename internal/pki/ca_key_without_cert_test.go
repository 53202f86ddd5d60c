package pki

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A CA key left without its certificate (ca.pem deleted by hand, or a
// crash between the two writes of the first start) gets a new certificate
// for that same key: the pin, a hash of the key (PinOf, as kubeadm's CA
// hash), stays the one every join token carries, and the certificates the
// key signed before still verify. A new key would have changed the pin
// silently, and every agent holding a join token would refuse home.
func TestCAKeyWithoutItsCertificateKeepsThePin(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first, err := LoadOrCreateAuthority(dir, "", now)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, CACertFile)))

	again, err := LoadOrCreateAuthority(dir, "", now.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, first.Pin(), again.Pin(), "the pin changed: a new key")
	assert.True(t, again.Cert.IsCA)
	assert.Equal(t, first.Cert.Subject.CommonName, again.Cert.Subject.CommonName)
	assert.Equal(t, first.Cert.SubjectKeyId, again.Cert.SubjectKeyId, "certificates the key signed name it by this id")

	loaded, err := LoadAuthority(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	require.NoError(t, err, "the certificate was written beside its key")
	assert.Equal(t, first.Pin(), loaded.Pin())
}
