package gateway

import (
	"crypto/tls"
	"errors"

	"github.com/portolan/portolan/internal/certreload"
)

// The roles of the pairs the gateway reloads (internal/certreload): the
// flags' (or the tls policy's fields') names in errors, and the logs'.
var (
	servedCert = certreload.Role{CertFlag: "--gateway-tls-cert", KeyFlag: "--gateway-tls-key",
		Name: "TLS certificate", Reader: "the agent", LogPrefix: "gateway: "}
	upstreamClientCert = certreload.Role{CertFlag: "--upstream-client-cert", KeyFlag: "--upstream-client-key",
		Name: "upstream client certificate", Reader: "the agent", LogPrefix: "gateway: "}
	upstreamCAs = certreload.Role{CertFlag: "--upstream-ca-file", Name: "upstream CAs", Reader: "the agent", LogPrefix: "gateway: "}
)

// policyCertRole is the role of the tls policy's pair at field
// ("certificates[0]") of service's chain: read from regular files only,
// since whoever writes the composition chooses the paths, and a FIFO or a
// device would hold up handshakes.
func policyCertRole(service, field string) certreload.Role {
	return certreload.Role{CertFlag: field + ".certificate_path", KeyFlag: field + ".certificate_key_path",
		Name: "tls policy certificate " + field + " of service " + service, Reader: "the agent", LogPrefix: "gateway: ",
		Fallback: "the next certificate, or the gateway's own, is served", RegularOnly: true}
}

// TLS is how the gateway speaks TLS: to its clients, with a certificate it
// reloads when its files change and HTTP/2 negotiated by ALPN; and to
// https upstreams, with the CAs it trusts and the client certificate it
// presents. Its zero value is plain HTTP/1.1 to clients and the system's
// CAs for https upstreams.
type TLS struct {
	CertFile string // the gateway's certificate chain, PEM (leaf first); with KeyFile, clients get TLS
	KeyFile  string // CertFile's private key, PEM
	H2C      bool   // without TLS, also serve HTTP/2 in clear (prior knowledge and Upgrade: h2c)

	UpstreamCAFile   string // PEM CAs that sign https upstreams' certificates; empty: the system's
	UpstreamCertFile string // client certificate for upstreams that require one (mutual TLS), PEM
	UpstreamKeyFile  string // UpstreamCertFile's private key, PEM

	certs         *certreload.Reloader // the served certificate, loaded by check
	upstreamCerts *certreload.Reloader // the client certificate for upstreams, loaded by check
	trust         *upstreamTrust       // how upstreams' certificates are verified, set by check
	upstream      *tls.Config          // for https upstreams, built by check
}

// check validates t and loads its files: what it names must exist, parse
// and go together, so that a mistake stops the agent at start rather than
// failing handshakes later.
func (t *TLS) check() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			return errors.New("--gateway-tls-key is given without --gateway-tls-cert: give the certificate (PEM) the key belongs to, or neither")
		}
		return errors.New("--gateway-tls-cert is given without --gateway-tls-key: give the certificate's private key (PEM), or neither")
	}
	if t.CertFile != "" && t.H2C {
		return errors.New("--gateway-h2c serves HTTP/2 without TLS, but --gateway-tls-cert turns TLS on (HTTP/2 is then negotiated by ALPN): drop one of them")
	}
	if t.CertFile != "" {
		r, err := certreload.New(t.CertFile, t.KeyFile, servedCert)
		if err != nil {
			return err
		}
		t.certs = r
	}
	up, err := t.upstreamConfig()
	if err != nil {
		return err
	}
	t.upstream = up
	return nil
}

// upstreamConfig is the TLS configuration of connections to https
// upstreams: TLS 1.2 at least, host names verified against the CAs of
// UpstreamCAFile (the system's when empty), and the client certificate
// when one is given; both are read again when their files change, as the
// served certificate is (upstreamTrust).
func (t *TLS) upstreamConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	trust := &upstreamTrust{}
	if t.UpstreamCAFile != "" {
		pool, err := certreload.NewPool(t.UpstreamCAFile, upstreamCAs)
		if err != nil {
			return nil, err
		}
		trust.cas = pool
	}
	trust.apply(cfg, trust.roots())
	t.trust = trust
	if (t.UpstreamCertFile == "") != (t.UpstreamKeyFile == "") {
		return nil, errors.New("a client certificate for upstreams needs both --upstream-client-cert and --upstream-client-key")
	}
	if t.UpstreamCertFile != "" {
		r, err := certreload.New(t.UpstreamCertFile, t.UpstreamKeyFile, upstreamClientCert)
		if err != nil {
			return nil, err
		}
		t.upstreamCerts = r
		cfg.GetClientCertificate = r.GetClientCertificate
	}
	return cfg, nil
}

// serverTLS is a configuration the gateway terminates TLS with: TLS 1.2
// at least (with forward-secret AEAD suites only, which HTTP/2 requires),
// the certificate getCert chooses, and HTTP/2 preferred by ALPN. auth is
// whether the client is asked for a certificate: handshake.go chooses,
// per handshake, between two such configurations. A certificate asked for
// is required of no client, and none is verified against a CA in the
// handshake (only its key is proved): the service's policy chain decides
// (tls_validation, oauth_mtls, fapi).
func serverTLS(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), auth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCert,
		ClientAuth:     auth,
		NextProtos:     []string{"h2", "http/1.1"},
		CipherSuites: []uint16{ // TLS 1.2 only; TLS 1.3's are not configurable
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// upstreamTLS is the TLS configuration for https upstreams: Check's, or,
// for a Config that was not checked, loaded here; one that does not load
// fails every handshake, saying why, rather than trust the system's CAs
// instead of the ones asked for.
func (g *Gateway) upstreamTLS() *tls.Config {
	t := &g.cfg.TLS
	if t.upstream == nil {
		cfg, err := t.upstreamConfig()
		if err != nil {
			g.log.Error().Err(err).Msg("gateway: https upstreams will fail")
			t.trust = &upstreamTrust{err: err}
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
			t.trust.apply(cfg, nil)
			return cfg
		}
		t.upstream = cfg
	}
	if r := t.upstreamCerts; r != nil {
		r.SetLog(g.log)
	}
	if p := t.trust.cas; p != nil {
		p.SetLog(g.log)
	}
	return t.upstream.Clone()
}
