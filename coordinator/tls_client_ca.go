package coordinator

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/certreload"
)

// clientCAsRole names the file of --tls-client-ca in errors and logs.
var clientCAsRole = certreload.Role{CertFlag: "--tls-client-ca", Name: "client CAs", Reader: "the coordinator"}

// httpNextProtos is what net/http offers by ALPN when it serves TLS (HTTP/2
// first). It is set on the configuration up front: the per-handshake
// configurations GetConfigForClient returns are used as they are, without
// net/http's additions to the one it was given.
var httpNextProtos = []string{"h2", "http/1.1"}

// clientCAConfig is the configuration of the handshakes that verify
// client certificates against pool.
type clientCAConfig struct {
	pool   *x509.CertPool
	config *tls.Config
}

// requireClientCerts requires of every client a certificate of a CA of
// file, read again when the file changes (certreload.Pool): each handshake
// gets, by GetConfigForClient, a configuration with the CAs as they are
// then, so that an operator rotating the client CA (the new one added
// beside the old, then the old dropped) restarts nothing. Those CAs are
// also what a resumed session's certificate is verified against again
// (crypto/tls does, for a configuration GetConfigForClient changed), so a
// dropped CA's sessions end too. A file that does not load keeps the
// last CAs that did, and is logged naming it.
func (s *tlsServing) requireClientCerts(file string, log zerolog.Logger) error {
	pool, err := certreload.NewPool(file, clientCAsRole)
	if err != nil {
		return err
	}
	pool.SetLog(log)
	s.clientCAs = pool
	s.config.NextProtos = httpNextProtos
	s.config.ClientAuth = tls.RequireAndVerifyClientCert
	s.config.ClientCAs = pool.Current() // what a handshake gets, were GetConfigForClient not called
	base := s.config.Clone()
	// One configuration a pool, made by the first handshake that sees it:
	// not a clone a handshake.
	var cur atomic.Pointer[clientCAConfig]
	s.config.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cas := pool.Current()
		if c := cur.Load(); c != nil && c.pool == cas {
			return c.config, nil
		}
		c := base.Clone()
		c.ClientCAs = cas
		cur.Store(&clientCAConfig{pool: cas, config: c})
		return c, nil
	}
	return nil
}
