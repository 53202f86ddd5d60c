package gossip

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/hashicorp/memberlist"
)

// ParseKey decodes a gossip key given in base64 (standard alphabet, padding
// optional). The key must be 16, 24 or 32 bytes long (AES-128, AES-192 or
// AES-256 in GCM mode).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("gossip key is empty: want base64 of 16, 24 or 32 bytes")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		var err2 error
		if key, err2 = base64.RawStdEncoding.DecodeString(s); err2 != nil {
			return nil, fmt.Errorf("gossip key is not valid base64: %w", err)
		}
	}
	if err := checkKeyLen(key); err != nil {
		return nil, err
	}
	return key, nil
}

// KeySize is the length of the keys GenerateKey makes: AES-256.
const KeySize = 32

// GenerateKey returns a new random AES-256 gossip key.
func GenerateKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("gossip key: %w", err)
	}
	return k, nil
}

// EncodeKey writes a key as ParseKey reads it: standard base64 with padding.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// EncodeKeys encodes a keyring, primary first, as the wire carries it
// (registry.RegisterReply.GossipKeys).
func EncodeKeys(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = EncodeKey(k)
	}
	return out
}

// ParseKeys decodes a keyring given in base64, primary first; it refuses an
// empty one.
func ParseKeys(ss []string) ([][]byte, error) {
	if len(ss) == 0 {
		return nil, fmt.Errorf("gossip keyring is empty")
	}
	out := make([][]byte, len(ss))
	for i, s := range ss {
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(ss), err)
		}
		out[i] = k
	}
	return out, nil
}

// SameKeys reports whether a and b are the same keyring: the same keys in
// the same order (the first is the primary).
func SameKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameKey(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameKey compares keys in constant time: they are secrets.
func sameKey(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func checkKeyLen(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("gossip key is %d bytes; AES-GCM needs 16, 24 or 32 bytes (AES-128, AES-192 or AES-256)", len(key))
}

// keyring builds memberlist's keyring: keys[0] encrypts everything this node
// sends; every key is tried when decrypting. It returns nil, nil without keys
// (no encryption).
func keyring(keys [][]byte) (*memberlist.Keyring, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	for i, k := range keys {
		if err := checkKeyLen(k); err != nil {
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(keys), err)
		}
	}
	kr, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip keyring: %w", err)
	}
	return kr, nil
}
