package jointoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/portolan/portolan/internal/pki"
)

// Prefix starts every join token and names its format's version.
const Prefix = "ptj1"

// Sizes of the parts, and of a whole token.
const (
	idBytes     = 4
	secretBytes = 32
	// IDLen is the length of an id: 8 lowercase hex digits.
	IDLen         = 2 * idBytes
	secretLen     = 43 // base64url, unpadded, of 32 bytes
	pinLen        = 2 * len(pki.Pin{})
	sep           = "."
	lenWithoutPin = len(Prefix) + 1 + IDLen + 1 + secretLen
	// MaxLen is the length of the longest join token, the one with a pin.
	MaxLen = lenWithoutPin + 1 + pinLen
)

// redactedSecret stands for the secret in Redacted.
const redactedSecret = "REDACTED"

// secretEncoding is base64url without padding, strict: every secret has
// exactly one text form, so Parse(s).String() == s.
var secretEncoding = base64.RawURLEncoding.Strict()

// ErrMalformed is wrapped by every error of Parse.
var ErrMalformed = errors.New("malformed join token")

// ParseError says which part of a join token is broken and how. It never
// holds any of the token's text: a token pasted in the wrong place, or a
// plain secret taken for a token, must not end up in a log.
type ParseError struct {
	Part   string // "token", "prefix", "id", "secret" or "pin"
	Reason string
}

func (e *ParseError) Error() string { return ErrMalformed.Error() + ": " + e.Part + ": " + e.Reason }

// Unwrap is ErrMalformed.
func (e *ParseError) Unwrap() error { return ErrMalformed }

func malformed(part, format string, args ...any) error {
	return &ParseError{Part: part, Reason: fmt.Sprintf(format, args...)}
}

// Token is a parsed join token. Its fields are public; its secret is not,
// and it prints redacted with every fmt verb (%v, %s, %q, %#v): only String
// gives the token itself, for the operator who asked for it.
type Token struct {
	// ID names the token in lists, logs and revocations: 8 lowercase hex
	// digits, random. It is not secret.
	ID string
	// Pin is the pin of home's CA; zero when home serves plain HTTP, and
	// the token then has no pin part.
	Pin    pki.Pin
	secret [secretBytes]byte
}

// New makes a token with a random id and secret, carrying pin (zero for
// none). Ids are 32 random bits, enough to tell a registry's tokens apart
// but not to rule out a collision: the caller storing the token makes a
// new one when its id is taken.
func New(pin pki.Pin) (Token, error) {
	var id [idBytes]byte
	t := Token{Pin: pin}
	if _, err := rand.Read(id[:]); err != nil {
		return Token{}, fmt.Errorf("join token id: %w", err)
	}
	if _, err := rand.Read(t.secret[:]); err != nil {
		return Token{}, fmt.Errorf("join token secret: %w", err)
	}
	t.ID = hex.EncodeToString(id[:])
	return t, nil
}

// IsJoinToken tells whether s is meant as a join token: whether it starts
// with "ptj1.". It tells a join token from a plain bootstrap token
// (--agent-token) without parsing: a string that says it is a join token
// and does not parse is a broken join token, whose error Parse gives, not a
// bootstrap token. A bootstrap token must therefore not start so.
func IsJoinToken(s string) bool { return strings.HasPrefix(s, Prefix+sep) }

