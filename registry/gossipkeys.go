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

// gossipKeysFor is the gossip keyring (keys at version, from gossipKeyring)
// to hand in with a reply to in: the whole keyring when in was last given
// another version of it (at registration, always), else nil. Registry.mu is
// held.
//
// Home hands the keyring only over the agent API, to registered instances:
// that channel is authenticated (and TLS off loopback), gossip is not yet.
// Remembering the version per instance sends each rotation step once, rather
// than on every heartbeat; an instance that misses it (a reply lost on the
// way) gets the keyring again when it registers anew.
func gossipKeysFor(in *instance, keys []string, version uint64) []string {
	if len(keys) == 0 || version == in.keysSent {
		return nil
	}
	in.keysSent = version
	return keys
}
