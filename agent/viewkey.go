package agent

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/atomicfile"
)

// ViewKeyFile keeps, in the cache dir (0600), the view key home last handed
// this agent: an agent restarted while home is down still opens its peers'
// views and seals its own.
const ViewKeyFile = "view-key"

// viewKeyring is the agent's view key (registry.RegisterReply.ViewKey): its
// gossip node seals the agent's view with it and opens only views sealed
// with it, so that an agent of another service, or anyone holding the
// cluster keyring, reads nothing of this service's secrets. It implements
// gossip.Envelope. Without a key (an older home) views travel as they are,
// as they did before home had view keys. Its zero value holds no key.
//
// A new placement in another service brings another key, but the agent
// still holds its old service's view until home's view of the new one is
// installed: until then it opens with the new key (to take the new view
// from its new peers) and seals with the old one, so that what it serves
// reaches only the old service's agents.
type viewKeyring struct {
	open atomic.Pointer[gossip.KeyEnvelope] // nil: no key
	seal atomic.Pointer[gossip.KeyEnvelope] // nil: no key

	mu      sync.Mutex // guards what follows
	raw     []byte
	pending *gossip.KeyEnvelope // seals once a view of revision pendingAt or newer is installed
	pendAt  uint64
	warned  bool // the agent said once that home sent no key
}

// Seal implements gossip.Envelope.
func (k *viewKeyring) Seal(plain []byte) ([]byte, error) {
	if e := k.seal.Load(); e != nil {
		return e.Seal(plain)
	}
	return plain, nil
}

// Open implements gossip.Envelope.
func (k *viewKeyring) Open(sealed []byte) ([]byte, error) {
	if e := k.open.Load(); e != nil {
		return e.Open(sealed)
	}
	return sealed, nil
}

// set installs key, for the view of revision placedAt on; false when it was
// the key in use already. A first key seals at once; a change of key seals
// once the agent holds a view of revision placedAt or newer: held tells the
// revision it holds now, else installed hears of it.
func (k *viewKeyring) set(key []byte, placedAt uint64, held func() uint64) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.raw != nil && bytes.Equal(k.raw, key) {
		return false, nil
	}
	e, err := gossip.NewKeyEnvelope(key)
	if err != nil {
		return false, err
	}
	first := k.raw == nil
	k.raw = bytes.Clone(key)
	k.open.Store(e)
	// Under mu: an install between held and here calls installed after.
	if first || held() >= placedAt {
		k.seal.Store(e)
		k.pending = nil
		return true, nil
	}
	k.pending, k.pendAt = e, placedAt
	return true, nil
}

// installed hears that the agent installed the view of revision rev: one
// at or past the placement that brought a new key is of the new service,
// and is sealed with its key from then on.
func (k *viewKeyring) installed(rev uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pending != nil && rev >= k.pendAt {
		k.seal.Store(k.pending)
		k.pending = nil
	}
}

// loadViewKey installs the cached view key, if any, before gossip starts.
func (a *Agent) loadViewKey() {
	if a.cfg.CacheDir == "" {
		return
	}
	path := filepath.Join(a.cfg.CacheDir, ViewKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		_, err = a.installViewKey(string(bytes.TrimSpace(b)), 0)
	}
	if err != nil {
		a.log.Warn().Err(err).Str("file", path).Msg("ignoring the cached view key: peers' views open once home hands one")
	}
}

// viewKeyFromHome installs the view key home handed in a registration reply
// (registration set) or a heartbeat reply, with the placement of revision
// placedAt, and caches it. A registration
// reply without one comes from a home older than view keys: the agent then
// shares its view as before, readable by every holder of the gossip
// keyring, and says so once.
func (a *Agent) viewKeyFromHome(encoded string, placedAt uint64, registration bool) {
	k := &a.viewKey
	if encoded == "" {
		if !registration {
			return
		}
		k.mu.Lock()
		warn := !k.warned
		k.warned = true
		k.mu.Unlock()
		if warn && a.cfg.Gossip != nil {
			a.log.Warn().Msg("home sent no view key (is home older than this agent?): this agent's composition, secrets included, " +
				"travels gossip readable by any holder of the gossip keyring")
		}
		return
	}
	changed, err := a.installViewKey(encoded, placedAt)
	if err != nil {
		a.log.Warn().Err(err).Msg("home's view key is unusable; keeping the one in use")
		return
	}
	if !changed || a.cfg.CacheDir == "" {
		return
	}
	if err = os.MkdirAll(a.cfg.CacheDir, 0o700); err == nil {
		err = atomicfile.Write(filepath.Join(a.cfg.CacheDir, ViewKeyFile), []byte(encoded+"\n"), 0o600)
	}
	if err != nil {
		a.log.Warn().Err(err).Msg("view key not cached: a restart while home is down takes no view from peers")
	}
}

// installViewKey decodes and installs a base64 view key (viewKeyring.set).
func (a *Agent) installViewKey(encoded string, placedAt uint64) (bool, error) {
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return false, fmt.Errorf("view key: %w", err)
	}
	return a.viewKey.set(key, placedAt, func() uint64 { rev, _ := a.comp.Latest(); return rev })
}
