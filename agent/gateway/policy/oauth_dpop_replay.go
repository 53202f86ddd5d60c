package policy

import (
	"container/list"
	"crypto/sha256"
	"errors"
	"math"
	"sync"
	"time"
)

// Bounds of the replay cache: at most dpopReplayKeys keys with proofs in
// the acceptance window, each with at most dpopReplayPerKey remembered
// proofs, so at most 1,048,576 proofs of 24 bytes: about 25 MB when every
// key is full (a ring grows with use and goes with its key), besides about
// 200 bytes a key. A key keeps up to 256 proofs of one second (iat is
// usually whole seconds) before its own later proofs of that second are
// refused.
const (
	dpopReplayKeys   = 1 << 12
	dpopReplayPerKey = 1 << 8
	// dpopReplayKeep is how long after its latest accepted proof a key
	// holds nothing the iat window would still accept: that proof's iat
	// is at most dpopMaxAhead past its acceptance, and no proof is
	// accepted dpopMaxAge past its iat.
	dpopReplayKeep = dpopMaxAge + dpopMaxAhead
)

// Why the replay cache refuses a proof.
var (
	errDPoPReplayed  = errors.New("a proof with this key and jti was accepted before")
	errDPoPForgotten = errors.New("the proof is not newer than one of its key's proofs the replay cache had to forget")
	errDPoPAhead     = errors.New("every proof of this key the replay cache keeps is dated ahead of the gateway's clock")
	errDPoPKeys      = errors.New("the replay cache keeps as many keys as it may, all with proofs in the acceptance window")
)

// dpopKeysFull is errDPoPKeys with when the cache drops its idlest key, so
// that the refusal can say when to come back (Retry-After).
type dpopKeysFull struct{ after time.Duration }

func (e *dpopKeysFull) Error() string        { return errDPoPKeys.Error() }
func (e *dpopKeysFull) Is(target error) bool { return target == errDPoPKeys }

// dpopReplay remembers the DPoP proofs oauth_dpop accepted, by their key's
// thumbprint (jkt) and jti, so that none is accepted twice (RFC 9449
// section 11.1: "Servers SHOULD store ... the jti value of each DPoP proof
// for the time window in which the respective DPoP proof JWT would be
// accepted").
//
// Each key has its own proofs and its own threshold, so that what one key
// sends never makes another key's proof refused. A key keeps at most
// dpopReplayPerKey proofs; past it, it forgets its earliest accepted one
// and from then on refuses its proofs created (iat) no later than that one:
// a forgotten proof can never be accepted again. A threshold never moves
// past the time it moves at: when a key's earliest proof is dated ahead of
// the clock, the key's new proof is refused instead (a key flooding with
// proofs dated ahead shuts out itself, for at most dpopMaxAhead). Under
// normal use the forgotten proofs are long past the acceptance window, so
// this refuses nothing the window does not.
//
// A key whose latest proof was accepted dpopReplayKeep ago holds nothing
// the window would still accept: it is dropped whole, threshold included.
// At most dpopReplayKeys keys are kept; a new key past it is refused while
// every kept key has proofs in the window. One token holder cannot reach
// that: oauth_dpop admits a proof only with a token bound to its key, so
// it takes that many tokens bound to distinct keys within dpopReplayKeep.
//
// One cache serves a gateway, kept in Env.Shared so a chain rebuilt at a
// new revision keeps it; it is safe for concurrent use. Gateways do not
// share it: a proof captured in flight could be used once more at each
// other replica within the window.
type dpopReplay struct {
	mu   sync.Mutex
	keys map[string]*list.Element // by jkt; each holds a *dpopKeyProofs
	lru  list.List                // the keys, latest accepted proof first
}

// dpopKeyProofs are what the cache remembers of one key.
type dpopKeyProofs struct {
	jkt   string
	ring  []dpopSeen // accepted proofs in order; once full, ring[next] is the earliest
	next  int
	floor int64     // the newest iat (Unix ns) among the forgotten proofs; never after when it was set
	last  time.Time // when the latest proof was accepted
}

// dpopSeen is one remembered proof: its jti's digest, and its iat in Unix
// nanoseconds.
type dpopSeen struct {
	jti [16]byte
	iat int64
}

// newDPoPReplay makes an empty cache; its memory grows with use.
func newDPoPReplay() *dpopReplay {
	d := &dpopReplay{keys: map[string]*list.Element{}}
	d.lru.Init()
	return d
}

// dpopJTI is the digest the cache keeps of a jti (at most dpopMaxJTI
// bytes): 128 bits of its SHA-256. Two jtis of one key with one digest
// would make the second refused as used, never a proof accepted twice.
func dpopJTI(jti string) [16]byte {
	sum := sha256.Sum256([]byte(jti))
	return [16]byte(sum[:16])
}

// admit records the proof of key jkt named jti, created at iat, accepted
// at now, and returns nil the first time; errDPoPReplayed when it was
// accepted before, errDPoPForgotten when it is not newer than a proof of
// its key the cache had to forget, errDPoPAhead when the key's kept proofs
// are all dated ahead of now, errDPoPKeys (a *dpopKeysFull) when the key
// is new and the cache keeps as many keys as it may.
func (d *dpopReplay) admit(jkt, jti string, iat, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropIdle(now)
	e, ok := d.keys[jkt]
	if !ok {
		if len(d.keys) >= dpopReplayKeys {
			idlest := d.lru.Back().Value.(*dpopKeyProofs)
			return &dpopKeysFull{after: idlest.last.Add(dpopReplayKeep).Sub(now)}
		}
		e = d.lru.PushFront(&dpopKeyProofs{jkt: jkt, floor: math.MinInt64, last: now})
		d.keys[jkt] = e
	}
	k := e.Value.(*dpopKeyProofs)
	if err := k.admit(dpopSeen{jti: dpopJTI(jti), iat: iat.UnixNano()}, now.UnixNano()); err != nil {
		return err
	}
	k.last = now
	d.lru.MoveToFront(e)
	return nil
}

// dropIdle forgets the keys whose latest proof was accepted more than
// dpopReplayKeep before now: every proof of theirs and their threshold
// are older than the window lets in.
func (d *dpopReplay) dropIdle(now time.Time) {
	for e := d.lru.Back(); e != nil; e = d.lru.Back() {
		k := e.Value.(*dpopKeyProofs)
		if !k.last.Before(now.Add(-dpopReplayKeep)) {
			return
		}
		delete(d.keys, k.jkt)
		d.lru.Remove(e)
	}
}

// admit records s for the key, accepted at now (both in Unix ns), as
// dpopReplay.admit says.
func (k *dpopKeyProofs) admit(s dpopSeen, now int64) error {
	if s.iat <= k.floor {
		return errDPoPForgotten
	}
	for i := range k.ring {
		if k.ring[i].jti == s.jti {
			return errDPoPReplayed
		}
	}
	if len(k.ring) < dpopReplayPerKey {
		k.ring = append(k.ring, s)
		return nil
	}
	old := k.ring[k.next]
	if old.iat > now {
		return errDPoPAhead // forgetting it would move the threshold past now
	}
	k.floor = max(k.floor, old.iat)
	k.ring[k.next] = s
	k.next = (k.next + 1) % dpopReplayPerKey
	return nil
}
