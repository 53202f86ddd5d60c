package agent

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
)

// Files in --cache-dir (0600, in a 0700 dir).
const (
	// CacheFile is the newest signed view, exactly as received.
	CacheFile = "composition.json"
	// SigningKeyCacheFile is home's composition signing key (public), as
	// learned at registration over TLS: what lets an agent restarted while
	// home is down verify its cache and its peers' views.
	SigningKeyCacheFile = "signing-key.pub"
)

// maxRefusals bounds the revisions remembered as refused (for logging once).
const maxRefusals = 256

// compositionCache holds the newest signed view the agent took, from home,
// a peer or its cache dir, and keeps it in the cache dir so an agent
// restarted while home is down still serves it. It never moves back to an
// older revision, except once after home's key changed (another home).
type compositionCache struct {
	dir string // "" keeps it in memory only

	mu       sync.RWMutex
	pub      ed25519.PublicKey // home's signing key; nil until known
	rekeyed  bool              // the key changed: the next view is taken whatever its revision
	revision uint64
	view     []byte        // the signed view, as received: what gossip serves and the cache file holds
	doc      []byte        // its composition document
	changed  chan struct{} // closed and replaced on every install
	unsaved  bool          // view is not in the cache dir yet (it could not be written)
	refused  map[uint64]bool
	behind   uint64 // home's last revision older than the one held, logged once
}

func newCompositionCache(dir string) *compositionCache {
	return &compositionCache{dir: dir, changed: make(chan struct{}), refused: map[uint64]bool{}}
}

// loadFiles reads the kept signing key, and returns the cached view (nil
// when there is none) for the caller to verify.
func (c *compositionCache) loadFiles() ([]byte, error) {
	if c.dir == "" {
		return nil, nil
	}
	k, err := atomicfile.ReadBounded(filepath.Join(c.dir, SigningKeyCacheFile), 1<<10)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read home's signing key: %w", err)
	default:
		pub, err := pki.ParsePublicKey(strings.TrimSpace(string(k)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(c.dir, SigningKeyCacheFile), err)
		}
		c.mu.Lock()
		c.pub = pub
		c.mu.Unlock()
	}
	b, err := atomicfile.ReadBounded(filepath.Join(c.dir, CacheFile), registry.MaxViewBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read composition cache: %w", err)
	}
	return b, nil
}

// key is home's signing key, nil until known.
func (c *compositionCache) key() ed25519.PublicKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pub
}

// setKey takes home's signing key and keeps it in the cache dir; it reports
// whether it differs from the one held.
func (c *compositionCache) setKey(pub ed25519.PublicKey) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pub.Equal(pub) {
		return false, nil
	}
	c.rekeyed = c.pub != nil || c.view == nil
	c.pub = pub
	if c.dir == "" {
		return true, nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return true, fmt.Errorf("keep home's signing key: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(c.dir, SigningKeyCacheFile), []byte(pki.EncodePublicKey(pub)+"\n"), 0o600); err != nil {
		return true, fmt.Errorf("keep home's signing key: %w", err)
	}
	return true, nil
}

// awaitingRekeyed reports whether home's key changed and no view under
// the new one is taken yet: the next is taken whatever its revision, so
// home is asked for its newest rather than for one above the revision held.
func (c *compositionCache) awaitingRekeyed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rekeyed
}

// Latest returns the newest revision and its signed view (nil when none):
// what gossip serves to peers.
func (c *compositionCache) Latest() (uint64, []byte) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.revision, c.view
}

// document returns the newest revision and its composition document.
func (c *compositionCache) document() (uint64, []byte) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.revision, c.doc
}

// offer installs v (verified by the caller; raw is its encoding, which the
// cache file holds already when inFile) when it is newer than what the
// cache holds, and reports whether it did; saveErr is
// why the cache dir could not keep it. A view is installed even then (a
// full disk must not hold back a suspended application or a lowered
// limit); it stays unsaved, and saveUnsaved writes it later.
func (c *compositionCache) offer(v *registry.SignedView, raw []byte, inFile bool) (installed bool, saveErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v.Revision <= c.revision && !c.rekeyed {
		return false, nil
	}
	c.revision, c.view, c.doc, c.rekeyed = v.Revision, raw, v.Document, false
	close(c.changed)
	c.changed = make(chan struct{})
	c.unsaved = c.dir != "" && !inFile
	return true, c.saveLocked()
}

// saveUnsaved writes the installed view to the cache dir if offer could
// not; saved reports that it did now.
func (c *compositionCache) saveUnsaved() (saved bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.unsaved {
		return false, nil
	}
	if err := c.saveLocked(); err != nil {
		return false, err
	}
	return true, nil
}

// saveLocked writes the installed view to the cache dir when it is not
// there yet; c.mu is held.
func (c *compositionCache) saveLocked() error {
	if !c.unsaved {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("cache composition: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(c.dir, CacheFile), c.view, 0o600); err != nil {
		return fmt.Errorf("cache composition: %w", err)
	}
	c.unsaved = false
	return nil
}

// firstRefusal reports whether revision is refused for the first time, so
// that a peer offering the same forgery again is logged once.
func (c *compositionCache) firstRefusal(revision uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused[revision] {
		return false
	}
	if len(c.refused) >= maxRefusals {
		clear(c.refused)
	}
	c.refused[revision] = true
	return true
}

// firstBehind reports whether home's revision, older than the one held, is
// heard for the first time, so that the watch asking home every 30 s logs
// it once, and each new (still older) revision of home's again.
func (c *compositionCache) firstBehind(revision uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.behind == revision {
		return false
	}
	c.behind = revision
	return true
}
