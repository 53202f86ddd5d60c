package coordinator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/client"
)

// reloadWait bounds how long a replaced pair takes to be served: the
// files are looked at, on a handshake, at most once a second.
const reloadWait = 10 * time.Second

// rotation is a coordinator serving --tls-cert and --tls-key issued by an
// old CA, and a renewed pair of a new CA, not yet written in their place.
type rotation struct {
	h                  *tlsHome
	certFile, keyFile  string
	oldCA, newCA       *pki.Authority
	oldTrust, newTrust client.TLS
	newCert, newKey    []byte
}

func startRotation(t *testing.T) *rotation {
	t.Helper()
	certs := t.TempDir()
	r := &rotation{
		oldCA: newTestAuthority(t, filepath.Join(certs, "old-ca")),
		newCA: newTestAuthority(t, filepath.Join(certs, "new-ca")),
	}
	r.oldTrust = client.TLS{CAFile: filepath.Join(certs, "old-ca", pki.CACertFile)}
	r.newTrust = client.TLS{CAFile: filepath.Join(certs, "new-ca", pki.CACertFile)}
	r.certFile, r.keyFile = issueFiles(t, r.oldCA, pki.RoleServer, certs, "server")
	renewedCert, renewedKey := issueFiles(t, r.newCA, pki.RoleServer, t.TempDir(), "renewed")
	r.newCert, r.newKey = readAll(t, renewedCert), readAll(t, renewedKey)
	r.h = startTLSHome(t, "127.0.0.1:0", t.TempDir(), coordinator.Config{TLS: coordinator.TLSConfig{CertFile: r.certFile, KeyFile: r.keyFile}})
	require.Equal(t, r.oldCA.Pin(), r.h.CAPin())
	require.NoError(t, r.export(t, r.oldTrust), "served at start to a client of the old CA")
	return r
}

// export calls the admin API with trust, on a connection of its own (a
// new handshake).
func (r *rotation) export(t *testing.T, trust client.TLS) error {
	t.Helper()
	_, err := adminClient(t, r.h.URL(), trust).ExportComposition(context.Background(), false)
	return err
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// replace writes data over path in place (truncate, then write), as a
// copy does: not atomically.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// keyBody is a line of a PEM key's base64: what must never be logged.
func keyBody(key []byte) string {
	return strings.Split(strings.TrimSpace(string(key)), "\n")[1]
}

// A certificate renewed on disk (cert-manager, certbot, a Kubernetes
// secret update) is served without a restart: once --tls-cert and
// --tls-key are replaced, a client that trusts only the new CA is served,
// and one of the old CA no longer is; join tokens made now carry the new
// CA's pin, and the change of CA is logged.
func TestOwnCertificateFilesAreReloadedWhenReplaced(t *testing.T) {
	r := startRotation(t)
	require.Error(t, r.export(t, r.newTrust), "a client of the new CA is refused before the rotation")

	replace(t, r.keyFile, r.newKey) // a key written before its certificate
	replace(t, r.certFile, r.newCert)
	require.Eventually(t, func() bool { return r.export(t, r.newTrust) == nil }, reloadWait, 50*time.Millisecond,
		"a client of the new CA is served once the files are replaced: %s", r.h.logs)
	assert.Error(t, r.export(t, r.oldTrust), "the old certificate is no longer served")
	assert.Equal(t, r.newCA.Pin(), r.h.CAPin(), "join tokens carry the new CA's pin")
	assert.Equal(t, 1, r.h.logs.count("TLS certificate reloaded"), "%s", r.h.logs)
	assert.Equal(t, 1, r.h.logs.count("is of another CA"), "the change of CA is warned of: %s", r.h.logs)
	assert.Equal(t, 1, r.h.logs.count(r.newCA.Pin().String()), "with the new pin: %s", r.h.logs)
}

// A pair caught half written (a certificate cut short, then a certificate
// whose key is not written yet) keeps the old certificate serving, and is
// logged as an error once for each state of the files, naming the files
// but never the key's contents; the complete pair is then served.
func TestOwnCertificateFilesThatDoNotLoadKeepTheOldOneServing(t *testing.T) {
	r := startRotation(t)
	first := servedCert(t, r.h.Addr())
	oldKey := readAll(t, r.keyFile)
	const failed = "still using the previous certificate"

	steps := []struct {
		name string
		file string
		data []byte
	}{
		{"certificate cut short", r.certFile, r.newCert[:len(r.newCert)/2]},
		{"certificate without its key", r.certFile, r.newCert},
	}
	for i, s := range steps {
		replace(t, s.file, s.data)
		require.Eventually(t, func() bool {
			assert.Equal(t, first.SerialNumber, servedCert(t, r.h.Addr()).SerialNumber, "%s: the old certificate is served", s.name)
			return r.h.logs.count(failed) == i+1
		}, reloadWait, 50*time.Millisecond, "%s: logged: %s", s.name, r.h.logs)
		assert.NoError(t, r.export(t, r.oldTrust), "%s: a client of the old CA is served", s.name)
	}
	time.Sleep(1100 * time.Millisecond) // the files are looked at again
	servedCert(t, r.h.Addr())
	assert.Equal(t, len(steps), r.h.logs.count(failed), "each state of the files is logged once: %s", r.h.logs)
	assert.Contains(t, r.h.logs.String(), "private key does not match public key")
	assert.Contains(t, r.h.logs.String(), r.certFile, "the files are named")

	replace(t, r.keyFile, r.newKey)
	require.Eventually(t, func() bool { return r.export(t, r.newTrust) == nil }, reloadWait, 50*time.Millisecond,
		"the complete pair is served: %s", r.h.logs)
	logs := r.h.logs.String()
	assert.NotContains(t, logs, keyBody(oldKey), "no key material is logged")
	assert.NotContains(t, logs, keyBody(r.newKey), "no key material is logged")
	assert.Equal(t, os.FileMode(0o600), mode(t, r.keyFile), "the key file is left as it is")
}
