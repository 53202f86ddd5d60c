package gateway

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/portolan/portolan/internal/certreload"
)

// handshakes chooses, for each TLS handshake of the gateway's listener,
// the certificate it serves and whether it asks the client for one, from
// the view's handshake plan (handshake_plan.go), worked out once per
// composition revision: a handshake costs an atomic load and a field read.
//
// The gateway serves one service, its placement's, whatever a request's
// Host (no request is routed by Host), so it chooses the same way whatever
// the SNI, and without one (a client that dialled an IP address): every
// connection is the service's. Only when no view is known yet, or the
// service's chain cannot run, can the gateway not tell what the service
// needs; it then asks, as it always did.
//
// The two configurations differ only in ClientAuth. A session resumed
// skips the CertificateRequest and keeps the client certificate of the
// handshake that made it, so each configuration resumes only sessions it
// made: a session made without asking, resumed once the service needs a
// certificate, would carry none the client was ever asked for.
//
// A resumed handshake also skips GetCertificate, so the certificate is
// chosen (and its files looked at) in configFor, for every handshake, and
// each is served by a configuration of its own whose sessions resume only
// while it is served (certreload.BindSessions): a client that keeps
// resuming gets a rotated certificate too.
type handshakes struct {
	view *atomic.Pointer[view]
	def  *certreload.Reloader // the gateway's own pair: the default

	listener         *tls.Config                // the listener's: GetConfigForClient, and the session ticket keys of both
	ask, quiet       *tls.Config                // ask for a client certificate, or not
	askFor, quietFor *certreload.SessionConfigs // ask's and quiet's, for the certificate served
}

// Session tags: an entry of tls.SessionState.Extra saying which
// configuration made the session (Extra's entries must be recognisable
// among others': a prefix and a version).
var (
	askedSession = []byte("portolan/gateway/v1 client certificate asked")
	quietSession = []byte("portolan/gateway/v1 client certificate not asked")
)

func newHandshakes(v *atomic.Pointer[view], def *certreload.Reloader) *handshakes {
	h := &handshakes{view: v, def: def}
	h.listener = &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: h.configFor}
	h.ask = h.mode(tls.RequestClientCert, askedSession)
	h.quiet = h.mode(tls.NoClientCert, quietSession)
	h.askFor = certreload.NewSessionConfigs(h.ask, h.listener)
	h.quietFor = certreload.NewSessionConfigs(h.quiet, h.listener)
	return h
}

// mode is serverTLS's configuration with auth, whose session tickets carry
// tag and are encrypted with the listener's keys (rotated by crypto/tls):
// it resumes only the sessions it made.
func (h *handshakes) mode(auth tls.ClientAuthType, tag []byte) *tls.Config {
	cfg := serverTLS(h.certificate, auth)
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, tag)
		return h.listener.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := h.listener.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		if !slices.ContainsFunc(ss.Extra, func(e []byte) bool { return bytes.Equal(e, tag) }) {
			return nil, nil // the other configuration's: a full handshake
		}
		return ss, nil
	}
	return cfg
}

// configFor is the listener's GetConfigForClient: the view's plan decides,
// and the connection (a handshakeConn) keeps what was decided for its
// certificate and its requests.
func (h *handshakes) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	var plan *handshakePlan
	if v := h.view.Load(); v != nil {
		plan = v.handshake
	}
	ask := plan == nil || plan.ask
	if hc, ok := hello.Conn.(*handshakeConn); ok {
		hc.plan, hc.asked = plan, ask
	}
	cert, _ := h.certificate(hello) // the plan's: hc has it
	switch {
	case cert == nil && ask:
		return h.ask, nil
	case cert == nil:
		return h.quiet, nil
	case ask:
		return h.askFor.For(cert), nil
	}
	return h.quietFor.For(cert), nil
}

// certificate is both configurations' GetCertificate: the first of the
// plan's certificates (the tls policy's) that loads, else the gateway's
// own.
func (h *handshakes) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hc, ok := hello.Conn.(*handshakeConn); ok && hc.plan != nil {
		for i := range hc.plan.certs {
			if c := hc.plan.certs[i].current(); c != nil {
				return c, nil
			}
		}
	}
	return h.def.Current(), nil
}

// handshakeConn is a client connection under its TLS handshake: configFor
// notes there what it decided. Its requests learn whether the handshake
// asked for a client certificate from its local address, the one value
// of a connection that every server the gateway runs (the lean loop,
// net/http's, x/net/http2's) puts in each request's context
// (http.LocalAddrContextKey), so no server needs to know of it.
type handshakeConn struct {
	net.Conn
	plan  *handshakePlan // the view's when the handshake began; nil: none yet
	asked bool           // the handshake asked for a client certificate
}

// NetConn is the connection under c, as tls.Conn's.
func (c *handshakeConn) NetConn() net.Conn { return c.Conn }

// LocalAddr is the connection's local address, carrying asked; read once
// the handshake is done.
func (c *handshakeConn) LocalAddr() net.Addr {
	return handshakeAddr{Addr: c.Conn.LocalAddr(), asked: c.asked}
}

// handshakeAddr is a TLS connection's local address (String and Network
// are the address's: {{ server_addr }} is unchanged) and whether its
// handshake asked for a client certificate.
type handshakeAddr struct {
	net.Addr
	asked bool
}

// handshakeAsked reports whether the TLS handshake of r's connection asked
// for a client certificate; true when it cannot tell (a connection the
// front door did not open).
func handshakeAsked(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(handshakeAddr)
	return !ok || a.asked
}
