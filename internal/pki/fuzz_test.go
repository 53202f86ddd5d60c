package pki

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// FuzzVerifyComposition feeds the signature check whatever a hostile peer
// could send (gossip, a forged cache file): it must never panic, must
// accept only the one signed tuple, and must call every refusal a bad
// signature. Seeds are in testdata/fuzz/FuzzVerifyComposition.
func FuzzVerifyComposition(f *testing.F) {
	pub := fixedKey.Public().(ed25519.PublicKey)
	f.Add(uint64(fixedRevision), fixedScope, []byte(fixedBody), fixedSignature)
	f.Add(uint64(fixedRevision+1), fixedScope, []byte(fixedBody), fixedSignature)
	f.Add(uint64(0), "", []byte{}, "")
	f.Add(^uint64(0), "\x00", []byte{0}, strings.Repeat("_", 86))
	f.Fuzz(func(t *testing.T, revision uint64, scope string, body []byte, sig string) {
		err := VerifyComposition(pub, revision, scope, body, sig)
		if err == nil {
			if revision != fixedRevision || scope != fixedScope || string(body) != fixedBody || sig != fixedSignature {
				t.Fatalf("accepted a signature nobody made: revision %d scope %q body %q sig %q", revision, scope, body, sig)
			}
		} else if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("refusal that is not ErrBadSignature: %v", err)
		}
		if len(body) > 4096 {
			return // signing big bodies is slow and proves nothing more
		}
		own := SignComposition(fixedKey, revision, scope, body)
		if err := VerifyComposition(pub, revision, scope, body, own); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if own == sig && err != nil {
			t.Fatal("the signature made for these very inputs was refused")
		}
	})
}

// FuzzParsePin: ParsePin never panics, what it accepts prints back as
// itself (hex lowercased), and its errors stay short whatever the input.
// Seeds are in testdata/fuzz/FuzzParsePin.
func FuzzParsePin(f *testing.F) {
	f.Add("sha256:" + strings.Repeat("ab", 32))
	f.Add("sha256:" + strings.Repeat("AB", 32))
	f.Add("sha1:" + strings.Repeat("0", 40))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePin(s)
		if err != nil {
			if len(err.Error()) > 300 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			if p != (Pin{}) {
				t.Fatal("a refused pin is zero")
			}
			return
		}
		if !strings.HasPrefix(s, PinPrefix) || p.String() != PinPrefix+strings.ToLower(s[len(PinPrefix):]) {
			t.Fatalf("%q parsed as %s", s, p)
		}
		q, err := ParsePin(p.String())
		if err != nil || q != p {
			t.Fatalf("round trip of %s: %v %v", p, q, err)
		}
		if !bytes.Equal([]byte(p.String()), must(p.MarshalText())) {
			t.Fatal("MarshalText is String")
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
