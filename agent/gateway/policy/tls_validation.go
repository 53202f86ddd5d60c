package policy

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// tlsValidation is APIcast's tls_validation ("TLS Client Certificate
// Validation"): "Validate certificates provided by the client during TLS
// handshake (HTTPS)" against a whitelist of "PEM formatted CA or Client
// certificates" and, with revocation_check_type "crl", a revoke_list of
// PEM CRLs.
//
// In the access phase, as APIcast's, the certificate the client presented
// in the handshake is verified against the whitelist alone: the
// intermediates the client sent are not used (APIcast verifies
// ssl_client_raw_cert, the leaf, with an empty untrusted chain). With
// allow_partial_chain (default true: "It is not necessary to have the full
// certificate chain, just partial matches are allowed") any whitelisted
// certificate is a trust anchor, the leaf itself too, as OpenSSL's
// X509_V_FLAG_PARTIAL_CHAIN; with false the chain must end at a
// whitelisted self-signed certificate, the others serving as intermediates.
// No extended key usage is asked for (APIcast's store sets no purpose);
// validity times are checked. With "crl", the leaf only (APIcast's
// check_revocation, OpenSSL's X509_V_FLAG_CRL_CHECK without _ALL) must be
// covered by a current revoke_list CRL of its issuer that does not list its
// serial: a leaf without one is refused, as OpenSSL's "unable to get
// certificate CRL". A request without a certificate (plain HTTP, h2c, or a
// client that offered none) gets "No required TLS certificate was sent", a
// refused one "TLS certificate validation failed", both with error_status
// (400; read by APIcast's Lua though absent from the schema).
//
// Differences: a whitelist or revoke_list entry that is not a PEM
// certificate (CRL) is a configuration error naming it, where APIcast logs
// it and goes on without it, and so is a CRL no whitelisted certificate
// signed (it could never apply); as APIcast, only the first certificate of
// an entry is taken (a warning says so when there are more). "ocsp" is
// refused: the gateway would have to call the certificate's OCSP responder
// during requests, and responders speak plain HTTP, which the agent does
// not send off loopback (DESIGN: HTTPS everywhere off loopback); "crl"
// checks revocation without leaving the gateway. A certificate that does
// not parse fails the handshake (Go's), where APIcast answers "Invalid TLS
// certificate".
// The gateway's TLS handshake asks for a certificate on the connections of
// a service whose chain has this policy (UsesClientCertificate), as
// APIcast with APICAST_HTTPS_VERIFY_CLIENT off, and verifies none itself.
type tlsValidation struct {
	status    int
	whitelist []*x509.Certificate
	roots     *x509.CertPool
	inter     *x509.CertPool
	crl       bool
	crls      []revocationList

	env        *Env
	denied     prometheus.Counter
	warnedCRLs atomic.Bool // a stale CRL is logged once per chain
}

// revocationList is a revoke_list CRL and the whitelisted certificates
// whose key signed it, found once at build.
type revocationList struct {
	list    *x509.RevocationList
	signers []*x509.Certificate
}

type tlsValidationConfig struct {
	Whitelist           []pemEntry `json:"whitelist"`
	AllowPartialChain   *bool      `json:"allow_partial_chain"`
	RevocationCheckType string     `json:"revocation_check_type"`
	RevokeList          []pemEntry `json:"revoke_list"`
	ErrorStatus         *int64     `json:"error_status"`
}

type pemEntry struct {
	PEM *string `json:"pem_certificate"`
}

// The answers, APIcast's ngx.say lines.
var (
	tlsNoCertificate    = []byte("No required TLS certificate was sent\n")
	tlsValidationFailed = []byte("TLS certificate validation failed\n")
)

