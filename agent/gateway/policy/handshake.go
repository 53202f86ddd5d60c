package policy

import "crypto/tls"

// ClientCertificateUser is a policy that reads the certificate the client
// presented in the TLS handshake (tls_validation, oauth_mtls, fapi's
// certificate-bound tokens). The gateway's TLS handshake asks for a client
// certificate only for a service whose chain has one that uses it, as
// APIcast with APICAST_HTTPS_VERIFY_CLIENT off ("request a client
// certificate only when the policy is in the chain"): a browser with
// certificates installed is then not prompted for services that never look
// at one.
type ClientCertificateUser interface {
	// UsesClientCertificate reports whether the policy, as configured,
	// reads the client's certificate. It is called once, when the chain is
	// built.
	UsesClientCertificate() bool
}

// ServedCertificate is one certificate a policy offers for its service's
// TLS handshakes (tls): a pair of files on the agent, which the gateway
// loads, and loads again when they change, or a pair embedded in the
// configuration, parsed when the chain is built.
type ServedCertificate struct {
	Field             string           // where the configuration gives it, for logs: "certificates[0]"
	CertFile, KeyFile string           // the pair's files (absolute paths); "" for an embedded pair
	Pair              *tls.Certificate // the embedded pair; nil for files
}

// CertificateServer is a policy that chooses the certificate the gateway
// serves in its service's TLS handshakes (tls), instead of the gateway's
// own (--gateway-tls-cert).
type CertificateServer interface {
	// ServedCertificates lists the certificates to try, in order: the
	// first that loads is served. It is called once, when the chain is
	// built.
	ServedCertificates() []ServedCertificate
}

// Handshake is what a chain asks of its service's TLS handshakes.
type Handshake struct {
	// ClientCertificate names the first policy that reads the client's
	// certificate; "" when none does, and the handshake need not ask for
	// one.
	ClientCertificate string
	// Certificates are the certificates to serve, in chain order: the first
	// that loads is served; with none (or none that loads), the gateway's
	// own.
	Certificates []ServedCertificate
}

// Handshake reads what c's policies ask of the TLS handshake. Several tls
// policies offer their certificates one after the other, as APIcast runs
// their ssl_certificate phases in order until one sets a certificate.
func (c *Chain) Handshake() Handshake {
	var h Handshake
	for _, p := range c.policies {
		if u, ok := p.(ClientCertificateUser); ok && h.ClientCertificate == "" && u.UsesClientCertificate() {
			h.ClientCertificate = p.Name()
		}
		if s, ok := p.(CertificateServer); ok {
			h.Certificates = append(h.Certificates, s.ServedCertificates()...)
		}
	}
	return h
}
