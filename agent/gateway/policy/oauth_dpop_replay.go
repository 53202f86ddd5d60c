package policy

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// dpopReplayCapacity bounds the proofs the replay cache remembers: about
// 5 MB when full (a 32-byte key in a map and a ring), reached only past
// 65536 accepted proofs within one acceptance window (over 900 a second
// sustained); past it the window shrinks instead of memory growing (see
// dpopReplay).
const dpopReplayCapacity = 1 << 16

// Why the replay cache refuses a proof.
var (
	errDPoPReplayed  = errors.New("a proof with this key and jti was accepted before")
	errDPoPForgotten = errors.New("the proof is older than the oldest one the replay cache had to forget")
)

// dpopReplay remembers the DPoP proofs oauth_dpop accepted, by their key's
// thumbprint and jti, so that none is accepted twice (RFC 9449 section
// 11.1: "Servers SHOULD store ... the jti value of each DPoP proof for the
// time window in which the respective DPoP proof JWT would be accepted").
//
// It holds at most dpopReplayCapacity proofs, forgetting the earliest
// accepted first. To stay exact with bounded memory it then refuses every
// proof created (iat) no later than the newest forgotten one: a forgotten
// proof can never be accepted again. Under normal load the forgotten ones
// are long past the acceptance window, so this refuses nothing the window
// does not; under a flood the window narrows to the most recent proofs.
// Nothing expires otherwise: a jti stays refused as long as it is kept.
//
// One cache serves a gateway, kept in Env.Shared so a chain rebuilt at a
// new revision keeps it; it is safe for concurrent use. Gateways do not
// share it: a proof captured in flight could be used once more at each
// other replica within the window.
type dpopReplay struct {
	mu    sync.Mutex
	seen  map[[sha256.Size]byte]struct{}
	ring  []dpopSeen // accepted proofs in order; once full, ring[next] is the earliest
	next  int
	floor time.Time // the newest iat among the forgotten proofs
}

// dpopSeen is one remembered proof.
type dpopSeen struct {
	key [sha256.Size]byte
	iat time.Time
}

// newDPoPReplay makes an empty cache; its memory grows with use.
func newDPoPReplay() *dpopReplay {
	return &dpopReplay{seen: map[[sha256.Size]byte]struct{}{}}
}

// dpopReplayKey names a proof: its key's thumbprint and its jti, so one
// client cannot use up another's jti.
func dpopReplayKey(jkt, jti string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// admit records the proof named key, created at iat, and returns nil the
// first time; errDPoPReplayed when it was accepted before, errDPoPForgotten
// when it is not newer than a proof the cache had to forget.
func (d *dpopReplay) admit(key [sha256.Size]byte, iat time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !iat.After(d.floor) {
		return errDPoPForgotten
	}
	if _, dup := d.seen[key]; dup {
		return errDPoPReplayed
	}
	e := dpopSeen{key: key, iat: iat}
	if len(d.ring) < dpopReplayCapacity {
		d.ring = append(d.ring, e)
	} else {
		old := d.ring[d.next]
		delete(d.seen, old.key)
		if old.iat.After(d.floor) {
			d.floor = old.iat
		}
		d.ring[d.next] = e
		d.next = (d.next + 1) % dpopReplayCapacity
	}
	d.seen[key] = struct{}{}
	return nil
}
