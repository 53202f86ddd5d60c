package composition

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"sync"
)

// credentialHasher hashes presented credentials as AgentView hashed the
// stored ones. It pools its HMACs, so that the request path allocates
// nothing: hmac's Reset restores the keyed state without rehashing the key.
type credentialHasher struct{ pool sync.Pool }

func newCredentialHasher(key []byte) *credentialHasher {
	k := append([]byte(nil), key...)
	x := &credentialHasher{}
	x.pool.New = func() any { return hmac.New(sha256.New, k) }
	return x
}

// digest returns the raw digest of a credential of kind, as a map key.
func (x *credentialHasher) digest(kind byte, v string, out *[sha256.Size]byte) {
	h := x.pool.Get().(hash.Hash)
	credentialDigest(h, kind, v, out)
	x.pool.Put(h)
}

// decodeDigest turns a view's digest back into its raw bytes; "" for one
// that is not a digest (never matched).
func decodeDigest(s string) string {
	b, err := digestEncoding.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return ""
	}
	return string(b)
}

// hashedAuthenticate is AppIndex.Authenticate over a view's hashed
// credentials: the presented ones are hashed, then looked up; app keys are
// compared digest to digest in constant time.
func (x *AppIndex) hashedAuthenticate(cred Credentials) (*Application, *ApplicationPlan, *Denial) {
	var sum [sha256.Size]byte
	return x.c.authenticate(cred, func(userKey, appID string) *Application {
		if userKey != "" {
			x.hasher.digest(credUserKey, userKey, &sum)
			return x.byUserKey[string(sum[:])]
		}
		x.hasher.digest(credAppID, appID, &sum)
		return x.byAppID[string(sum[:])]
	}, func(app *Application, key string) bool {
		x.hasher.digest(credAppKey, key, &sum)
		found := 0
		for _, k := range x.appKeys[app.ID] {
			found |= subtle.ConstantTimeCompare([]byte(k), sum[:])
		}
		return found == 1
	})
}
