package registry

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
)

// Instances of a join token whose lifetime has ended. A lifetime bounds
// joining (portolan token create --ttl): the instances registered through
// the token stay. But instances are soft state: when home restarts, or
// drops an instance it has not heard from, the agent registers again with
// its join token, which an expired token could not, and the fleet would
// leave the map for good. So an instance credential says, to home alone,
// whom home issued it to: 16 random bytes and the first 16 of an
// HMAC-SHA-256, under home's credential key (CredentialKeyFile), of them,
// the join token's id and the instance id. An agent registering again
// presents the credential it holds (CredentialHeader), and home, though it
// has forgotten the credential, lets that instance id, and no other, in
// through its expired token. A revoked token is gone and lets nothing in.

// credentialMACBytes is the part of a credential's secret that proves it.
const credentialMACBytes = 16

// instanceCredentialMAC is the proof part of the credential with nonce
// issued to instance id through join token tokenID ("" for the bootstrap
// token).
func (s *Signer) instanceCredentialMAC(tokenID, id string, nonce []byte) []byte {
	m := hmac.New(sha256.New, s.root)
	m.Write([]byte("portolan-instance-credential-v1\x00"))
	m.Write([]byte(tokenID))
	m.Write([]byte{0})
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write(nonce)
	return m.Sum(nil)[:credentialMACBytes]
}

// issueCredential draws the credential of instance id registered through
// tokenID: one that proves whom it was issued to with a Signer, else 32
// random bytes (newCredential).
func (r *Registry) issueCredential(tokenID, id string) (string, credentialHash, error) {
	if r.views == nil {
		return newCredential()
	}
	var b [credentialBytes]byte
	nonce := b[:credentialBytes-credentialMACBytes]
	if _, err := rand.Read(nonce); err != nil {
		return "", credentialHash{}, fmt.Errorf("instance credential: %w", err)
	}
	copy(b[len(nonce):], r.views.signer.instanceCredentialMAC(tokenID, id, nonce))
	s := base64.RawURLEncoding.EncodeToString(b[:])
	return s, hashCredential(s), nil
}

// rejoins reports whether req, a registration through the expired join
// token tokenID, presents a credential home issued to the instance of its
// path through that token.
func (r *Registry) rejoins(req *http.Request, tokenID string) bool {
	cred := req.Header.Get(CredentialHeader)
	if r.views == nil || tokenID == "" || cred == "" || len(cred) > 2*credentialBytes {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(cred)
	if err != nil || len(b) != credentialBytes {
		return false
	}
	nonce := b[:credentialBytes-credentialMACBytes]
	return hmac.Equal(b[len(nonce):], r.views.signer.instanceCredentialMAC(tokenID, req.PathValue("id"), nonce))
}
