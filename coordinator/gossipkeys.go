package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/atomicfile"
)

// GossipKeyringFile is home's gossip keyring in the data dir (0600).
const GossipKeyringFile = "gossip-keyring.json"

// GossipKeyringConfig says where home's gossip keyring comes from.
type GossipKeyringConfig struct {
	// Keys, when set, is a fixed keyring (--gossip-key), primary first: home
	// uses it and hands it to agents as it is, and refuses to rotate it.
	// Empty: the keyring lives in the data dir, made on first start, and
	// rotates (RotateGossipKey).
	Keys [][]byte
	// Insecure runs home's gossip without a keyring, and hands none to
	// agents (--gossip-insecure).
	Insecure bool
	// Grace is how long a rotation takes: the new key is added as a
	// secondary at once, made primary at half the grace and the old key
	// dropped at its end, so each step reaches every agent (at its next
	// heartbeat) before the next. A step also waits until the agents that
	// acknowledge the keyring hold the one before, for at most the grace
	// past its time (see heldLocked). Default 4 heartbeat intervals; at
	// least 2.
	Grace time.Duration
}

// errKeyringFixed and errRotating refuse a rotation (409).
var (
	errKeyringFixed = errors.New("the gossip keyring is fixed by --gossip-key: change the flag (new key first, old key second) to rotate it")
	errRotating     = errors.New("a gossip key rotation is in progress")
)

// gossipKeyring is home's gossip keyring: handed to registered agents
// (registry.Config.GossipKeys), used by home's own gossip node, rotated in
// steps. Steps fall due by the clock and are applied by whoever looks first,
// so no goroutine is needed to move it along. Safe for concurrent use.
type gossipKeyring struct {
	path  string // "" for a fixed keyring: not persisted, not rotated
	grace time.Duration
	now   func() time.Time
	log   zerolog.Logger

	mu      sync.Mutex
	st      keyringState
	changed chan struct{} // closed and replaced on every change
	// behind counts the agents that acknowledge the keyring and do not
	// hold a version (registry.Registry.GossipKeysBehind); nil waits for
	// none. It takes the registry's lock, so the registry must never call
	// the keyring with that lock held (it does not: registry/gossipkeys.go).
	behind     func(version uint64) int
	waitLogged uint64 // the version whose wait was last logged
}

// keyringState is the keyring and its pending rotation, as kept on disk.
type keyringState struct {
	// Version starts at 1 and grows with every change: the registry hands
	// the keyring to an instance when it last gave it another version.
	Version uint64   `json:"version"`
	Keys    []string `json:"keys"` // base64, primary first
	// Steps are the rotation's coming keyrings, by time.
	Steps []keyringStep `json:"steps,omitempty"`
}

type keyringStep struct {
	At   time.Time `json:"at"`
	Keys []string  `json:"keys"`
}

// KeyRotation answers a rotation: when the new key becomes primary and when
// the old ones stop being accepted.
type KeyRotation struct {
	Version   uint64    `json:"version"`
	PrimaryAt time.Time `json:"primary_at"`
	DropOldAt time.Time `json:"drop_old_at"`
}

// openGossipKeyring returns home's keyring: nil when insecure, fixed when
// given keys, else the data dir's, made on first start.
func openGossipKeyring(cfg Config, heartbeat time.Duration) (*gossipKeyring, error) {
	kc := cfg.GossipKeyring
	if kc.Insecure {
		if len(kc.Keys) > 0 {
			return nil, errors.New("--gossip-key and --gossip-insecure: choose one")
		}
		return nil, nil
	}
	if kc.Grace == 0 {
		kc.Grace = 4 * heartbeat
	}
	if kc.Grace < 2*heartbeat {
		return nil, fmt.Errorf("--gossip-key-grace %s is shorter than two heartbeat intervals (%s): agents would miss a rotation step and drop out of gossip", kc.Grace, 2*heartbeat)
	}
	k := &gossipKeyring{grace: kc.Grace, now: time.Now, log: cfg.Logger, changed: make(chan struct{})}
	if len(kc.Keys) > 0 {
		k.st = keyringState{Version: 1, Keys: gossip.EncodeKeys(kc.Keys)}
		return k, nil
	}
	k.path = filepath.Join(cfg.DataDir, GossipKeyringFile)
	b, err := atomicfile.ReadBounded(k.path, maxKeyringFileBytes)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &k.st); err != nil {
			return nil, fmt.Errorf("gossip keyring %s: %w (remove it to make a new one; agents then get it when they register again)", k.path, err)
		}
		if err := k.st.check(); err != nil {
			return nil, fmt.Errorf("gossip keyring %s: %w (remove it to make a new one; agents then get it when they register again)", k.path, err)
		}
		if k.st.Version == 0 {
			k.st.Version = 1
		}
		return k, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read gossip keyring: %w", err)
	}
	key, err := gossip.GenerateKey()
	if err != nil {
		return nil, err
	}
	k.st = keyringState{Version: 1, Keys: []string{gossip.EncodeKey(key)}}
	if err := k.saveLocked(); err != nil {
		return nil, err
	}
	cfg.Logger.Info().Str("file", k.path).Msg("made a gossip keyring: registered agents receive it from home")
	return k, nil
}

