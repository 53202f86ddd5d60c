package policy

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// ContentCaching is how the gateway keeps the responses content_caching
// selects, what APIcast sets with APICAST_CACHE_STATUS_CODES and
// APICAST_CACHE_MAX_TIME (and nginx's proxy_cache_path for the size). Zero
// fields take the defaults below.
type ContentCaching struct {
	StatusCodes []int         // statuses kept; default 200 and 302, as APIcast's
	MaxTime     time.Duration // how long a response without Cache-Control or Expires is kept; default 1m, as APIcast's
	MaxBytes    int64         // memory for kept responses, all services together; default 16 MiB
}

// Content caching defaults.
const (
	DefaultCacheMaxTime  = time.Minute
	DefaultCacheMaxBytes = 16 << 20

	maxCacheEntries = 10_000 // however small the responses
)

// DefaultCacheStatusCodes are APIcast's APICAST_CACHE_STATUS_CODES default.
func DefaultCacheStatusCodes() []int { return []int{200, 302} }

func (s ContentCaching) withDefaults() ContentCaching {
	if len(s.StatusCodes) == 0 {
		s.StatusCodes = DefaultCacheStatusCodes()
	}
	if s.MaxTime <= 0 {
		s.MaxTime = DefaultCacheMaxTime
	}
	if s.MaxBytes <= 0 {
		s.MaxBytes = DefaultCacheMaxBytes
	}
	return s
}

// cachedResponse is one kept response: what the upstream sent, before any
// header filter ran, as nginx keeps it.
type cachedResponse struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
	vary    []string // the request headers the response varies on (canonical names)
	varied  []string // their values in the request that fetched it, joined by ", "
	size    int64
}

// fresh reports whether the response may still be served at now.
func (e *cachedResponse) fresh(now time.Time) bool { return now.Before(e.expires) }

// matches reports whether the request r asks for this variant (Vary).
func (e *cachedResponse) matches(r *http.Request) bool {
	for i, name := range e.vary {
		if strings.Join(r.Header.Values(name), ", ") != e.varied[i] {
			return false
		}
	}
	return true
}

// contentCache keeps responses for every service of a gateway, least
// recently used evicted first, within a byte budget and a count.
type contentCache struct {
	settings ContentCaching
	maxEntry int64 // a response larger than this is not kept

	mu    sync.Mutex
	lru   *simplelru.LRU[string, *cachedResponse]
	bytes int64
}

func newContentCache(s ContentCaching) *contentCache {
	s = s.withDefaults()
	c := &contentCache{settings: s, maxEntry: max(s.MaxBytes/16, 1)}
	// The callback runs under c.mu: every LRU call is made holding it.
	c.lru, _ = simplelru.NewLRU(maxCacheEntries, func(_ string, e *cachedResponse) { c.bytes -= e.size })
	return c
}

// get returns the response kept under key, fresh or not (nil: none).
func (c *contentCache) get(key string) *cachedResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _ := c.lru.Get(key)
	return e
}

// put keeps e under key, evicting the least recently used responses until
// it fits.
func (c *contentCache) put(key string, e *cachedResponse) {
	e.size = entrySize(key, e)
	if e.size > c.maxEntry {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(key) // a replaced entry's size goes out through the callback (Add would not call it)
	c.lru.Add(key, e)
	c.bytes += e.size
	for c.bytes > c.settings.MaxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// entrySize is what a kept response costs, roughly: its bytes and the
// headers' strings, plus the bookkeeping around them.
func entrySize(key string, e *cachedResponse) int64 {
	n := int64(len(key) + len(e.body) + 256)
	for k, vs := range e.header {
		n += int64(len(k)) + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	for i := range e.vary {
		n += int64(len(e.vary[i]) + len(e.varied[i]) + 32)
	}
	return n
}

// cacheable decides whether a complete response of status with header h,
// to request r, may be kept, and until when. It follows what nginx's
// proxy_cache does with APIcast's settings (statuses, max time; the
// upstream's Cache-Control max-age or Expires override the max time; no-store,
// no-cache, private, a Set-Cookie or "Vary: *" keep it out) and RFC 9111's
// rules for shared caches where nginx is laxer: s-maxage first, and a
// request with Authorization is kept only when the response says it may be
// (public, s-maxage or must-revalidate).
func (c *contentCache) cacheable(r *http.Request, status int, h http.Header, now time.Time) (time.Time, bool) {
	if r.Method != http.MethodGet || !slices.Contains(c.settings.StatusCodes, status) {
		return time.Time{}, false
	}
	if len(h["Set-Cookie"]) > 0 || slices.Contains(h.Values("Vary"), "*") {
		return time.Time{}, false
	}
	cc := parseCacheControl(h.Values("Cache-Control"))
	if cc.noStore || cc.noCache || cc.private {
		return time.Time{}, false
	}
	if r.Header.Get("Authorization") != "" && !cc.public && !cc.mustRevalidate && cc.sMaxAge < 0 {
		return time.Time{}, false
	}
	ttl := c.settings.MaxTime
	switch {
	case cc.sMaxAge >= 0:
		ttl = time.Duration(cc.sMaxAge) * time.Second
	case cc.maxAge >= 0:
		ttl = time.Duration(cc.maxAge) * time.Second
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil {
			return time.Time{}, false // an invalid date means already expired (RFC 9111 §5.3)
		}
		ttl = exp.Sub(now)
	}
	if ttl <= 0 {
		return time.Time{}, false
	}
	return now.Add(ttl), true
}

// cacheControl is what a response's Cache-Control says to a shared cache;
// ages are -1 when absent.
type cacheControl struct {
	noStore, noCache, private, public, mustRevalidate bool
	maxAge, sMaxAge                                   int64
}

// maxCacheAge bounds an age so that it cannot overflow a time.Duration.
const maxCacheAge = 1 << 31

// parseCacheControl reads the directives of Cache-Control header values
// (RFC 9111 §5.2), case-insensitively. A directive it does not know is
// ignored; an age that is not a plain non-negative number makes the
// response not kept (no-store), the safe reading.
func parseCacheControl(values []string) cacheControl {
	cc := cacheControl{maxAge: -1, sMaxAge: -1}
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			switch name {
			case "no-store":
				cc.noStore = true
			case "no-cache":
				cc.noCache = true
			case "private":
				cc.private = true
			case "public":
				cc.public = true
			case "must-revalidate", "proxy-revalidate":
				cc.mustRevalidate = true
			case "max-age", "s-maxage":
				age, err := strconv.ParseUint(arg, 10, 64)
				if err != nil {
					cc.noStore = true
					continue
				}
				age = min(age, maxCacheAge)
				if name == "max-age" {
					cc.maxAge = int64(age)
				} else {
					cc.sMaxAge = int64(age)
				}
			}
		}
	}
	return cc
}
