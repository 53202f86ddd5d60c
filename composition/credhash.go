package composition

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"sync"
)

// digester is one HMAC-SHA-256 under a view's key, with the buffers it
// hashes from and sums into. The HMAC is only reachable through hash.Hash,
// so whatever slice it is handed escapes: a stack buffer handed to it would
// be moved to the heap on every request. Handing it the digester's own
// fields instead, which are allocated once with it, keeps hashing
// allocation-free.
type digester struct {
	h   hash.Hash
	buf [256]byte // the kind and the credential, copied in chunks
	sum [sha256.Size]byte
}

func newDigester(key []byte) *digester { return &digester{h: hmac.New(sha256.New, key)} }

// digest returns HMAC(key, kind ‖ v), the digest a view holds for the
// credential v of kind. The slice is d's own, valid until d's next use.
// Reset restores the keyed state without rehashing the key.
func (d *digester) digest(kind byte, v string) []byte {
	d.h.Reset()
	d.buf[0] = kind
	n := 1 + copy(d.buf[1:], v)
	_, _ = d.h.Write(d.buf[:n])
	for v = v[n-1:]; v != ""; v = v[n:] { // only a credential over the gateway's bound gets here
		n = copy(d.buf[:], v)
		_, _ = d.h.Write(d.buf[:n])
	}
	return d.h.Sum(d.sum[:0])
}

// credentialHasher hashes presented credentials as AgentView hashed the
// stored ones. It pools its digesters, one per concurrent request, so
// that the request path allocates nothing.
type credentialHasher struct{ pool sync.Pool }

func newCredentialHasher(key []byte) *credentialHasher {
	k := bytes.Clone(key)
	x := &credentialHasher{}
	x.pool.New = func() any { return newDigester(k) }
	return x
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
//
// The user_key and app_id lookups are map lookups, whose time depends on
// the bytes compared; that is safe here because the bytes are HMAC digests
// under a key the client does not hold: a client cannot choose a digest,
// so timing a lookup tells it nothing about how close its guess came to a
// stored credential.
func (x *AppIndex) hashedAuthenticate(cred Credentials) (*Application, *ApplicationPlan, *Denial) {
	d := x.hasher.pool.Get().(*digester)
	defer x.hasher.pool.Put(d)
	// The map index converts the digest to a string without copying it.
	return x.c.authenticate(cred, func(userKey, appID string) *Application {
		if userKey != "" {
			return x.byUserKey[string(d.digest(credUserKey, userKey))]
		}
		return x.byAppID[string(d.digest(credAppID, appID))]
	}, func(app *Application, key string) bool {
		sum := d.digest(credAppKey, key)
		found := 0
		for _, k := range x.appKeys[app.ID] {
			found |= subtle.ConstantTimeCompare(k, sum)
		}
		return found == 1
	})
}
