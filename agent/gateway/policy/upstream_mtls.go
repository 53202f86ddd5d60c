package policy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// upstreamMTLS is APIcast's upstream_mtls ("Upstream Mutual TLS"): "With
// this policy a new TLS connection with the upstream API will be used with
// the certificates set in the config". Its README: "connection to the
// upstream API will use the certificates defined in this policy", read from
// files ("Using certificates Path, both for Openshift and Kubernetes
// secrets", certificate_type and certificate_key_type "path", the default)
// or embedded as data: URLs ("embedded"), and "This policy will overwrite
// APICAST_PROXY_HTTPS_CERTIFICATE_KEY and APICAST_PROXY_HTTPS_CERTIFICATE
// values": here, the agent's --upstream-client-cert and
// --upstream-client-key. ca_certificates ("PEM formatted certificate",
// one a line as the admin portal saves them, or on one line: APIcast's
// normalization gives them their line breaks back) are what the upstream's
// certificate is verified against, instead of --upstream-ca-file (or the
// system's CAs); verify is "Verify upstream connection".
//
// The policy sets the request's Context.Transport; the gateway then opens
// TLS sessions with the upstream (the service's, a policy's choice, a
// peer's app) with those settings, and keeps those connections apart from
// the ones of requests without the policy. A plain http upstream is
// reached as without it.
//
// Differences from APIcast:
//   - Verification is on unless verify is false: APIcast verifies only with
//     verify true (nginx's proxy_ssl_verify is off by default), Portolan
//     verifies every https upstream (DESIGN: Trust). verify false is an
//     explicit choice, logged when the chain is built.
//   - What APIcast would log and go on without is refused when the chain
//     is built, naming the field, so that the service fails closed (503
//     naming the policy) rather than reach its upstream without the
//     certificate it was given: a certificate without its key (or the
//     reverse), a file that cannot be read or is not a regular file (a
//     FIFO would hold the agent up), a data: URL or PEM that does not
//     parse, a key that is not the certificate's, a ca_certificates entry
//     without a certificate. Home, which checks a chain when it is saved,
//     does not hold the agents' files: it checks all but what the paths
//     hold, as APIcast's admin portal saves any path.
//   - Every certificate of a ca_certificates entry is trusted (APIcast
//     takes the first).
//   - Files are read when the chain is built (each composition revision),
//     as APIcast reads them when its configuration loads; the agent's own
//     --upstream-client-cert is reloaded when its files change.
//
// Neither the key nor the data: URLs are ever logged; errors name the field
// and, for a path, the file.
type upstreamMTLS struct {
	tr *Transport
}

type upstreamMTLSConfig struct {
	CertificateType    string   `json:"certificate_type"`
	Certificate        *string  `json:"certificate"`
	CertificateKeyType string   `json:"certificate_key_type"`
	CertificateKey     *string  `json:"certificate_key"`
	CACertificates     []string `json:"ca_certificates"`
	Verify             *bool    `json:"verify"`
}

func newUpstreamMTLS(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg upstreamMTLSConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	// Home's check of a saved chain: the files are on the agents, not
	// there (as token_introspection's key file).
	home := env == nil || env.Saving
	certPEM, certRead, err := pemSource("certificate", "certificate_type", cfg.CertificateType, cfg.Certificate, home)
	if err != nil {
		return nil, err
	}
	keyPEM, keyRead, err := pemSource("certificate_key", "certificate_key_type", cfg.CertificateKeyType, cfg.CertificateKey, home)
	if err != nil {
		return nil, err
	}
	hasCert, hasKey := given(cfg.Certificate), given(cfg.CertificateKey)
	switch {
	case hasCert && !hasKey:
		return nil, Invalid("certificate_key", "is required with certificate: the certificate's private key (PEM), a path or a data: URL")
	case hasKey && !hasCert:
		return nil, Invalid("certificate", "is required with certificate_key: the client certificate (PEM) the key belongs to")
	}
	t := &UpstreamTLS{Insecure: cfg.Verify != nil && !*cfg.Verify}
	if certRead {
		if err := hasPEMCertificate(certPEM); err != nil {
			return nil, Invalid("certificate", "%v", err)
		}
	}
	if certRead && keyRead {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, Invalid("certificate_key", "is not a PEM private key of certificate (%v)", err)
		}
		t.Certificate = &pair
	}
	if len(cfg.CACertificates) > 0 {
		pool := x509.NewCertPool()
		for i, entry := range cfg.CACertificates {
			if !pool.AppendCertsFromPEM([]byte(normalizePEM(entry))) {
				return nil, Invalid(fmt.Sprintf("ca_certificates[%d]", i), "holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\" ... \"-----END CERTIFICATE-----\")")
			}
		}
		t.RootCAs = pool
	}
	if t.Insecure && env != nil && !home {
		env.Log.Warn().Str("policy", "upstream_mtls").Str("service", env.ServiceSystemName).Bool("ca_certificates", t.RootCAs != nil).
			Msg("verify is false: the upstream's certificate is not verified, so whoever is on the way can pose as the upstream and read what the gateway sends it")
	}
	key := transportKey("upstream_mtls", conf, certPEM, keyPEM)
	return &upstreamMTLS{tr: sharedTransport(env, key, &Transport{TLS: t})}, nil
}

func (p *upstreamMTLS) Name() string { return "upstream_mtls" }

// Access sets the upstream's TLS session for the request, in the access
// phase as APIcast's, which nothing but an answer skips (echo's exit:
// phase skips the rest of the rewrite phase).
func (p *upstreamMTLS) Access(c *Context) { c.Transport = p.tr.Over(c.Transport) }

// given reports whether an optional string field holds something.
func given(s *string) bool { return s != nil && strings.TrimSpace(*s) != "" }

// pemSource reads the PEM of field, by its type field: a file ("path",
// the default) or a data: URL ("embedded"). read is false when there is
// nothing to read: the field is not given, or it is a path and home is
// checking the chain.
func pemSource(field, typeField, typ string, value *string, home bool) (pemBytes []byte, read bool, err error) {
	typ, err = OneOf(typeField, typ, "path", "path", "embedded")
	if err != nil {
		return nil, false, err
	}
	if !given(value) {
		return nil, false, nil
	}
	v := strings.TrimSpace(*value)
	if typ == "embedded" {
		if !strings.HasPrefix(v, "data:") {
			return nil, false, Invalid(field, "must be a data: URL with %s embedded, such as data:application/x-pem-file;base64,<the PEM in base64>", typeField)
		}
		b, err := dataURL(v)
		if err != nil {
			return nil, false, Invalid(field, "%v", err)
		}
		return b, true, nil
	}
	if home {
		return nil, false, nil
	}
	// Non-blocking, and looked at once open: a FIFO's open would wait for
	// a writer, and the chain is built in the agent's update loop.
	f, err := os.OpenFile(v, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false, Invalid(field, "cannot read %s: %v: check the path and that the agent may read it", v, unwrapPathError(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, false, Invalid(field, "%s is not a regular file (a FIFO, a device or a directory): give the path of a PEM file", v)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCertificateBytes+1))
	if err != nil {
		return nil, false, Invalid(field, "cannot read %s: %v", v, unwrapPathError(err))
	}
	if len(b) > maxCertificateBytes {
		return nil, false, Invalid(field, "%s is over %d bytes: not a PEM certificate or key", v, maxCertificateBytes)
	}
	return b, true, nil
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// hasPEMCertificate checks that b holds a PEM certificate that parses.
func hasPEMCertificate(b []byte) error {
	for {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			return fmt.Errorf("holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("its certificate does not parse: %v", err)
		}
		return nil
	}
}
