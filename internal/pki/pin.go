package pki

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pin identifies an authority by the SHA-256 of its certificate's
// SubjectPublicKeyInfo, as kubeadm's --discovery-token-ca-cert-hash does.
// Its text form is "sha256:" and 64 lowercase hex digits. It names the key,
// not the certificate: an authority re-signed with the same key keeps its
// pin, and one with the same subject and another key does not.
type Pin [sha256.Size]byte

// PinPrefix starts the text form of every Pin.
const PinPrefix = "sha256:"

// ErrPinMismatch is returned (wrapped) when no certificate a server
// presents has the pinned public key.
var ErrPinMismatch = errors.New("no certificate presented by the server matches the pinned CA")

// PinOf is the pin of cert's public key.
func PinOf(cert *x509.Certificate) Pin {
	return sha256.Sum256(cert.RawSubjectPublicKeyInfo)
}

// ParsePin parses "sha256:<64 hex digits>" (hex in either case).
func ParsePin(s string) (Pin, error) {
	var p Pin
	algo, digest, ok := strings.Cut(s, ":")
	if !ok {
		return p, fmt.Errorf("CA pin %s: want %s followed by 64 hex digits", quoteShort(s), PinPrefix)
	}
	if algo != strings.TrimSuffix(PinPrefix, ":") {
		return p, fmt.Errorf("CA pin: unsupported hash %s, want %s", quoteShort(algo), PinPrefix)
	}
	if len(digest) != hex.EncodedLen(len(p)) {
		return p, fmt.Errorf("CA pin %s: %d hex digits, want %d", quoteShort(s), len(digest), hex.EncodedLen(len(p)))
	}
	if _, err := hex.Decode(p[:], []byte(digest)); err != nil {
		return Pin{}, fmt.Errorf("CA pin %s: not hex: %w", quoteShort(s), err)
	}
	if p.IsZero() {
		// The zero Pin means "no pin" to whoever holds one: given, it
		// would turn pinning off, not make it fail.
		return Pin{}, fmt.Errorf("CA pin %s: all zeros, which no key has: give the ca_pin the coordinator logs", quoteShort(s))
	}
	return p, nil
}

// String is "sha256:" and the digest in lowercase hex.
func (p Pin) String() string { return PinPrefix + hex.EncodeToString(p[:]) }

// IsZero tells whether p is the zero Pin, which no key has.
func (p Pin) IsZero() bool { return p == Pin{} }

// Matches tells whether cert's public key is the pinned one.
func (p Pin) Matches(cert *x509.Certificate) bool { return PinOf(cert) == p }

// MarshalText is String, for JSON and flags.
func (p Pin) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText is ParsePin.
func (p *Pin) UnmarshalText(b []byte) error {
	q, err := ParsePin(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// PinnedClientConfig is the TLS configuration of a client that trusts
// exactly the authority whose pin it holds, as a kubeadm node does with the
// CA hash of its join token: no CA file, no system roots. The server must
// present its chain (Authority.Issue returns one); the handshake succeeds
// when a certificate of that chain has the pinned key, the server's
// certificate chains up to it, carries the server-authentication usage and
// is valid now. The host name is not checked: the pin is the identity, and
// a coordinator reached by an address its certificate does not name (a NAT,
// a container network) is still the one the pin designates.
func PinnedClientConfig(pin Pin) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard verification needs roots and a host name; the pin
		// replaces both, and VerifyConnection does the rest. It runs on
		// every handshake, resumed ones included.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return VerifyPinned(pin, cs.PeerCertificates, time.Now())
		},
	}
}

// VerifyPinned is PinnedClientConfig's check of the certificates a server
// presented (its own first), at time now. Certificates after the first
// whose key has the pin are the roots; the others serve as intermediates.
// It returns an error wrapping ErrPinMismatch when none has the pin.
func VerifyPinned(pin Pin, certs []*x509.Certificate, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("server presented no certificate")
	}
	leaf := certs[0]
	roots := x509.NewCertPool()
	inter := x509.NewCertPool()
	var others []string
	found := false
	for _, c := range certs[1:] {
		if p := PinOf(c); p == pin {
			roots.AddCert(c)
			found = true
		} else {
			inter.AddCert(c)
			others = append(others, p.String())
		}
	}
	if !found {
		if len(others) == 0 {
			return fmt.Errorf("%w %s: the server sent its certificate without its CA", ErrPinMismatch, pin)
		}
		return fmt.Errorf("%w %s: the server's chain has %s", ErrPinMismatch, pin, strings.Join(others, ", "))
	}
	if leaf.IsCA {
		return fmt.Errorf("server certificate %q is a CA certificate", leaf.Subject.CommonName)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return fmt.Errorf("server certificate %q is not for server authentication (extended key usage serverAuth missing)", leaf.Subject.CommonName)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("server certificate %q against the pinned CA %s: %w", leaf.Subject.CommonName, pin, err)
	}
	return nil
}

// CAPoolClientConfig is the TLS configuration of a client that trusts the
// authorities of caFile (--ca-file: a CA of your own) and checks the host
// name as usual.
func CAPoolClientConfig(caFile string) (*tls.Config, error) {
	pool, err := LoadCertPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// LoadCertPool reads the PEM certificates of file into a pool: the roots
// of --ca-file, or the client authorities of --tls-client-ca. A file
// without a certificate, or with one that does not parse, is an error
// naming it.
func LoadCertPool(file string) (*x509.CertPool, error) {
	data, err := readPEMFile(file)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA file %s: certificate %d: %w", file, i+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("CA file %s: no CERTIFICATE block", file)
	}
	return pool, nil
}

// quoteShort quotes s for an error, cut to a length a log line can bear
// (a byte that is not UTF-8 takes four characters quoted).
func quoteShort(s string) string {
	const limit = 80
	q := strconv.Quote(s)
	if len(q) > limit {
		return q[:limit-3] + "..."
	}
	return q
}