// maxKeyringFileBytes bounds the keyring file read at start: a keyring
// with a rotation pending is some 500 bytes.
const maxKeyringFileBytes = 64 << 10

// check tells whether every key of st parses, those of the rotation's
// steps too: a bad one would reach every agent when its step fell due.
func (st keyringState) check() error {
	if _, err := gossip.ParseKeys(st.Keys); err != nil {
		return err
	}
	for i, step := range st.Steps {
		if _, err := gossip.ParseKeys(step.Keys); err != nil {
			return fmt.Errorf("step %d of the rotation: %w", i+1, err)
		}
	}
	return nil
}

// saveLocked writes the keyring, 0600, replacing the file atomically.
func (k *gossipKeyring) saveLocked() error { return k.save(k.st) }

// save writes st as the keyring, 0600, replacing the file atomically.
func (k *gossipKeyring) save(st keyringState) error {
	if k.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode gossip keyring: %w", err)
	}
	if err := atomicfile.Write(k.path, b, 0o600); err != nil {
		return fmt.Errorf("write gossip keyring: %w", err)
	}
	return nil
}

// waitFor makes each rotation step wait for behind (see the field).
func (k *gossipKeyring) waitFor(behind func(version uint64) int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.behind = behind
}

// advanceLocked applies the steps that fell due by now and are not held.
// Callers read the clock once and decide on that reading throughout: a
// step falling due between two readings would look held to the second.
func (k *gossipKeyring) advanceLocked(now time.Time) {
	moved := false
	for len(k.st.Steps) > 0 && !k.st.Steps[0].At.After(now) && !k.heldLocked(now) {
		step := k.st.Steps[0]
		k.st.Keys = step.Keys
		k.st.Steps = k.st.Steps[1:]
		k.st.Version++
		// A step applied late (held, or nobody looked) pushes the later
		// ones back as much: each keeps its share of the grace to reach
		// the agents that do not acknowledge, which only time covers.
		if late := now.Sub(step.At); late > 0 {
			for i := range k.st.Steps {
				k.st.Steps[i].At = k.st.Steps[i].At.Add(late)
			}
		}
		moved = true
	}
	if moved {
		k.changedLocked()
	}
}

// heldLocked tells whether the step due at now waits: some agent that
// acknowledges the keyring does not hold the current version yet, which
// the step builds on (it may drop the key that agent encrypts with, or
// make primary one it lacks). The wait lasts at most the grace past the
// step's time, so an agent that never acknowledges (stuck, or lying)
// cannot keep a key from being retired; one held for dead (its TTL ran
// out, gossip declared it dead) or whose join token was revoked is not
// counted at all (registry).
func (k *gossipKeyring) heldLocked(now time.Time) bool {
	if k.behind == nil {
		return false
	}
	limit := k.st.Steps[0].At.Add(k.grace)
	n := k.behind(k.st.Version)
	switch {
	case n == 0:
		return false
	case !now.Before(limit):
		k.log.Warn().Uint64("version", k.st.Version).Int("instances", n).
			Msg("gossip key rotation goes on without instances that did not acknowledge the keyring within the grace: they may drop out of gossip until they do")
		return false
	}
	if k.waitLogged != k.st.Version {
		k.waitLogged = k.st.Version
		k.log.Info().Uint64("version", k.st.Version).Int("instances", n).Time("until", limit).
			Msg("gossip key rotation waits for instances to acknowledge the keyring")
	}
	return true
}

