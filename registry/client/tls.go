package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/portolan/portolan/internal/pki"
)

// TLS says how a client trusts an https:// home and, under mutual TLS
// (the coordinator's --tls-client-ca), proves itself. The zero value trusts
// the system's roots, as any HTTPS client does.
type TLS struct {
	// CAFile holds the PEM roots of a CA of your own (--ca-file); home's
	// certificate must chain to one of them and name the host of Address.
	CAFile string
	// CAPin is the SHA-256 of the CA's public key (--ca-pin, or a join
	// token's): home must present a chain holding that CA, whatever host
	// name it is reached by. With CAFile too, both must hold.
	CAPin pki.Pin
	// CertFile and KeyFile are the client certificate and its key in PEM
	// (--tls-client-cert, --tls-client-key); both or neither.
	CertFile, KeyFile string
}

// IsZero tells whether t sets nothing.
func (t TLS) IsZero() bool { return t == TLS{} }

// Config is the client TLS configuration t describes.
func (t TLS) Config() (*tls.Config, error) {
	var cfg *tls.Config
	switch {
	case t.CAFile != "" && !t.CAPin.IsZero():
		c, err := pki.CAPoolClientConfig(t.CAFile)
		if err != nil {
			return nil, err
		}
		pin := t.CAPin
		// The standard verification ran first (roots and host name); the
		// pin narrows it to the one CA among those of the file.
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				for _, cert := range chain {
					if pin.Matches(cert) {
						return nil
					}
				}
			}
			return fmt.Errorf("%w %s: home's certificate chains to a CA of --ca-file %s, not to the pinned one", pki.ErrPinMismatch, pin, t.CAFile)
		}
		cfg = c
	case t.CAFile != "":
		c, err := pki.CAPoolClientConfig(t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg = c
	case !t.CAPin.IsZero():
		cfg = pki.PinnedClientConfig(t.CAPin)
	default:
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key file (--tls-client-cert and --tls-client-key)")
	}
	if t.CertFile == "" {
		// Fail the handshake here, saying why, rather than let home refuse
		// it after a TLS 1.3 handshake, which the client sees as a broken
		// pipe or a reset as often as an alert.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return nil, ErrClientCertificateRequired
		}
		return cfg, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s with key %s: %w", t.CertFile, t.KeyFile, err)
	}
	cfg.Certificates = []tls.Certificate{cert}
	return cfg, nil
}

// ErrClientCertificateRequired is the error of a handshake with a home
// that asks for a client certificate when none was given.
var ErrClientCertificateRequired = errors.New("home requires a client certificate (its --tls-client-ca): give --tls-client-cert and --tls-client-key")

// NewTransport is http.DefaultTransport's settings with cfg for TLS. It
// keeps connections alive and speaks HTTP/2 when home offers it, so that an
// agent's heartbeats and blocking reads share one connection and pay for
// one handshake, not one each.
//
// Sharing one connection means a dead one (a cable pulled, a NAT entry
// dropped, a network cut and rejoined) would stall every call until TCP
// gives up, minutes later, while its retransmission backoff grows: a
// connection silent for H2PingAfter is pinged and closed when no answer
// comes within H2PingTimeout, so the next call dials afresh. A blocking read
// keeps its connection busy but silent, so an idle agent pings home once per
// H2PingAfter: one small frame.
func NewTransport(cfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.ForceAttemptHTTP2 = true // a custom TLS config turns HTTP/2 off otherwise
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: H2PingAfter, PingTimeout: H2PingTimeout}
	return t
}

// The HTTP/2 health check of NewTransport's connections: a connection that
// received nothing for H2PingAfter is pinged, and closed when the ping is
// not answered within H2PingTimeout.
const (
	H2PingAfter   = 5 * time.Second
	H2PingTimeout = 3 * time.Second
)

// transportFor is the transport of a client of address: cfg.Transport
// when set, else NewTransport for an https:// home (with cfg.TLS, or the
// system's roots when it sets nothing), else http.DefaultTransport. An
// https:// home trusted by the system's roots shares one HTTP/2 connection
// as any other, and needs NewTransport's health check all the same.
func transportFor(cfg Config, scheme string) (http.RoundTripper, error) {
	if cfg.TLS.IsZero() {
		switch {
		case cfg.Transport != nil:
			return cfg.Transport, nil
		case scheme == "https":
			return NewTransport(&tls.Config{MinVersion: tls.VersionTLS12}), nil
		}
		return http.DefaultTransport, nil
	}
	if cfg.Transport != nil {
		return nil, errors.New("client: Config.TLS and Config.Transport are exclusive: put the TLS settings in the transport")
	}
	if scheme != "https" {
		return nil, fmt.Errorf("%q: a CA file, CA pin or client certificate is for an https:// home", cfg.Address)
	}
	tc, err := cfg.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("%q: %w", cfg.Address, err)
	}
	return NewTransport(tc), nil
}

// httpsHint is Go's answer to plain HTTP on a TLS port.
const httpsHint = "Client sent an HTTP request to an HTTPS server"

// explainPlainHTTP says what to do when home answered that it serves
// HTTPS only; other errors pass unchanged.
func explainPlainHTTP(err error, base string) error {
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusBadRequest && strings.Contains(se.Body, httpsHint) {
		return fmt.Errorf("%s serves HTTPS: use %s (%w)", base, "https://"+strings.TrimPrefix(base, "http://"), err)
	}
	return err
}
