package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/portolan/portolan/composition"
)

// The rate_limit policy's three limiters, with lua-resty-limit-traffic's
// arithmetic (limit.count, limit.req, limit.conn), over counters kept in the
// gateway's Shared state.

type rlKind uint8

const (
	rlConnections rlKind = iota
	rlLeakyBucket
	rlFixedWindow
)

func (k rlKind) String() string {
	switch k {
	case rlConnections:
		return "connections"
	case rlLeakyBucket:
		return "leaky_bucket"
	}
	return "fixed_window"
}

// errRLRejected is a limiter's "over the limit".
var errRLRejected = errors.New("rejected")

const (
	// rlMaxKeys bounds each kind's counters on one gateway; the least
	// recently used key goes first (its count starts over if it comes back).
	rlMaxKeys = 100_000
	// rlMaxBytes bounds the memory of each kind's counters as well, as
	// APIcast's fixed "lua_shared_dict limiter 1m" does: at ~280 bytes a
	// counter, 100,000 keys of each kind were 87 MB, more than a small
	// agent has. 4 MiB holds ~10,000 keys of rlMaxKeyLen, ~14,000 of an IP.
	rlMaxBytes = 4 << 20
	// rlEntryOverhead is what a counter costs besides its key's bytes: the
	// rlState, the LRU's element and its map slot, the map's slack (measured: ~200 bytes).
	rlEntryOverhead = 256
	// rlMaxKeyLen: longer keys (a client's header, say) are kept as their
	// SHA-256, so a counter costs little whatever the client sends.
	rlMaxKeyLen = 128
	// rlMaxWindow is the longest fixed window, in seconds: the longest a
	// time.Duration holds.
	rlMaxWindow = int64(math.MaxInt64 / time.Second)
)

// MaxHomeWindow is the longest fixed window, in seconds, that home counts
// across the cluster (366 days): home keeps every open window in memory,
// and forgets a batch's id after a week, so a longer one is no rate limit
// it can hold. A limiter counted through home (scope global, or with
// redis_url) is refused past it rather than left counted by each gateway
// alone.
const MaxHomeWindow = 366 * 24 * 3600

// rlLimiter is one configured limiter.
type rlLimiter struct {
	field string // e.g. "fixed_window_limiters[0]", for logs
	kind  rlKind
	key   *Template
	// prefix is APIcast's, "<service id>_<kind>_" for scope service and
	// "<kind>_" for global, and for a fixed window counted here its
	// window's length before it ("60s_"), so that limiters of one key with
	// different windows count apart, as APIcast's keys, which start with
	// the window's start, do (one counter would start the other's window
	// over at every request, and neither would ever limit).
	prefix string
	cond   *condition
	store  *rlStore
	home   GlobalCounter // fixed windows counted cluster-wide; nil counts them here

	count, window int64   // fixed window
	rate, burst   float64 // leaky bucket: requests per second, excess requests delayed
	conn, connB   int64   // connections: concurrent, excess delayed
	delay         time.Duration
}

