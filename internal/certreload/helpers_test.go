package certreload

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
)

// The roles the tests load pairs as: a flag's pair, and a pair a
// configuration names (regular files only).
var (
	testRole    = Role{CertFlag: "--tls-cert", KeyFlag: "--tls-key", Name: "TLS certificate", Reader: "the agent", LogPrefix: "gateway: "}
	lenientRole = Role{CertFlag: "certificates[0].certificate_path", KeyFlag: "certificates[0].certificate_key_path",
		Name: "tls policy certificate certificates[0] of service news", Reader: "the agent", LogPrefix: "gateway: ",
		Fallback: "the gateway's own is served", RegularOnly: true}
)

// testCerts is a CA the test makes, and the files of what it issues.
type testCerts struct {
	dir string
	ca  *pki.Authority
}

func newTestCerts(t testing.TB) *testCerts {
	t.Helper()
	ca, err := pki.NewAuthority("certreload test CA", time.Now())
	require.NoError(t, err)
	return &testCerts{dir: t.TempDir(), ca: ca}
}

// issue writes a new pair at name.pem and name-key.pem (each replaced
// atomically, the key first) and returns the files and the certificate.
func (c *testCerts) issue(t testing.TB, role pki.Role, name string) (certFile, keyFile string, leaf *x509.Certificate) {
	t.Helper()
	chain, key, err := c.ca.Issue(pki.Leaf{Role: role, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(c.dir, name+".pem"), filepath.Join(c.dir, name+"-key.pem")
	writeAtomic(t, keyFile, key)
	writeAtomic(t, certFile, chain)
	pair, err := tls.X509KeyPair(chain, key)
	require.NoError(t, err)
	return certFile, keyFile, pair.Leaf
}

func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// within is what ch gives, failing the test when nothing comes in 5s.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		require.FailNow(t, "nothing came in 5s")
		var zero T
		return zero
	}
}
