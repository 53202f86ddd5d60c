package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/atomicfile"
)

// GossipKeysFile keeps, in the cache dir (0600), the gossip keyring home
// last handed this agent: an agent restarted while home is down still
// gossips with its peers.
const GossipKeysFile = "gossip-keys.json"

// gossipKeyring is the agent's gossip keyring: from --gossip-key, the cache
// or home. Its zero value holds no keys.
type gossipKeyring struct {
	mu      sync.Mutex
	keys    [][]byte
	arrived chan struct{} // closed when the first keys are known; made on first use
	node    *gossip.Node  // set once gossip runs: new keys go straight to it
	warned  bool          // the insecure agent said once that it ignores home's keys
	// version is the version of home's keyring this agent took (installed,
	// or ignored by choice: --gossip-insecure, no gossip), named in its
	// heartbeats so that home hands the keyring again until it arrives.
	// 0 before home handed one with a version (a home that predates them,
	// which refuses the field).
	version uint64
}

// arrivedLocked is the channel closed once keys are known.
func (k *gossipKeyring) arrivedLocked() chan struct{} {
	if k.arrived == nil {
		k.arrived = make(chan struct{})
	}
	return k.arrived
}

// initialGossipKeys is the keyring gossip can start with before home
// answers: --gossip-key, else the cache's; nil when there is none.
func (a *Agent) initialGossipKeys() [][]byte {
	if len(a.cfg.Gossip.Keys) > 0 {
		return a.cfg.Gossip.Keys
	}
	keys, err := a.loadGossipKeys()
	if err != nil {
		a.log.Warn().Err(err).Msg("ignoring the cached gossip keyring: gossip starts once home hands one")
		return nil
	}
	if keys != nil {
		a.log.Info().Str("cache_dir", a.cfg.CacheDir).Msg("gossip starts with the cached keyring until home hands a newer one")
	}
	return keys
}

// gossipKeysFromHome installs the keyring home handed, at version, in a
// registration (registered true) or heartbeat reply: in the running node at
// once (memberlist's keyring, no restart), or for gossip to start with; and
// in the cache. The version is taken once the keys are in use (or ignored
// by choice), so that a keyring the node refused comes again; a
// registration resets it, as the home answering may predate versions.
func (a *Agent) gossipKeysFromHome(encoded []string, version uint64, registered bool) {
	k := &a.gossipKeys
	k.mu.Lock()
	defer k.mu.Unlock()
	if registered {
		k.version = 0
	}
	if len(encoded) == 0 {
		return
	}
	if a.cfg.Gossip == nil {
		k.version = version
		return
	}
	if a.cfg.Gossip.Insecure {
		if !k.warned {
			k.warned = true
			a.log.Warn().Msg("home hands a gossip keyring but --gossip-insecure is set: gossip stays unencrypted and cannot reach encrypted nodes")
		}
		k.version = version
		return
	}
	keys, err := gossip.ParseKeys(encoded)
	if err != nil {
		a.log.Warn().Err(err).Msg("home's gossip keyring is unusable; keeping the one in use")
		return
	}
	if gossip.SameKeys(k.keys, keys) {
		k.version = version
		return
	}
	if k.node != nil {
		if err := k.node.SetKeys(keys); err != nil {
			a.log.Warn().Err(err).Msg("gossip keyring from home not installed; home hands it again")
			return
		}
	}
	k.keys = keys
	k.version = version
	if err := a.saveGossipKeys(keys); err != nil {
		a.log.Warn().Err(err).Msg("gossip keyring not cached: a restart while home is down waits for home to gossip")
	}
	if k.node != nil {
		return
	}
	select {
	case <-k.arrivedLocked():
	default:
		close(k.arrived)
	}
}

// gossipKeysVersion is the version of home's keyring the agent holds, for
// its heartbeats (registry.Heartbeat.GossipKeysVersion); 0 for none.
func (a *Agent) gossipKeysVersion() uint64 {
	a.gossipKeys.mu.Lock()
	defer a.gossipKeys.mu.Unlock()
	return a.gossipKeys.version
}

// awaitGossipKeys returns the channel closed when home's keys arrive.
func (a *Agent) awaitGossipKeys() <-chan struct{} {
	a.gossipKeys.mu.Lock()
	defer a.gossipKeys.mu.Unlock()
	return a.gossipKeys.arrivedLocked()
}

// startedGossip records the running node and installs keys that came from
// home after keys (the ones it started with) were read.
func (a *Agent) startedGossip(n *gossip.Node, keys [][]byte) {
	k := &a.gossipKeys
	k.mu.Lock()
	defer k.mu.Unlock()
	k.node = n
	if k.keys != nil && !gossip.SameKeys(k.keys, keys) {
		if err := n.SetKeys(k.keys); err != nil {
			a.log.Warn().Err(err).Msg("gossip keyring from home not installed")
		}
	}
}

// homeGossipKeys is the keyring home handed, nil before it did.
func (a *Agent) homeGossipKeys() [][]byte {
	a.gossipKeys.mu.Lock()
	defer a.gossipKeys.mu.Unlock()
	return a.gossipKeys.keys
}

// loadGossipKeys reads the cached keyring; nil without a cache dir or file.
func (a *Agent) loadGossipKeys() ([][]byte, error) {
	if a.cfg.CacheDir == "" {
		return nil, nil
	}
	path := filepath.Join(a.cfg.CacheDir, GossipKeysFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var encoded []string
	if err := json.Unmarshal(b, &encoded); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	keys, err := gossip.ParseKeys(encoded)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// saveGossipKeys caches the keyring (0600 in a 0700 dir it makes).
func (a *Agent) saveGossipKeys(keys [][]byte) error {
	if a.cfg.CacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(a.cfg.CacheDir, 0o700); err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	b, err := json.Marshal(gossip.EncodeKeys(keys))
	if err != nil {
		return fmt.Errorf("encode gossip keyring: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(a.cfg.CacheDir, GossipKeysFile), b, 0o600); err != nil {
		return fmt.Errorf("cache gossip keyring: %w", err)
	}
	return nil
}
