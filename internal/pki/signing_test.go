package pki

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixedKey is a signing key every run shares, so that signatures are
// golden: Ed25519 is deterministic.
var fixedKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

const (
	fixedPub       = "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw"
	fixedBody      = `{"services":[]}`
	fixedScope     = "service:news"
	fixedRevision  = 42
	fixedSignature = "hqrtSNCVtkazsutO-aD5NXFMBqiw9KTbAbBmyK6xf24rWxNMmSIhmfOEu6H7800fJKCYanGQ8muB1OktbjVPBg"
)

func TestCompositionMessage(t *testing.T) {
	// The signed bytes are a wire format between home and agents of other
	// versions: pinned here byte for byte.
	sum := sha256.Sum256([]byte("x"))
	want := "portolan-composition-v1" +
		"\x00\x00\x00\x00\x00\x00\x01\x02" + // revision 258
		"\x00\x00\x00\x00\x00\x00\x00\x02" + "ab" +
		string(sum[:])
	assert.Equal(t, hex.EncodeToString([]byte(want)), hex.EncodeToString(compositionMessage(258, "ab", []byte("x"))))

	assert.NotEqual(t, compositionMessage(1, "ab", nil), compositionMessage(1, "a", []byte("b")))
}

func TestSignComposition(t *testing.T) {
	pub := fixedKey.Public().(ed25519.PublicKey)
	sig := SignComposition(fixedKey, fixedRevision, fixedScope, []byte(fixedBody))
	assert.Equal(t, fixedSignature, sig, "deterministic, and the format unchanged")
	assert.Equal(t, fixedPub, EncodePublicKey(pub))
	require.NoError(t, VerifyComposition(pub, fixedRevision, fixedScope, []byte(fixedBody), sig))

	other, err := LoadOrCreateSigningKey(t.TempDir())
	require.NoError(t, err)
	otherPub := other.Public().(ed25519.PublicKey)

	noncanonical := fixedSignature[:len(fixedSignature)-1] + "h" // same bytes, low bits set
	for name, tc := range map[string]struct {
		pub   ed25519.PublicKey
		rev   uint64
		scope string
		body  string
		sig   string
		says  string
	}{
		"another revision": {pub, fixedRevision + 1, fixedScope, fixedBody, sig, "does not verify"},
		"another scope":    {pub, fixedRevision, "service:other", fixedBody, sig, "does not verify"},
		"another body":     {pub, fixedRevision, fixedScope, fixedBody + " ", sig, "does not verify"},
		"another key":      {otherPub, fixedRevision, fixedScope, fixedBody, sig, "does not verify"},
		"missing":          {pub, fixedRevision, fixedScope, fixedBody, "", "has no signature"},
		"truncated":        {pub, fixedRevision, fixedScope, fixedBody, sig[:85], "85 characters"},
		"padded":           {pub, fixedRevision, fixedScope, fixedBody, sig + "==", "88 characters"},
		"std base64":       {pub, fixedRevision, fixedScope, fixedBody, strings.NewReplacer("-", "+", "_", "/").Replace(sig), "not base64url"},
		"non-canonical":    {pub, fixedRevision, fixedScope, fixedBody, noncanonical, "not base64url"},
		"zeros":            {pub, fixedRevision, fixedScope, fixedBody, strings.Repeat("A", 86), "does not verify"},
	} {
		t.Run(name, func(t *testing.T) {
			err := VerifyComposition(tc.pub, tc.rev, tc.scope, []byte(tc.body), tc.sig)
			require.ErrorIs(t, err, ErrBadSignature)
			assert.ErrorContains(t, err, tc.says)
		})
	}

	err = VerifyComposition(pub[:31], fixedRevision, fixedScope, []byte(fixedBody), sig)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrBadSignature, "a broken key is not a bad signature")
	assert.ErrorContains(t, err, "31 bytes")
}

func TestPublicKeyText(t *testing.T) {
	pub, err := ParsePublicKey(fixedPub)
	require.NoError(t, err)
	assert.True(t, pub.Equal(fixedKey.Public()))
	for _, bad := range []string{"", fixedPub[:42], fixedPub + "A", strings.Repeat("!", 43), fixedPub[:42] + "x"} {
		_, err := ParsePublicKey(bad)
		assert.ErrorContains(t, err, "composition public key", bad)
	}
}

func TestLoadOrCreateSigningKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k, err := LoadOrCreateSigningKey(dir)
	require.NoError(t, err)
	require.Len(t, k, ed25519.PrivateKeySize)
	file := filepath.Join(dir, SigningKeyFile)
	assert.Equal(t, os.FileMode(0o600), fileMode(t, file))
	assert.Equal(t, os.FileMode(0o700), fileMode(t, dir))

	again, err := LoadOrCreateSigningKey(dir)
	require.NoError(t, err)
	assert.True(t, k.Equal(again), "a restart keeps the key")

	sig := SignComposition(k, 1, "", nil)
	require.NoError(t, VerifyComposition(again.Public().(ed25519.PublicKey), 1, "", nil, sig))
}

func TestLoadSigningKeyCorrupt(t *testing.T) {
	ca := newAuthority(t, "home", t0)
	ecKey, err := ca.KeyPEM()
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		content []byte
		says    string
	}{
		"garbage":      {[]byte("garbage"), "no PEM block"},
		"empty":        {nil, "no PEM block"},
		"certificate":  {ca.CertPEM(), `"CERTIFICATE", want PRIVATE KEY`},
		"ECDSA key":    {ecKey, "not an Ed25519 key"},
		"bad PKCS8":    {pemOf("PRIVATE KEY", []byte{1, 2}), "asn1"},
		"half written": {ecKey[:40], "no PEM block"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, SigningKeyFile)
			require.NoError(t, os.WriteFile(file, tc.content, 0o600))
			_, err := LoadOrCreateSigningKey(dir)
			require.Error(t, err)
			assert.ErrorContains(t, err, file)
			assert.ErrorContains(t, err, tc.says)
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, string(tc.content), string(b), "never replaced: agents hold its public half")
		})
	}
}
