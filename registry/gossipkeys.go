package registry

// PathAdminGossipRotateKey is the coordinator's admin call that rotates the
// gossip keyring (POST, admin access token).
const PathAdminGossipRotateKey = "/admin/portolan/gossip/rotate-key"

// gossipKeysFor is the gossip keyring to hand in with a reply to in: the
// whole keyring when in was last given another version of it (at
// registration, always), else nil. Registry.mu is held.
//
// Home hands the keyring only over the agent API, to registered instances:
// that channel is authenticated (and TLS off loopback), gossip is not yet.
// Remembering the version per instance sends each rotation step once, rather
// than on every heartbeat; an instance that misses it (a reply lost on the
// way) gets the keyring again when it registers anew.
func (r *Registry) gossipKeysFor(in *instance) []string {
	if r.keyring == nil {
		return nil
	}
	keys, version := r.keyring()
	if len(keys) == 0 || version == in.keysSent {
		return nil
	}
	in.keysSent = version
	return keys
}
