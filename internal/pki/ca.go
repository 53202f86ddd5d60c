package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Lifetimes and defaults.
const (
	// CALifetime is how long an authority made here is valid. Renewing it
	// means new join tokens everywhere, so it is long.
	CALifetime = 10 * 365 * 24 * time.Hour
	// DefaultLeafLifetime is the lifetime of a certificate issued with
	// Leaf.Lifetime zero.
	DefaultLeafLifetime = 365 * 24 * time.Hour
	// DefaultCAName is the common name of an authority made with no name.
	DefaultCAName = "Portolan CA"
	// backdate is subtracted from every NotBefore, so that a node whose
	// clock is a little behind home's accepts a certificate just issued.
	backdate = time.Hour
)

// Authority is a certificate authority: its certificate, and the key that
// signs what it issues.
type Authority struct {
	// Cert is the authority's certificate, the one Pin hashes.
	Cert *x509.Certificate
	// chain is Cert's DER followed by any further certificates of the
	// file it was loaded from (an intermediate authority's parents).
	chain [][]byte
	key   crypto.Signer
}

// NewAuthority makes a self-signed authority valid for CALifetime from now:
// an ECDSA P-256 key and a certificate whose subject is name (DefaultCAName
// when empty), allowed to sign end-entity certificates only.
func NewAuthority(name string, now time.Time) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	return authorityOf(name, key, now)
}

// authorityOf makes a self-signed CA certificate for key, named name
// (DefaultCAName when empty).
func authorityOf(name string, key crypto.Signer, now time.Time) (*Authority, error) {
	if name == "" {
		name = DefaultCAName
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs leaves, never another authority
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &Authority{Cert: cert, chain: [][]byte{der}, key: key}, nil
}

// LoadOrCreateAuthority loads the authority kept in dir (CACertFile and
// CAKeyFile), or makes one with NewAuthority and keeps it there: dir is
// created 0700, the key written 0600 before the certificate, each file
// atomically.
//
// A key without its certificate (ca.pem removed by hand; a crash during
// the first start leaves none, or none that parses, replaced) gets a new
// certificate for that key: the pin
// hashes the key, so the pin in every join token stays good, and so do the
// certificates the key signed. A certificate without its key is an error:
// its pin may be in every join token, and only the operator can say what
// to do.
func LoadOrCreateAuthority(dir, name string, now time.Time) (*Authority, error) {
	certFile := filepath.Join(dir, CACertFile)
	keyFile := filepath.Join(dir, CAKeyFile)
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	haveCert, err := exists(certFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if haveCert {
		return LoadAuthority(certFile, keyFile)
	}
	a, err := authorityOfKeyFile(keyFile, name, now)
	if err != nil {
		return nil, err
	}
	if err := a.WriteFiles(certFile, keyFile); err != nil {
		return nil, err
	}
	return a, nil
}

// authorityOfKeyFile is a new authority for the key in keyFile, or with a
// new key when there is no such file, or none that parses: such a key
// never signed a certificate, so no pin of it was handed out.
func authorityOfKeyFile(keyFile, name string, now time.Time) (*Authority, error) {
	keyPEM, err := readPEMFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return NewAuthority(name, now)
	}
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return NewAuthority(name, now)
	}
	return authorityOf(name, key, now)
}

// LoadAuthority loads an authority from a PEM certificate file and a PEM
// key file (PKCS#8, SEC 1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY", as
// openssl, consul tls and this package write them). The first certificate
// of certFile is the authority; any after it are sent along in the chains
// it issues. The key must be the certificate's, and the certificate a CA's.
func LoadAuthority(certFile, keyFile string) (*Authority, error) {
	certPEM, err := readPEMFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	keyPEM, err := readPEMFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	chain, cert, err := parseCertChain(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", certFile, err)
	}
	if err := checkAuthorityCert(cert); err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", certFile, err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key %s: %w", keyFile, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("CA key %s does not match the certificate %s", keyFile, certFile)
	}
	return &Authority{Cert: cert, chain: chain, key: key}, nil
}

// WriteFiles writes the authority's certificate chain to certFile and its
// key to keyFile (PKCS#8), both 0600, each atomically, the key first. The
// directories must exist.
func (a *Authority) WriteFiles(certFile, keyFile string) error {
	keyPEM, err := a.KeyPEM()
	if err != nil {
		return err
	}
	if err := writeAtomic(keyFile, keyPEM, keyMode); err != nil {
		return err
	}
	return writeAtomic(certFile, a.CertPEM(), certMode)
}

// CertPEM is the authority's certificate (and any parents it was loaded
// with) in PEM: what --ca-file takes.
func (a *Authority) CertPEM() []byte {
	var b []byte
	for _, der := range a.chain {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return b
}

// KeyPEM is the authority's private key, PKCS#8 in PEM.
func (a *Authority) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Pin is the pin of the authority's certificate: what join tokens carry.
func (a *Authority) Pin() Pin { return PinOf(a.Cert) }

// Role says what an issued certificate is for.
type Role int

// Roles of issued certificates.
const (
	// RoleServer certificates authenticate a server (ExtKeyUsageServerAuth):
	// the coordinator, or anything agents phone.
	RoleServer Role = iota + 1
	// RoleClient certificates authenticate a client (ExtKeyUsageClientAuth):
	// an agent, under --tls-client-ca.
	RoleClient
)

// String is "server" or "client".
func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	case RoleClient:
		return "client"
	default:
		return fmt.Sprintf("Role(%d)", int(r))
	}
}

