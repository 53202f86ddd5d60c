package coordinator

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"

	"github.com/portolan/portolan/internal/certreload"
)

// handshakeConfig is a configuration of handshakes: with the client CAs
// (nil: none required) and the certificate (nil: the base's) it was made
// for.
type handshakeConfig struct {
	cas    *x509.CertPool
	cert   *tls.Certificate
	config *tls.Config
}

// perHandshake sets s.config's GetConfigForClient, which crypto/tls calls
// for every handshake, resumed ones included: each gets a configuration
// with the client CAs of --tls-client-ca as they are (requireClientCerts)
// and the certificate of --tls-cert as it is, looked at there since a
// resumed handshake asks for none (GetCertificate is not called). Its
// sessions resume only while that certificate is served
// (certreload.BindSessions): after a rotation, clients that keep resuming
// get the new one, and a certificate taken out of service is not kept
// alive by its sessions. Called again, it starts over from s.config.
func (s *tlsServing) perHandshake() {
	s.config.GetConfigForClient = nil
	s.config.NextProtos = httpNextProtos()
	base := s.config.Clone()
	keys := &tls.Config{} // seals sessions with keys crypto/tls makes and rotates
	var cur atomic.Pointer[handshakeConfig]
	// One configuration for the CAs and the certificate, made by the first
	// handshake that sees them: not a clone a handshake.
	s.config.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		var cas *x509.CertPool
		if s.clientCAs != nil {
			cas = s.clientCAs.Current()
		}
		var cert *tls.Certificate
		if s.certs != nil {
			cert = s.certs.Current()
		}
		if c := cur.Load(); c != nil && c.cas == cas && c.cert == cert {
			return c.config, nil
		}
		c := base.Clone()
		if cas != nil {
			c.ClientCAs = cas
		}
		if cert != nil {
			certreload.BindSessions(c, cert, keys)
		}
		cur.Store(&handshakeConfig{cas: cas, cert: cert, config: c})
		return c, nil
	}
}