func newTLSValidation(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg tlsValidationConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &tlsValidation{status: 400, roots: x509.NewCertPool(), inter: x509.NewCertPool(), env: env,
		denied: env.Metrics.Policy.WithLabelValues("tls_validation", "denied")}
	if cfg.ErrorStatus != nil {
		if *cfg.ErrorStatus < 200 || *cfg.ErrorStatus > 599 {
			return nil, Invalid("error_status", "must be a final HTTP status (200 to 599), not %d", *cfg.ErrorStatus)
		}
		p.status = int(*cfg.ErrorStatus)
	}
	partial := cfg.AllowPartialChain == nil || *cfg.AllowPartialChain
	check, err := OneOf("revocation_check_type", cfg.RevocationCheckType, "none", "none", "crl", "ocsp")
	if err != nil {
		return nil, err
	}
	if check == "ocsp" {
		return nil, Invalid("revocation_check_type", `"ocsp" is not run by the gateway: it would call the certificate's OCSP responder `+
			`during requests, and responders speak plain HTTP, which the agent does not send off loopback; `+
			`use "crl" with the CA's revocation list in revoke_list, or "none"`)
	}
	for i, e := range cfg.Whitelist {
		field := fmt.Sprintf("whitelist[%d].pem_certificate", i)
		der, err := firstPEM(field, e.PEM, "CERTIFICATE", env)
		if err != nil {
			return nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, Invalid(field, "not an X.509 certificate: %v", err)
		}
		p.whitelist = append(p.whitelist, cert)
		// Go takes every root as a trust anchor, as OpenSSL's partial chain:
		// without it, only self-signed certificates may end a chain.
		if partial || selfSigned(cert) {
			p.roots.AddCert(cert)
		} else {
			p.inter.AddCert(cert)
		}
	}
	if len(p.whitelist) == 0 {
		env.Log.Warn().Str("policy", "tls_validation").Str("service", env.ServiceSystemName).
			Msg("the whitelist is empty: every client certificate is refused")
	}
	if check != "crl" {
		if len(cfg.RevokeList) > 0 {
			env.Log.Warn().Str("policy", "tls_validation").Str("service", env.ServiceSystemName).
				Msg(`revoke_list is not used: revocation_check_type is not "crl"`)
		}
		return p, nil
	}
	p.crl = true
	for i, e := range cfg.RevokeList {
		field := fmt.Sprintf("revoke_list[%d].pem_certificate", i)
		der, err := firstPEM(field, e.PEM, "X509 CRL", env)
		if err != nil {
			return nil, err
		}
		list, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, Invalid(field, "not an X.509 CRL: %v", err)
		}
		rl := revocationList{list: list}
		for _, w := range p.whitelist {
			if bytes.Equal(w.RawSubject, list.RawIssuer) && list.CheckSignatureFrom(w) == nil {
				rl.signers = append(rl.signers, w)
			}
		}
		if len(rl.signers) == 0 {
			return nil, Invalid(field, "no whitelisted certificate signed this CRL (issuer %q): whitelist its CA, or the CRL cannot be checked", list.Issuer.String())
		}
		p.crls = append(p.crls, rl)
	}
	return p, nil
}

// firstPEM is the first block of type typ in the entry at field, read
// after APIcast's normalization (tls.normalize_pem_cert: a PEM pasted on
// one line gets its line breaks back).
func firstPEM(field string, s *string, typ string, env *Env) ([]byte, error) {
	if s == nil || *s == "" {
		return nil, Invalid(field, "is required: a PEM block \"-----BEGIN %s-----\"", typ)
	}
	var (
		der  []byte
		more int
	)
	rest := []byte(normalizePEM(*s))
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != typ {
			continue
		}
		if der == nil {
			der = b.Bytes
		} else {
			more++
		}
	}
	if der == nil {
		return nil, Invalid(field, "holds no PEM block \"-----BEGIN %s-----\"", typ)
	}
	if more > 0 {
		env.Log.Warn().Str("policy", "tls_validation").Str("field", field).Int("ignored", more).
			Msg("only the first PEM block of an entry is used, as APIcast does: give each its own entry")
	}
	return der, nil
}

