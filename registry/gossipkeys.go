package registry

// PathAdminGossipRotateKey is the coordinator's admin call that rotates the
// gossip keyring (POST, admin access token).
const PathAdminGossipRotateKey = "/admin/portolan/gossip/rotate-key"

// gossipKeyring is the keyring as it is now, nil without one. It is read
// before Registry.mu is taken, so that the keyring's own lock and copy stay
// out of the registry's critical section.
func (r *Registry) gossipKeyring() (keys []string, version uint64) {
	if r.keyring == nil {
		return nil, 0
	}
	return r.keyring()
}

// Home hands the keyring only over the agent API, to registered instances:
// that channel is authenticated (and TLS off loopback), gossip is not yet.
//
// A step counts as delivered when the agent says it holds it
// (Heartbeat.GossipKeysVersion), not when home writes the reply carrying
// it: a reply lost on the way (a cut connection, the agent's timeout) would
// otherwise leave the agent a step behind for good, without the key the
// others encrypt with, or still accepting the one retired. So home hands
// the keyring on every heartbeat that names another version than the
// current one, and counts, per version, the instances that hold it
// (GossipKeysBehind), for the rotation to wait on.
//
// An agent that names no version (one that predates the field) gets each
// version once, on its first heartbeat after the change, as before; it is
// not waited for.

// keyHolders counts the instances that hold each version of the keyring,
// among those that say which they hold; guarded by Registry.mu. An
// instance is counted from its registration (its reply carries the
// version) until a heartbeat names no version, it is held for dead (TTL,
// gossip), its join token is revoked, or it is removed.
type keyHolders struct {
	byVersion map[uint64]int // at most one entry per counted instance
	n         int            // instances counted
}

// setLocked records that in holds version (0: in is not counted).
// Nothing is written when it already did, so a heartbeat that changes
// nothing costs nothing here.
func (h *keyHolders) setLocked(in *instance, version uint64) {
	if in.keysHeld == version {
		return
	}
	if old := in.keysHeld; old != 0 {
		if h.byVersion[old]--; h.byVersion[old] <= 0 {
			delete(h.byVersion, old)
		}
		h.n--
	}
	if version != 0 {
		if h.byVersion == nil {
			h.byVersion = map[uint64]int{}
		}
		h.byVersion[version]++
		h.n++
	}
	in.keysHeld = version
}

// GossipKeysBehind is the number of registered instances that say which
// version of the gossip keyring they hold and do not hold version: a
// rotation's next step waits until it is zero (coordinator). Agents that
// name no version are not counted.
func (r *Registry) GossipKeysBehind(version uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keyHolders.n - r.keyHolders.byVersion[version]
}

// gossipKeysAtRegistrationLocked is the keyring (keys at version, from
// gossipKeyring) and version to hand in with the registration of in: all
// of it, always. Registry.mu is held.
func (r *Registry) gossipKeysAtRegistrationLocked(in *instance, keys []string, version uint64) ([]string, uint64) {
	if len(keys) == 0 {
		return nil, 0
	}
	in.keysSent = version
	r.keyHolders.setLocked(in, version)
	return keys, version
}

// gossipKeysAtHeartbeatLocked is the keyring and version to hand in with
// the reply to a heartbeat of in that names held (0: none): the keyring
// whenever held is not version; to an agent that names none, when in was
// last given another version. Nil when there is nothing to hand.
// Registry.mu is held.
func (r *Registry) gossipKeysAtHeartbeatLocked(in *instance, held uint64, keys []string, version uint64) ([]string, uint64) {
	if len(keys) == 0 {
		return nil, 0
	}
	r.keyHolders.setLocked(in, held)
	if held == version || (held == 0 && in.keysSent == version) {
		return nil, 0
	}
	in.keysSent = version
	return keys, version
}

// forgetKeysLocked stops counting in: removed, or unable to acknowledge
// anything (its TTL ran out, gossip declared it dead, its join token was
// revoked), which a rotation would otherwise wait a whole grace for at
// each step. A heartbeat of in that names its version counts it again.
// Registry.mu is held.
func (r *Registry) forgetKeysLocked(in *instance) { r.keyHolders.setLocked(in, 0) }
