package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
)

// compositionDomain starts every signed composition message, so that a
// signature made here can never be taken for one over anything else the
// same key might sign one day.
const compositionDomain = "portolan-composition-v1"

// ErrBadSignature is returned (wrapped) by VerifyComposition for a missing,
// malformed or wrong signature.
var ErrBadSignature = errors.New("bad composition signature")

// sigEncoding encodes signatures and public keys: base64url without
// padding, strict, so each value has exactly one text form.
var sigEncoding = base64.RawURLEncoding.Strict()

// LoadOrCreateSigningKey loads the composition signing key kept in dir
// (SigningKeyFile, an Ed25519 key in PKCS#8 PEM), or generates one and
// writes it there 0600, atomically; dir is created 0700. A file that holds
// anything but an Ed25519 key is an error naming it.
func LoadOrCreateSigningKey(dir string) (ed25519.PrivateKey, error) {
	file := filepath.Join(dir, SigningKeyFile)
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	ok, err := exists(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if ok {
		return loadSigningKey(file)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal signing key: %w", err)
	}
	if err := writeAtomic(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), keyMode); err != nil {
		return nil, err
	}
	return key, nil
}

func loadSigningKey(file string) (ed25519.PrivateKey, error) {
	data, err := readPEMFile(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := parseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", file, err)
	}
	return k, nil
}

func parseSigningKey(data []byte) (ed25519.PrivateKey, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	b := blocks[0]
	if b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", b.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return ek, nil
}

// compositionMessage is what is signed for a revision:
//
//	"portolan-composition-v1" ‖ revision (8 bytes, big-endian)
//	‖ len(scope) (8 bytes, big-endian) ‖ scope ‖ SHA-256(body)
//
// The revision is signed so that an old, validly signed body cannot be
// replayed under a higher revision; the scope (whom the body is for: an
// agent's placement, say) so that one agent's body cannot be passed off as
// another's; its length so that no scope/body split is ambiguous. The body
// is hashed first, so the message is small whatever the composition's size.
func compositionMessage(revision uint64, scope string, body []byte) []byte {
	sum := sha256.Sum256(body)
	m := make([]byte, 0, len(compositionDomain)+8+8+len(scope)+len(sum))
	m = append(m, compositionDomain...)
	m = binary.BigEndian.AppendUint64(m, revision)
	m = binary.BigEndian.AppendUint64(m, uint64(len(scope)))
	m = append(m, scope...)
	return append(m, sum[:]...)
}

// SignComposition signs body published as revision for scope, and returns
// the signature in base64url (unpadded). key must be a valid Ed25519
// private key, as LoadOrCreateSigningKey returns; ed25519.Sign panics on a
// key of the wrong length.
func SignComposition(key ed25519.PrivateKey, revision uint64, scope string, body []byte) string {
	return sigEncoding.EncodeToString(ed25519.Sign(key, compositionMessage(revision, scope, body)))
}

// VerifyComposition checks sig, as SignComposition makes it, over body
// published as revision for scope. It returns nil only for a signature by
// pub's key over exactly these three; otherwise an error wrapping
// ErrBadSignature (a missing signature included), or saying that pub is not
// an Ed25519 public key.
func VerifyComposition(pub ed25519.PublicKey, revision uint64, scope string, body []byte, sig string) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("composition public key: %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if sig == "" {
		return fmt.Errorf("%w: revision %d has no signature", ErrBadSignature, revision)
	}
	if len(sig) != sigEncoding.EncodedLen(ed25519.SignatureSize) {
		return fmt.Errorf("%w: revision %d: signature of %d characters, want %d", ErrBadSignature, revision, len(sig), sigEncoding.EncodedLen(ed25519.SignatureSize))
	}
	raw, err := sigEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: revision %d: signature is not base64url", ErrBadSignature, revision)
	}
	if !ed25519.Verify(pub, compositionMessage(revision, scope, body), raw) {
		return fmt.Errorf("%w: revision %d does not verify with the composition key", ErrBadSignature, revision)
	}
	return nil
}

// EncodePublicKey is pub in base64url (unpadded): how home hands agents
// the public half of its signing key.
func EncodePublicKey(pub ed25519.PublicKey) string { return sigEncoding.EncodeToString(pub) }

// ParsePublicKey parses what EncodePublicKey returns.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	if len(s) != sigEncoding.EncodedLen(ed25519.PublicKeySize) {
		return nil, fmt.Errorf("composition public key: %d characters, want %d", len(s), sigEncoding.EncodedLen(ed25519.PublicKeySize))
	}
	b, err := sigEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("composition public key: not base64url: %w", err)
	}
	return ed25519.PublicKey(b), nil
}
