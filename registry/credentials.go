package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// Instance credentials: at each registration home issues the instance a
// fresh secret (RegisterReply.Credential; random, with a proof of whom it
// was issued to: rejoin.go), returned once and kept only as its SHA-256,
// beside the instance, as soft state like the instance itself. Every later
// call of the instance presents it; after a coordinator restart it is
// unknown, and the agent registers again with its join token.
//
// SHA-256 rather than a slow hash: the secret is 256 random bits, so there
// is nothing to guess (see jointoken.Hash). The hash is also the lookup key
// of the credential: a map lookup by hash reveals, by its timing, at most
// something of a hash of a secret, never of the secret.

// credentialBytes is the size of an instance credential's secret.
const credentialBytes = 32

// credentialHash is what home keeps of a credential.
type credentialHash [sha256.Size]byte

// hashCredential hashes a presented secret; one of the usual size is
// copied to the stack first, so that the hash of every request allocates
// nothing.
func hashCredential(secret string) credentialHash {
	var buf [64]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], secret)])
	}
	return sha256.Sum256([]byte(secret))
}

// newCredential draws a credential: 32 random bytes in base64url.
func newCredential() (string, credentialHash, error) {
	var b [credentialBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", credentialHash{}, fmt.Errorf("instance credential: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(b[:])
	return s, hashCredential(s), nil
}

// grant is what a registration was authenticated by: the bootstrap token
// (tokenID "", bootstrap) or a join token, whose scope it must fit. The
// zero grant is Register's, in process: tokenID "" as well, but held to
// no cap of its own.
type grant struct {
	tokenID   string
	token     *JoinTokenRecord // nil for the bootstrap token
	bootstrap bool             // the bootstrap token, capped at maxPerToken as a join token made without a cap
	// rejoin: the registration presented a credential home issued to its
	// instance through this token, which may have expired since
	// (rejoin.go).
	rejoin bool
}

// instanceByCredential returns the id of the instance holding the
// credential secret, and whether its join token was revoked.
func (r *Registry) instanceByCredential(secret string) (id string, revoked, ok bool) {
	in, revoked := r.credentialInstance(secret)
	if in == nil {
		return "", false, false
	}
	return in.id, revoked, true
}

// credentialInstance returns the instance holding the credential secret
// (nil for none), and whether its join token was revoked.
func (r *Registry) credentialInstance(secret string) (in *instance, revoked bool) {
	h := hashCredential(secret)
	r.mu.Lock()
	defer r.mu.Unlock()
	in = r.byCred[h]
	// The map found it by hash; compare in constant time all the same, so
	// that nothing but equality lets a secret through.
	if in == nil || subtle.ConstantTimeCompare(in.credHash[:], h[:]) != 1 {
		return nil, false
	}
	return in, in.revoked
}

// credentialHolder returns the instance holding the credential secret, nil
// for none or for one whose join token was revoked, under credMu alone:
// whether it is still the instance registered under its id is for the
// caller to check under mu.
func (r *Registry) credentialHolder(secret string) *instance {
	h := hashCredential(secret)
	r.credMu.RLock()
	in := r.byCred[h]
	revoked := in != nil && in.revoked
	r.credMu.RUnlock()
	if in == nil || revoked || subtle.ConstantTimeCompare(in.credHash[:], h[:]) != 1 {
		return nil
	}
	return in
}

// known tells whether an instance id is registered.
func (r *Registry) known(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.instances[id]
	return ok
}

// addLocked records in under its id, replacing any instance there.
func (r *Registry) addLocked(in *instance) {
	if old, ok := r.instances[in.id]; ok {
		r.forgetLocked(old)
	}
	r.instances[in.id] = in
	r.noteLocked(in.id)
	r.credMu.Lock()
	r.byCred[in.credHash] = in
	r.credMu.Unlock()
	r.perToken[in.tokenID]++
	r.scheduleLocked(in)
}

// removeLocked forgets the instance id and its credential.
func (r *Registry) removeLocked(id string) {
	if in, ok := r.instances[id]; ok {
		r.forgetLocked(in)
		delete(r.instances, id)
		r.noteLocked(id)
	}
}

// forgetLocked drops the indexes of in, and ends its blocking queries: its
// credential is no longer valid.
func (r *Registry) forgetLocked(in *instance) {
	in.endWatches()
	r.unscheduleLocked(in)
	r.forgetKeysLocked(in)
	r.credMu.Lock()
	delete(r.byCred, in.credHash)
	r.credMu.Unlock()
	if r.perToken[in.tokenID]--; r.perToken[in.tokenID] <= 0 {
		delete(r.perToken, in.tokenID)
	}
}

// errRevokedMeanwhile refuses a registration whose join token was revoked
// after the request was authenticated (401, as the token is refused now).
var errRevokedMeanwhile = fmt.Errorf("%w: it was revoked: register with a current join token (portolan token create)", ErrUnknownJoinToken)

// errExpiredMeanwhile refuses a registration whose join token expired
// after the request was authenticated (401), so that an expired token,
// which CreateJoinToken may drop, admits no instance.
var errExpiredMeanwhile = errors.New("the join token has expired: create a new one (portolan token create)")

// admitLocked checks that an instance of id may be (re-)registered through
// g: a live id stays with the token that registered it, and a new one must
// fit the registry's and the token's caps (the bootstrap token's is
// MaxInstancesPerToken; Register's, in process, has none). Registering the
// same id again counts once.
//
// Registering a live id again through its own token is allowed, so that an
// agent whose registration reply was lost can retry; the holders of one
// token can thus replace each other's registrations, which gives them
// nothing their token's scope does not already give.
func (r *Registry) admitLocked(id string, g grant) error {
	var rec JoinTokenRecord
	if g.token != nil {
		// The token may have been revoked, or its cap changed, since the
		// request was authenticated: its record as kept now decides, for a
		// live id registered again as for a new one. A revocation that
		// comes after this check ends the instance this registration adds
		// (RevokeJoinToken ends the token's instances under mu).
		var kept bool
		if rec, kept = r.tokens.Get(g.tokenID); !kept {
			return errRevokedMeanwhile
		}
		if rec.expired(r.now()) && !g.rejoin {
			return errExpiredMeanwhile
		}
	}
	if old, ok := r.instances[id]; ok {
		if subtle.ConstantTimeCompare([]byte(old.tokenID), []byte(g.tokenID)) != 1 {
			return fmt.Errorf("%w: instance %q is live and was registered with another join token: register under another id (an instance id is unique per container incarnation)", ErrIDTaken, id)
		}
		return nil
	}
	if len(r.instances) >= r.maxInstances {
		return fmt.Errorf("%w: home holds %d live instances, its limit (--max-instances)", ErrTooManyInstances, r.maxInstances)
	}
	switch {
	case g.token != nil:
		if max := rec.MaxInstances; max > 0 && r.perToken[g.tokenID] >= max {
			return &TokenFullError{TokenID: g.tokenID, Max: max}
		}
	case g.bootstrap:
		// The bootstrap token never expires and is written in every
		// agent's configuration: leaked, it must not fill home any more
		// than a join token could.
		if r.perToken[g.tokenID] >= r.maxPerToken {
			return &TokenFullError{Bootstrap: true, Max: r.maxPerToken}
		}
	}
	return nil
}