// normalizePEM turns each white space not followed by CERTIFICATE, X509
// or CRL into a line break, as APIcast does before parsing.
func normalizePEM(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			rest := s[i+1:]
			if !strings.HasPrefix(rest, "CERTIFICATE") && !strings.HasPrefix(rest, "X509") && !strings.HasPrefix(rest, "CRL") {
				b[i] = '\n'
			}
		}
	}
	return string(b)
}

// selfSigned reports whether c is signed by its own key and names itself
// its issuer: what may end a chain without allow_partial_chain.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func (p *tlsValidation) Name() string { return "tls_validation" }

// UsesClientCertificate: the handshake must ask for the certificate this
// policy checks.
func (p *tlsValidation) UsesClientCertificate() bool { return true }

// Access checks the client's certificate, as APIcast's access phase does.
func (p *tlsValidation) Access(c *Context) {
	if c.R.TLS == nil || len(c.R.TLS.PeerCertificates) == 0 {
		p.refuse(c, tlsNoCertificate, errors.New("no client certificate"))
		return
	}
	if err := p.verify(c.R.TLS.PeerCertificates[0], p.now()); err != nil {
		p.refuse(c, tlsValidationFailed, err)
	}
}

func (p *tlsValidation) refuse(c *Context, body []byte, err error) {
	p.denied.Inc()
	// Any client can cause one: not worth more than debug.
	p.env.Log.Debug().Err(err).Str("policy", "tls_validation").Str("service", p.env.ServiceSystemName).Msg("client certificate refused")
	c.Respond(p.status, "text/plain; charset=utf-8", body)
}

func (p *tlsValidation) now() time.Time {
	if p.env.Now != nil {
		return p.env.Now()
	}
	return time.Now()
}

// verify checks leaf against the whitelist and, with "crl", the revoke
// list.
func (p *tlsValidation) verify(leaf *x509.Certificate, now time.Time) error {
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: p.inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return err
	}
	if !p.crl {
		return nil
	}
	return p.checkRevocation(leaf, chains[0], now)
}

// checkRevocation looks for the CRLs of leaf's issuer, signed by the
// certificate that issued it: the chain's next one, or, when leaf is
// itself whitelisted, a whitelisted certificate that signed it.
func (p *tlsValidation) checkRevocation(leaf *x509.Certificate, chain []*x509.Certificate, now time.Time) error {
	issuedBy := func(w *x509.Certificate) bool {
		if len(chain) > 1 {
			return w.Equal(chain[1])
		}
		return bytes.Equal(w.RawSubject, leaf.RawIssuer) && leaf.CheckSignatureFrom(w) == nil
	}
	found, stale := false, false
	for _, rl := range p.crls {
		if !bytes.Equal(rl.list.RawIssuer, leaf.RawIssuer) || !anyOf(rl.signers, issuedBy) {
			continue
		}
		if now.Before(rl.list.ThisUpdate) || !rl.list.NextUpdate.IsZero() && now.After(rl.list.NextUpdate) {
			stale = true
			continue
		}
		found = true
		for _, e := range rl.list.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
				return errors.New("certificate revoked")
			}
		}
	}
	switch {
	case found:
		return nil
	case stale:
		if p.warnedCRLs.CompareAndSwap(false, true) {
			p.env.Log.Warn().Str("policy", "tls_validation").Str("service", p.env.ServiceSystemName).Str("issuer", leaf.Issuer.String()).
				Msg("the issuer's CRL in revoke_list has expired (or is not valid yet): its certificates are refused until a current one is given")
		}
		return errors.New("CRL has expired or is not yet valid")
	default:
		return errors.New("unable to get certificate CRL")
	}
}

func anyOf(certs []*x509.Certificate, f func(*x509.Certificate) bool) bool {
	for _, c := range certs {
		if f(c) {
			return true
		}
	}
	return false
}