func buildLimiter(field string, kind rlKind, c rlLimiterConfig, env *Env, redis bool) (*rlLimiter, error) {
	l := &rlLimiter{field: field, kind: kind}
	if c.Key == nil {
		return nil, Invalid(field+".key", "is required")
	}
	if c.Key.Name == nil {
		return nil, Invalid(field+".key.name", "is required")
	}
	nameType, err := OneOf(field+".key.name_type", c.Key.NameType, "plain", "plain", "liquid")
	if err != nil {
		return nil, err
	}
	if l.key, err = CompileTemplate(field+".key.name", *c.Key.Name, nameType == "liquid"); err != nil {
		return nil, err
	}
	scope, err := OneOf(field+".key.scope", c.Key.Scope, "service", "service", "global")
	if err != nil {
		return nil, err
	}
	if scope == "global" {
		l.prefix = kind.String() + "_"
	} else {
		l.prefix = strconv.FormatInt(env.ServiceID, 10) + "_" + kind.String() + "_"
	}
	if c.Condition != nil {
		if l.cond, err = compileCondition(field+".condition", c.Condition, conditionRules{}); err != nil {
			return nil, err
		}
	}
	switch kind {
	case rlFixedWindow:
		if c.Count == nil {
			return nil, Invalid(field+".count", "is required")
		}
		if *c.Count <= 0 {
			return nil, Invalid(field+".count", "must be greater than 0, not %d", *c.Count)
		}
		if c.Window == nil {
			return nil, Invalid(field+".window", "is required")
		}
		if *c.Window < 0 {
			return nil, Invalid(field+".window", "must be at least 0, not %d", *c.Window)
		}
		// APIcast takes a window of 0 as 1; one longer than a
		// time.Duration holds (292 years) is that long, which is as
		// good as forever, rather than a length that overflows to a
		// window already ended, whose count would start over each time.
		l.count, l.window = *c.Count, min(max(*c.Window, 1), rlMaxWindow)
		if scope == "global" || redis {
			if l.window > MaxHomeWindow {
				return nil, Invalid(field+".window", "is %d seconds: a limit counted across the cluster (scope global, or redis_url) is counted at home, for at most 366 days (%d seconds)",
					l.window, MaxHomeWindow)
			}
			l.home = env.Global
		}
		if l.home == nil {
			l.prefix = strconv.FormatInt(l.window, 10) + "s_" + l.prefix
		}
	case rlLeakyBucket:
		if c.Rate == nil {
			return nil, Invalid(field+".rate", "is required")
		}
		if *c.Rate <= 0 {
			return nil, Invalid(field+".rate", "must be greater than 0, not %d", *c.Rate)
		}
		if c.Burst != nil && *c.Burst < 0 {
			return nil, Invalid(field+".burst", "must be at least 0, not %d", *c.Burst)
		}
		l.rate = float64(*c.Rate)
		if c.Burst != nil {
			l.burst = float64(*c.Burst)
		}
	case rlConnections:
		if c.Conn == nil {
			return nil, Invalid(field+".conn", "is required")
		}
		if *c.Conn <= 0 {
			return nil, Invalid(field+".conn", "must be greater than 0, not %d", *c.Conn)
		}
		if c.Burst != nil && *c.Burst < 0 {
			return nil, Invalid(field+".burst", "must be at least 0, not %d", *c.Burst)
		}
		if c.Delay == nil {
			return nil, Invalid(field+".delay", "is required")
		}
		if !(*c.Delay > 0) {
			return nil, Invalid(field+".delay", "must be greater than 0, not %v", *c.Delay)
		}
		l.conn, l.delay = *c.Conn, seconds(*c.Delay)
		if c.Burst != nil {
			l.connB = *c.Burst
		}
	}
	l.store = rlStoreOf(env, kind)
	return l, nil
}

