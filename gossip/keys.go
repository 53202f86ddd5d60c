package gossip

import (
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
