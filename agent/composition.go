package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/backoff"
)

// CacheFile is the composition's file in --cache-dir.
const CacheFile = "composition.json"

// maxCompositionBytes bounds a composition document from home, a peer or the cache.
const maxCompositionBytes = 64 << 20

// compositionCache holds the newest composition document the agent has seen,
// from home or from a peer, and keeps it in the cache dir so an agent
// restarted while home is down still serves it. It never moves back to an
// older revision.
type compositionCache struct {
	dir string // "" keeps it in memory only

	mu       sync.RWMutex
	revision uint64
	doc      []byte
	changed  chan struct{} // closed and replaced on every install
}

func newCompositionCache(dir string) *compositionCache {
	return &compositionCache{dir: dir, changed: make(chan struct{})}
}

// load reads the cached document, if any; a damaged cache is ignored, not fatal.
func (c *compositionCache) load() (uint64, error) {
	if c.dir == "" {
		return 0, nil
	}
	b, err := os.ReadFile(filepath.Join(c.dir, CacheFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read composition cache: %w", err)
	}
	rev, err := revisionOf(b)
	if err != nil {
		return 0, fmt.Errorf("composition cache %s: %w", filepath.Join(c.dir, CacheFile), err)
	}
	c.mu.Lock()
	c.revision, c.doc = rev, b
	c.mu.Unlock()
	return rev, nil
}

// Latest returns the newest revision and its document (nil when none).
func (c *compositionCache) Latest() (uint64, []byte) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.revision, c.doc
}

// offer installs doc when it is valid and newer than what the cache holds,
// and reports whether it did.
func (c *compositionCache) offer(doc []byte) (bool, error) {
	rev, err := revisionOf(doc)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev <= c.revision {
		return false, nil
	}
	if c.dir != "" {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return false, fmt.Errorf("cache composition: %w", err)
		}
		if err := atomicfile.Write(filepath.Join(c.dir, CacheFile), doc, 0o600); err != nil {
			return false, fmt.Errorf("cache composition: %w", err)
		}
	}
	c.revision, c.doc = rev, doc
	close(c.changed)
	c.changed = make(chan struct{})
	return true, nil
}

// revisionOf validates a composition document and returns its revision.
func revisionOf(doc []byte) (uint64, error) {
	if len(doc) > maxCompositionBytes {
		return 0, fmt.Errorf("composition document of %d bytes is over the %d-byte limit", len(doc), maxCompositionBytes)
	}
	var d composition.Document
	if err := json.Unmarshal(doc, &d); err != nil {
		return 0, fmt.Errorf("malformed composition document: %w", err)
	}
	if d.Format != composition.DocumentFormat {
		return 0, fmt.Errorf("composition document format %q, want %q", d.Format, composition.DocumentFormat)
	}
	return d.Revision, nil
}

// watchComposition follows home's composition with blocking queries and offers
// every new revision to the cache. While home is down it retries with backoff.
func (a *Agent) watchComposition(ctx context.Context) {
	// Back within a second of home returning.
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for ctx.Err() == nil {
		rev, _ := a.comp.Latest()
		doc, err := a.composition(ctx, rev, 30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Debug().Err(err).Msg("composition watch")
			}
			if !retry.Wait(ctx) {
				return
			}
			continue
		}
		retry.Reset()
		if doc == nil {
			continue
		}
		a.installComposition(doc, "home")
	}
}

// installComposition offers doc to the cache and, when it is newer, tells
// the rest of the agent (and gossip) about it.
func (a *Agent) installComposition(doc []byte, from string) {
	ok, err := a.comp.offer(doc)
	if err != nil {
		a.log.Warn().Err(err).Str("from", from).Msg("composition refused")
		return
	}
	if !ok {
		return
	}
	rev, _ := a.comp.Latest()
	a.m.revision.Set(float64(rev))
	a.log.Info().Uint64("revision", rev).Str("from", from).Msg("composition updated")
	if a.onComposition != nil {
		a.onComposition(rev, from)
	}
}

// composition asks home for the composition newer than index, blocking up to
// wait; it returns nil when nothing newer came in time.
func (a *Agent) composition(ctx context.Context, index uint64, wait time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	doc, _, err := a.home.Composition(ctx, index, wait) // revisionOf bounds and checks it
	return doc, err
}