// fullKey is the counter's key for c's request.
func (l *rlLimiter) fullKey(c *Context, env *Env) string {
	k := l.prefix + l.key.Render(c, env)
	if len(k) > rlMaxKeyLen {
		sum := sha256.Sum256([]byte(k))
		k = l.prefix + "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// incoming counts a request under key and says how long it must wait, or
// errRLRejected (nothing counted then).
func (l *rlLimiter) incoming(key string, now time.Time) (time.Duration, error) {
	if l.kind == rlFixedWindow && l.home != nil {
		start := time.Unix(windowStart(now, l.window), 0)
		win := time.Duration(l.window) * time.Second
		n, err := l.home.AddGlobal(key, start, win, 1)
		if err != nil {
			return 0, fmt.Errorf("count %s cluster-wide: %w", key, err)
		}
		if n > l.count {
			_, _ = l.home.AddGlobal(key, start, win, -1)
			return 0, errRLRejected
		}
		return 0, nil
	}
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.lru.Get(key)
	if !ok {
		st = &rlState{}
		s.add(key, st)
	}
	switch l.kind {
	case rlFixedWindow:
		if start := windowStart(now, l.window); movesWindow(st.start, start, l.window) {
			st.start, st.n = start, 0
		}
		if st.n+1 > l.count {
			return 0, errRLRejected
		}
		st.n++
		return 0, nil
	case rlLeakyBucket:
		if !ok || st.last.IsZero() {
			st.excess, st.last = 0, now
			return 0, nil
		}
		elapsed := now.Sub(st.last).Seconds()
		if elapsed < 0 {
			elapsed = -elapsed
		}
		excess := max(st.excess-l.rate*elapsed+1, 0)
		if excess > l.burst {
			return 0, errRLRejected
		}
		st.excess, st.last = excess, now
		return seconds(excess / l.rate), nil
	default:
		n := st.n + 1
		if n > composition.AddSaturating(l.conn, l.connB) { // a burst of MaxInt64: no bound
			return 0, errRLRejected
		}
		st.n = n
		if n > l.conn {
			// limit.conn: excess connections wait a delay per conn ahead
			// of them; past the most a request waits, that most.
			steps := time.Duration((n - 1) / l.conn)
			if l.delay > maxRateLimitDelay/steps {
				return maxRateLimitDelay, nil
			}
			return l.delay * steps, nil
		}
		return 0, nil
	}
}

// uncommit takes back what incoming counted under key: a request another
// limiter rejected, or a connection leaving.
func (l *rlLimiter) uncommit(key string, now time.Time) {
	if l.kind == rlFixedWindow && l.home != nil {
		_, _ = l.home.AddGlobal(key, time.Unix(windowStart(now, l.window), 0), time.Duration(l.window)*time.Second, -1)
		return
	}
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.lru.Peek(key)
	if !ok {
		return // evicted meanwhile: nothing to take back
	}
	switch l.kind {
	case rlFixedWindow:
		if !movesWindow(st.start, windowStart(now, l.window), l.window) && st.n > 0 {
			st.n--
		}
	case rlLeakyBucket:
		st.excess = max(st.excess-1, 0)
	default:
		if st.n > 0 {
			st.n--
		}
	}
}

// movesWindow says whether a fixed window counter at start moves to the
// window at next. The wall clock steps (NTP, a Raspberry Pi without an RTC):
// a step back of less than a window keeps counting in the window it had
// reached, as nginx's limit_req gives a clock gone back no credit, where
// starting the earlier window over would let the limit through again, and
// once more when the clock reached the later window anew. A step back of
// more than a window is a new clock, counted from its window: waiting for
// the old clock's window would block a client for the length of the step.
func movesWindow(start, next, window int64) bool {
	return next > start || next < start-window
}

func windowStart(now time.Time, window int64) int64 {
	t := now.Unix()
	return t - t%window
}

// rlStore is one kind's counters on one gateway, within rlMaxKeys and
// rlMaxBytes.
type rlStore struct {
	mu    sync.Mutex
	lru   *simplelru.LRU[string, *rlState]
	bytes int64 // the counters' cost, rlEntryOverhead and their keys
}

// add keeps a new counter under key, evicting the least recently used ones
// past rlMaxBytes. s.mu is held.
func (s *rlStore) add(key string, st *rlState) {
	s.lru.Add(key, st)
	s.bytes += int64(len(key) + rlEntryOverhead)
	for s.bytes > rlMaxBytes {
		if _, _, ok := s.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// rlState is one key's counter.
type rlState struct {
	n      int64     // requests in the window (fixed window), connections (connections)
	start  int64     // the window's start, unix seconds (fixed window)
	excess float64   // requests over the rate (leaky bucket)
	last   time.Time // the last request counted (leaky bucket)
}

// rlStoreOf returns the gateway's store of kind, made the first time.
func rlStoreOf(env *Env, kind rlKind) *rlStore {
	mk := func() any {
		s := &rlStore{}
		// The callback runs under s.mu, as every LRU call is made holding it.
		s.lru, _ = simplelru.NewLRU(rlMaxKeys, func(k string, _ *rlState) { s.bytes -= int64(len(k) + rlEntryOverhead) }) // only a size ≤ 0 fails
		return s
	}
	if env.Shared == nil {
		return mk().(*rlStore)
	}
	return env.Shared.Get("rate_limit/"+kind.String(), mk).(*rlStore)
}