func (k *gossipKeyring) changedLocked() {
	if err := k.saveLocked(); err != nil {
		// The keyring in memory moves on: agents must not be left behind by a
		// full disk. A restart applies the steps saved with the rotation.
		k.log.Error().Err(err).Msg("gossip keyring not saved")
	}
	k.notifyLocked()
}

// notifyLocked tells the watchers of a change.
func (k *gossipKeyring) notifyLocked() {
	close(k.changed)
	k.changed = make(chan struct{})
	k.log.Info().Uint64("version", k.st.Version).Int("keys", len(k.st.Keys)).Msg("gossip keyring changed")
}

// Current is the keyring, base64 and primary first, and its version: the
// registry's Config.GossipKeys, called on every heartbeat. The slice is
// shared, not copied: a change replaces the keyring's slice and never
// writes into one handed out, and callers only read it.
func (k *gossipKeyring) Current() ([]string, uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.advanceLocked(k.now())
	return k.st.Keys, k.st.Version
}

// Keys is the keyring as a gossip node takes it.
func (k *gossipKeyring) Keys() ([][]byte, error) {
	keys, _ := k.Current()
	raw, err := gossip.ParseKeys(keys)
	if err != nil {
		return nil, fmt.Errorf("home's gossip keyring: %w", err)
	}
	return raw, nil
}

// watch returns a channel closed at the next change and when the next step
// falls due (zero when none is pending). A step held past its time
// (heldLocked) is applied by a heartbeat, which closes the channel, or at
// the end of its wait, which is then the time returned.
func (k *gossipKeyring) watch() (<-chan struct{}, time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.advanceLocked(now)
	var next time.Time
	if len(k.st.Steps) > 0 {
		next = k.st.Steps[0].At
		if !next.After(now) { // due by now yet not applied: held
			next = next.Add(k.grace)
		}
	}
	return k.changed, next
}

// Rotate starts a rotation to a new random key: added as a secondary at
// once, primary after half the grace, the old keys dropped at its end;
// each step later when it waits for agents to acknowledge the one before.
func (k *gossipKeyring) Rotate() (KeyRotation, error) {
	if k.path == "" {
		return KeyRotation{}, errKeyringFixed
	}
	key, err := gossip.GenerateKey()
	if err != nil {
		return KeyRotation{}, err
	}
	nk := gossip.EncodeKey(key)
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.advanceLocked(now)
	if len(k.st.Steps) > 0 {
		return KeyRotation{}, k.rotatingLocked(now)
	}
	old := k.st.Keys
	r := KeyRotation{PrimaryAt: now.Add(k.grace / 2), DropOldAt: now.Add(k.grace)}
	next := keyringState{Version: k.st.Version + 1, Keys: append(slices.Clone(old), nk), Steps: []keyringStep{
		{At: r.PrimaryAt, Keys: append([]string{nk}, old...)},
		{At: r.DropOldAt, Keys: []string{nk}},
	}}
	// Saved before anything changes: a rotation home could not keep would
	// be undone by a restart, bringing back the key it was meant to retire.
	// Its steps are saved with it, so a later step need not be.
	if err := k.save(next); err != nil {
		return KeyRotation{}, fmt.Errorf("the rotation did not start, the keyring is unchanged: %w (free space in the data dir, then rotate again)", err)
	}
	k.st = next
	r.Version = next.Version
	k.notifyLocked()
	return r, nil
}

// rotatingLocked is why Rotate refuses while the steps of another rotation
// are pending, naming a time still to come: the end of the rotation when
// its next step is not yet due; when that step is past its time it waits
// for agents to acknowledge the keyring (advanceLocked applied every step
// that was free to go), at most until its time and a grace, and the
// rotation's end is later than its steps say by as much.
func (k *gossipKeyring) rotatingLocked(now time.Time) error {
	step, last := k.st.Steps[0], k.st.Steps[len(k.st.Steps)-1]
	if step.At.After(now) {
		return fmt.Errorf("%w: it ends at %s, later if agents are slow to acknowledge the keyring; wait for it to end",
			errRotating, secondUp(last.At))
	}
	return fmt.Errorf("%w: its next step waits for agents to acknowledge the keyring, until %s at most; wait for it to end",
		errRotating, secondUp(step.At.Add(k.grace)))
}

// secondUp formats t in RFC 3339, which names whole seconds, rounded up:
// cut down, a time less than a second away would be named in the past.
func secondUp(t time.Time) string {
	if s := t.Truncate(time.Second); s.Before(t) {
		t = s.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}
