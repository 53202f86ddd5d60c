package policy

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// tlsTermination is APIcast's tls policy ("TLS Termination": "Configure
// APIcast to serve TLS certificates for HTTPS connections"): its
// certificates are served in the TLS handshakes of the service's clients
// instead of the gateway's own (--gateway-tls-cert), "The first valid
// certificate is going to be served to the client." Each entry is a pair of
// files on the agent (certificate_path and certificate_key_path, PEM) or a
// pair embedded in the configuration (certificate and certificate_key). An
// entry that does not load is skipped and logged, never fatal; when none
// loads, the gateway's own certificate is served, as APIcast's
// ssl_certificate phase leaves its fallback certificate when it has no
// valid one. The gateway does the serving (agent/gateway/handshake.go):
// the policy only says what to serve (CertificateServer).
//
// Differences:
//   - The gateway serves one service, its placement's, whatever a
//     request's Host; so every handshake is that service's, with any SNI
//     or none. APIcast finds the service by the SNI among its services'
//     hosts and, finding none, serves its default certificate.
//   - A pair counts as valid when its certificate and key go together.
//     APIcast parses each alone, so a certificate with another's key passes
//     its check and every handshake then fails (its apicast-policy-tls.t,
//     TEST 2: "handshake failed"); here that entry is skipped.
//   - Files are loaded again when they change (at most one look a second,
//     as the gateway's own pair): a rotated certificate is served without
//     a new revision. A pair that loaded and then fails keeps the one it
//     served, as the gateway's own does. APIcast reads them once, when the
//     chain is built. Files are read from the agent's file system only
//     when the gateway serves TLS, never at home; only regular files, of at
//     most 1 MiB.
//   - An embedded pair is a data: URL, the schema's "data-url" format and
//     what APIcast parses, or plain PEM, as the schema's descriptions have
//     it ("Certificate including the -----BEGIN CERTIFICATE-----").
//   - An entry that has neither pair complete (a path without its key
//     path), or a relative path, is a configuration error naming it (home
//     answers 422; an agent fails the service closed): it could never be
//     served. APIcast logs and skips it. Given both pairs, the embedded one
//     is tried first, then the files, as APIcast tries them.
//   - APIcast logs an entry that does not parse whole (cjson.encode),
//     embedded private key included; here it is named by its index, and
//     no key is ever logged.
//   - On a gateway without TLS (no --gateway-tls-cert) the policy is
//     accepted and unused, with a warning at each revision, as APIcast
//     serves it only on its HTTPS port ("For this policy
//     APICAST_HTTPS_PORT variable need to be defined"): a composition
//     never turns the agent's plain-HTTP listener into a TLS one.
//   - Validity times are not checked, as APIcast does not: an expired
//     certificate is served, and clients refuse it.
type tlsTermination struct {
	certs []ServedCertificate
}

type tlsTerminationConfig struct {
	Certificates []tlsCertificateConfig `json:"certificates"`
}

type tlsCertificateConfig struct {
	CertificatePath    string `json:"certificate_path"`
	CertificateKeyPath string `json:"certificate_key_path"`
	Certificate        string `json:"certificate"`
	CertificateKey     string `json:"certificate_key"`
}

func newTLSTermination(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg tlsTerminationConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &tlsTermination{}
	for i, e := range cfg.Certificates {
		field := fmt.Sprintf("certificates[%d]", i)
		files, embedded, err := e.forms(field)
		if err != nil {
			return nil, err
		}
		if embedded {
			pair, err := embeddedPair(e.Certificate, e.CertificateKey)
			if err == nil {
				p.certs = append(p.certs, ServedCertificate{Field: field, Pair: pair})
				continue
			}
			// The error names what failed, never the key's bytes.
			env.Log.Error().Err(err).Str("policy", "tls").Str("service", env.ServiceSystemName).Str("field", field).
				Msg("the embedded certificate does not load: skipped")
		}
		if files {
			p.certs = append(p.certs, ServedCertificate{Field: field, CertFile: e.CertificatePath, KeyFile: e.CertificateKeyPath})
		}
	}
	if len(p.certs) == 0 {
		env.Log.Warn().Str("policy", "tls").Str("service", env.ServiceSystemName).
			Msg("no valid certificate: the gateway's own is served")
	}
	return p, nil
}

// forms tells which pairs the entry gives: files, embedded, or both; an
// entry with neither complete, or with a relative path, is refused.
func (e tlsCertificateConfig) forms(field string) (files, embedded bool, err error) {
	files = e.CertificatePath != "" && e.CertificateKeyPath != ""
	embedded = e.Certificate != "" && e.CertificateKey != ""
	switch {
	case e.CertificatePath != "" && e.CertificateKeyPath == "":
		return false, false, Invalid(field+".certificate_key_path", "is required with certificate_path: the path of the certificate's private key (PEM) on the agent")
	case e.CertificateKeyPath != "" && e.CertificatePath == "":
		return false, false, Invalid(field+".certificate_path", "is required with certificate_key_path: the path of the certificate (PEM) on the agent")
	case e.Certificate != "" && e.CertificateKey == "":
		return false, false, Invalid(field+".certificate_key", "is required with certificate: the certificate's private key, PEM")
	case e.CertificateKey != "" && e.Certificate == "":
		return false, false, Invalid(field+".certificate", "is required with certificate_key: the certificate, PEM")
	case !files && !embedded:
		return false, false, Invalid(field, "needs certificate_path and certificate_key_path, or certificate and certificate_key")
	}
	for _, f := range []struct{ name, path string }{{"certificate_path", e.CertificatePath}, {"certificate_key_path", e.CertificateKeyPath}} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			return false, false, Invalid(field+"."+f.name, "must be an absolute path on the agent, not %q", f.path)
		}
	}
	return files, embedded, nil
}

// embeddedPair parses an embedded certificate and key, each a data: URL or
// plain PEM.
func embeddedPair(cert, key string) (*tls.Certificate, error) {
	certPEM, err := embeddedPEM(cert)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	keyPEM, err := embeddedPEM(key)
	if err != nil {
		return nil, fmt.Errorf("certificate_key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate with certificate_key: %w (the certificate chain and its own private key, both PEM)", err)
	}
	return &pair, nil
}

// embeddedPEM is s's PEM: s itself, or what its data: URL holds.
func embeddedPEM(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "data:") {
		return []byte(s), nil
	}
	if !strings.Contains(s, ",") {
		return nil, errors.New("a data: URL without its data (no comma)")
	}
	return dataURL(s)
}

func (p *tlsTermination) Name() string { return "tls" }

// ServedCertificates is what the gateway serves for the service's
// handshakes, in the configuration's order.
func (p *tlsTermination) ServedCertificates() []ServedCertificate { return p.certs }
