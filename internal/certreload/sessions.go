package certreload

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"slices"
	"sync/atomic"
)

// A resumed handshake asks for no certificate (crypto/tls skips
// GetCertificate), so a server whose clients keep resuming would neither
// look at its files nor stop resuming sessions made under a certificate
// it no longer serves. A server's GetConfigForClient, which crypto/tls
// calls for every handshake, resumed or not, takes the pair there (the
// look: Current) and a configuration of that pair alone (SessionConfigs),
// whose sessions carry the pair's digest and resume only while it is
// served: after a rotation, clients make a full handshake and get the new
// certificate.

// sessionTagPrefix starts a session's tag (tls.SessionState.Extra entries
// must be recognisable among others': a prefix and a version).
const sessionTagPrefix = "portolan/certreload/v1 served "

// sessionTag names the certificate a session was made under: its leaf's
// SHA-256, so that a pair read again unchanged keeps its sessions.
func sessionTag(cert *tls.Certificate) []byte {
	sum := sha256.Sum256(cert.Certificate[0])
	return append([]byte(sessionTagPrefix), sum[:]...)
}

// BindSessions makes cfg, a server's configuration for one handshake,
// serve cert alone, and resume only the sessions made while cert was
// served: WrapSession tags each session with cert, UnwrapSession takes a
// session without that tag for none (a full handshake). Sessions are
// sealed with keys' session ticket keys (tls.Config.EncryptTicket; ones
// crypto/tls rotates), unless cfg has its own WrapSession and
// UnwrapSession already, which then seal them, the tag inside.
func BindSessions(cfg *tls.Config, cert *tls.Certificate, keys *tls.Config) {
	tag := sessionTag(cert)
	cfg.Certificates = []tls.Certificate{*cert}
	cfg.GetCertificate = nil
	wrap, unwrap := cfg.WrapSession, cfg.UnwrapSession
	if wrap == nil || unwrap == nil {
		wrap, unwrap = keys.EncryptTicket, keys.DecryptTicket
	}
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, tag)
		return wrap(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := unwrap(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		if !slices.ContainsFunc(ss.Extra, func(e []byte) bool { return bytes.Equal(e, tag) }) {
			return nil, nil // made under another certificate
		}
		return ss, nil
	}
}

// SessionConfigs is a server's configurations for handshakes, one for each
// certificate served (BindSessions): the one of the certificate served
// last is kept, so a handshake costs an atomic load, not a clone.
type SessionConfigs struct {
	base, keys *tls.Config
	cur        atomic.Pointer[sessionConfig]
}

type sessionConfig struct {
	cert *tls.Certificate
	cfg  *tls.Config
}

// NewSessionConfigs makes base's configurations; keys seals sessions as
// BindSessions says. base is not changed, nor may it be after.
func NewSessionConfigs(base, keys *tls.Config) *SessionConfigs {
	b := base.Clone()
	b.GetConfigForClient = nil // a returned configuration's is not called
	return &SessionConfigs{base: b, keys: keys}
}

// For is the configuration serving cert: base's, bound to it. It is not
// to be changed.
func (s *SessionConfigs) For(cert *tls.Certificate) *tls.Config {
	if c := s.cur.Load(); c != nil && c.cert == cert {
		return c.cfg
	}
	cfg := s.base.Clone()
	BindSessions(cfg, cert, s.keys)
	s.cur.Store(&sessionConfig{cert: cert, cfg: cfg})
	return cfg
}
