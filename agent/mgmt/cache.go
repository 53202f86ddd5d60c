package mgmt

import (
	"container/list"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of the management proxy's read cache.
const (
	DefaultCacheEntries = 1024
	DefaultCacheBytes   = 32 << 20
)

// cachedAnswer is one GET answer as the app got it.
type cachedAnswer struct {
	key    string
	status int
	header http.Header
	body   []byte
	stored time.Time
}

// size is what the entry counts against the cache's byte bound.
func (e *cachedAnswer) size() int64 {
	n := int64(len(e.key) + len(e.body))
	for k, vs := range e.header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v))
		}
	}
	return n
}

// answerCache keeps the last good answer of GETs, least recently used first
// out, bounded both in entries and in bytes. The proxy answers from it only
// while the upstream fails (stale-if-error), never instead of asking. Safe
// for concurrent use.
type answerCache struct {
	maxEntries int
	maxBytes   int64

	mu    sync.Mutex
	bytes int64
	order *list.List // of *cachedAnswer, most recently used first
	byKey map[string]*list.Element
}

func newAnswerCache(maxEntries int, maxBytes int64) *answerCache {
	return &answerCache{maxEntries: maxEntries, maxBytes: maxBytes, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the entry for key, if any.
func (c *answerCache) get(key string) (*cachedAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cachedAnswer), true
}

// put stores e, replacing any entry with its key, and evicts the least
// recently used entries beyond the bounds. An entry bigger than an eighth of
// the byte bound is not kept, so one large answer cannot flush the rest.
func (c *answerCache) put(e *cachedAnswer) {
	if c.maxEntries <= 0 || e.size() > c.maxBytes/8 {
		c.remove(e.key)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok {
		c.drop(el)
	}
	c.byKey[e.key] = c.order.PushFront(e)
	c.bytes += e.size()
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.drop(c.order.Back())
	}
}

// remove forgets key.
func (c *answerCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.drop(el)
	}
}

// removePath forgets every answer kept for path, whatever its query,
// Accept or body: what a write to path made out of date.
func (c *answerCache) removePath(path string) {
	prefix := path + "?" // cacheKey's: the canonical path holds no "?"
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, el := range c.byKey {
		if strings.HasPrefix(key, prefix) {
			c.drop(el)
		}
	}
}

// drop removes el; c.mu is held.
func (c *answerCache) drop(el *list.Element) {
	e := c.order.Remove(el).(*cachedAnswer)
	delete(c.byKey, e.key)
	c.bytes -= e.size()
}

// stats returns the number of entries and their bytes.
func (c *answerCache) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