func (r Role) extKeyUsage() (x509.ExtKeyUsage, error) {
	switch r {
	case RoleServer:
		return x509.ExtKeyUsageServerAuth, nil
	case RoleClient:
		return x509.ExtKeyUsageClientAuth, nil
	default:
		return 0, fmt.Errorf("unknown certificate role %d", int(r))
	}
}

// Leaf describes a certificate to issue.
type Leaf struct {
	Role       Role
	CommonName string // the first DNS name, or the role, when empty
	DNSNames   []string
	IPs        []net.IP
	// Lifetime is how long the certificate is valid from now: at most the
	// authority's own remaining life, DefaultLeafLifetime when zero.
	Lifetime time.Duration
}

// Issue signs a new certificate for l valid from now, with a new ECDSA
// P-256 key. It returns the chain, the new certificate first and then the
// authority's, and the key (PKCS#8), both in PEM: what tls.X509KeyPair and
// --tls-cert/--tls-key take. A server must present the whole chain: a
// pinning client finds the authority in it.
func (a *Authority) Issue(l Leaf, now time.Time) (chainPEM, keyPEM []byte, err error) {
	tmpl, err := a.leafTemplate(l, now)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", l.Role, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, key.Public(), a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %s certificate: %w", l.Role, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal %s key: %w", l.Role, err)
	}
	chainPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chainPEM = append(chainPEM, a.CertPEM()...)
	return chainPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func (a *Authority) leafTemplate(l Leaf, now time.Time) (*x509.Certificate, error) {
	eku, err := l.Role.extKeyUsage()
	if err != nil {
		return nil, err
	}
	if l.Lifetime < 0 {
		return nil, fmt.Errorf("%s certificate: negative lifetime %s", l.Role, l.Lifetime)
	}
	if l.Lifetime == 0 {
		l.Lifetime = DefaultLeafLifetime
	}
	for _, n := range l.DNSNames {
		if err := checkDNSName(n); err != nil {
			return nil, fmt.Errorf("%s certificate: %w", l.Role, err)
		}
	}
	for _, ip := range l.IPs {
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			return nil, fmt.Errorf("%s certificate: invalid IP address %v", l.Role, ip)
		}
	}
	if !now.Before(a.Cert.NotAfter) {
		return nil, fmt.Errorf("CA %q expired on %s", a.Cert.Subject.CommonName, a.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	notAfter := now.Add(l.Lifetime)
	if notAfter.After(a.Cert.NotAfter) {
		notAfter = a.Cert.NotAfter
	}
	cn := l.CommonName
	if cn == "" && len(l.DNSNames) > 0 {
		cn = l.DNSNames[0]
	}
	if cn == "" {
		cn = "portolan " + l.Role.String()
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              l.DNSNames,
		IPAddresses:           l.IPs,
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{eku},
		BasicConstraintsValid: true,
	}, nil
}

// checkDNSName accepts what may go in a certificate's DNS names: printable
// ASCII without spaces (a leading "*." for a wildcard included).
func checkDNSName(n string) error {
	if n == "" || len(n) > 253 {
		return fmt.Errorf("invalid DNS name %q", n)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("invalid DNS name %q", n)
		}
	}
	return nil
}

// randomSerial is a random positive 128-bit serial number (RFC 5280 allows
// up to 20 octets; 128 random bits make collisions and guessing moot).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// parseCertChain parses every CERTIFICATE block of data; the first is the
// one returned. Blocks of other types are an error: a key pasted into a
// certificate file is a mistake worth saying.
func parseCertChain(data []byte) ([][]byte, *x509.Certificate, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, nil, err
	}
	var chain [][]byte
	var first *x509.Certificate
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("PEM block %d is %q, not a CERTIFICATE", i+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		if first == nil {
			first = c
		}
		chain = append(chain, b.Bytes)
	}
	return chain, first, nil
}

// checkAuthorityCert refuses a certificate that may not sign others.
func checkAuthorityCert(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return errors.New("not a CA certificate (basic constraints CA:TRUE missing)")
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("CA certificate without the certificate-signing key usage")
	}
	return nil
}

// parsePrivateKey parses the first private key block of data. Blocks that
// are not keys (openssl's "EC PARAMETERS") are skipped.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		var k any
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			return nil, fmt.Errorf("unsupported key type %q (encrypted keys are not supported)", b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", b.Type, err)
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			return k, nil
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("unsupported private key %T", k)
		}
	}
	return nil, errors.New("no PRIVATE KEY block found")
}

// publicKeysEqual compares two public keys of any standard type.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