// Parse parses "ptj1.<id>.<secret>" or "ptj1.<id>.<secret>.<pin>": the id
// 8 lowercase hex digits, the secret 43 base64url characters (32 bytes),
// the pin 64 lowercase hex digits (a pki.Pin without its "sha256:"). Only
// the exact form String makes is accepted. Errors are *ParseError naming
// the broken part, and never quote the input.
func Parse(s string) (Token, error) {
	if len(s) > MaxLen {
		return Token{}, malformed("token", "%d characters, at most %d", len(s), MaxLen)
	}
	parts := strings.Split(s, sep)
	if parts[0] != Prefix {
		if strings.HasPrefix(parts[0], "ptj") && len(parts) > 1 {
			return Token{}, malformed("prefix", "unsupported version, want %s", Prefix)
		}
		return Token{}, malformed("prefix", "does not start with %s%s", Prefix, sep)
	}
	if len(parts) != 3 && len(parts) != 4 {
		return Token{}, malformed("token", "%d parts, want %s.<id>.<secret>[.<pin>]", len(parts), Prefix)
	}
	var t Token
	if err := CheckID(parts[1]); err != nil {
		return Token{}, err
	}
	t.ID = parts[1]
	sec := parts[2]
	switch {
	case sec == redactedSecret:
		return Token{}, malformed("secret", "this is a redacted token (from a log or a list), not the token itself")
	case len(sec) != secretLen:
		return Token{}, malformed("secret", "%d characters, want %d", len(sec), secretLen)
	}
	if n, err := secretEncoding.Decode(t.secret[:], []byte(sec)); err != nil || n != secretBytes {
		return Token{}, malformed("secret", "not base64url")
	}
	if len(parts) == 4 {
		p := parts[3]
		if len(p) != pinLen {
			return Token{}, malformed("pin", "%d characters, want %d", len(p), pinLen)
		}
		if !isLowerHex(p) {
			return Token{}, malformed("pin", "not lowercase hex")
		}
		if _, err := hex.Decode(t.Pin[:], []byte(p)); err != nil {
			return Token{}, malformed("pin", "not lowercase hex")
		}
		if t.Pin.IsZero() {
			return Token{}, malformed("pin", "all zero (a token without a pin has no pin part)")
		}
	}
	return t, nil
}

// CheckID checks a token id given alone, as to `portolan token revoke`.
func CheckID(id string) error {
	if len(id) != IDLen {
		return malformed("id", "%d characters, want %d", len(id), IDLen)
	}
	if !isLowerHex(id) {
		return malformed("id", "not lowercase hex")
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// String is the token itself, secret included: what `portolan token
// create` prints once and `portolan agent --token` takes. Never log it;
// log Redacted.
func (t Token) String() string {
	var b strings.Builder
	b.Grow(MaxLen)
	b.WriteString(Prefix)
	b.WriteString(sep)
	b.WriteString(t.ID)
	b.WriteString(sep)
	b.WriteString(secretEncoding.EncodeToString(t.secret[:]))
	if !t.Pin.IsZero() {
		b.WriteString(sep)
		b.WriteString(hex.EncodeToString(t.Pin[:]))
	}
	return b.String()
}

// Redacted is the token without its secret, "ptj1.<id>.REDACTED": what
// logs and lists show. It names the token (by its id) and nothing more.
func (t Token) Redacted() string { return Prefix + sep + t.ID + sep + redactedSecret }

// HasPin tells whether t carries the pin of home's CA.
func (t Token) HasPin() bool { return !t.Pin.IsZero() }

// Format prints Redacted whatever the verb, so that a token passed to a
// logger or fmt by mistake does not leak its secret.
func (t Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(t.Redacted())) }

// GoString is Redacted, for %#v.
func (t Token) GoString() string { return t.Redacted() }

// Hash is what home stores for a token: SHA-256 of its secret.
//
// A fast hash is right here, unlike for passwords: the secret is 256 random
// bits, so there is no dictionary to try and an exhaustive search is out of
// reach however fast each guess is. A slow hash (bcrypt, argon2id) buys
// time only against guessing low-entropy secrets, and would cost every
// registration milliseconds of CPU for nothing. What the hash does buy is
// that a leaked store holds no usable token.
type Hash [sha256.Size]byte

// Hash is the hash of t's secret, to store in place of the token.
func (t Token) Hash() Hash { return sha256.Sum256(t.secret[:]) }

// Matches tells whether t's secret is the one h was made from. The
// comparison takes the same time whatever h holds, so that timing tells
// nothing of the stored hash. The zero Hash (nothing stored) matches no
// token.
func (t Token) Matches(h Hash) bool {
	if h == (Hash{}) {
		return false
	}
	mine := t.Hash()
	return subtle.ConstantTimeCompare(mine[:], h[:]) == 1
}

// String is the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText is String, for JSON and other stores.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText is ParseHash.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash parses what Hash.String returns.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != hex.EncodedLen(len(h)) {
		return Hash{}, fmt.Errorf("join token hash: %d characters, want %d", len(s), hex.EncodedLen(len(h)))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, errors.New("join token hash: not hex")
	}
	return h, nil
}
