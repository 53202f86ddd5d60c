package policy

import (
	"crypto/sha256"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// maxIntrospectionConfigs bounds the token_introspection configurations
// whose answers a gateway keeps: a gateway serves one service, whose chain
// rarely holds more than one; the configurations it no longer runs go
// first.
const maxIntrospectionConfigs = 8

// introspections are one token_introspection configuration's answers and
// calls in flight, keyed by the SHA-256 of the token: the token itself is
// never kept. Its methods are safe for concurrent use.
type introspections struct {
	mu       sync.Mutex
	answers  *simplelru.LRU[[32]byte, keptAnswer] // nil: max_cached_tokens 0, nothing kept
	inflight map[[32]byte]*introspectionCall

	warned atomic.Bool // of plain HTTP off loopback (--oidc-insecure-issuers), once
}

// keptAnswer is whether a token was active, trusted until until.
type keptAnswer struct {
	active bool
	until  time.Time
}

// introspectionCall is a call to the endpoint that the requests with its
// token wait for; active and err are set before done is closed.
type introspectionCall struct {
	done   chan struct{}
	active bool
	err    error
}

// introspectionStore returns the answers of the configuration key, kept in
// env.Shared so that a chain rebuilt at a new revision keeps them, or new
// ones when there is no Shared (home's check) or none were kept. size is
// max_cached_tokens.
func introspectionStore(env *Env, key [32]byte, size int) *introspections {
	if env.Shared == nil {
		return newIntrospections(size)
	}
	all := env.Shared.Get("token_introspection", func() any {
		l, _ := simplelru.NewLRU[[32]byte, *introspections](maxIntrospectionConfigs, nil)
		return &introspectionStores{byConfig: l}
	}).(*introspectionStores)
	all.mu.Lock()
	defer all.mu.Unlock()
	if s, ok := all.byConfig.Get(key); ok {
		return s
	}
	s := newIntrospections(size)
	all.byConfig.Add(key, s)
	return s
}

// introspectionStores are the answers of the configurations the gateway
// ran lately, by configuration (tokenIntrospection.configKey).
type introspectionStores struct {
	mu       sync.Mutex
	byConfig *simplelru.LRU[[32]byte, *introspections]
}

func newIntrospections(size int) *introspections {
	s := &introspections{inflight: map[[32]byte]*introspectionCall{}}
	if size > 0 {
		s.answers, _ = simplelru.NewLRU[[32]byte, keptAnswer](size, nil)
	}
	return s
}

// begin returns the kept answer of key (cached true), or else the call in
// flight for it, started by this request when leader is true: the leader
// must make the call and finish it.
func (s *introspections) begin(key [32]byte, now time.Time) (active, cached bool, call *introspectionCall, leader bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers != nil {
		if a, ok := s.answers.Get(key); ok {
			if now.Before(a.until) {
				return a.active, true, nil, false
			}
			s.answers.Remove(key)
		}
	}
	if call, ok := s.inflight[key]; ok {
		return false, false, call, false
	}
	call = &introspectionCall{done: make(chan struct{})}
	s.inflight[key] = call
	return false, false, call, true
}

// finish publishes call's outcome to those waiting on it and keeps an
// answer for ttl from now when there is one to keep.
func (s *introspections) finish(key [32]byte, call *introspectionCall, ttl time.Duration, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call.err = err
	if err == nil && ttl > 0 && s.answers != nil {
		s.answers.Add(key, keptAnswer{active: call.active, until: now.Add(ttl)})
	}
	delete(s.inflight, key)
	close(call.done)
}

// configKey identifies the configuration's answers: a chain rebuilt with
// the same one keeps its cache, another starts afresh.
func (p *tokenIntrospection) configKey(secret string, maxCached int) [32]byte {
	h := sha256.New()
	for _, s := range []string{p.endpoint, p.authType, p.clientID, secret, p.audience, p.lifetime.String(), p.maxTTL.String(), strconv.Itoa(maxCached)} {
		_, _ = fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	if p.rsaKey != nil {
		_, _ = h.Write(p.rsaKey.N.Bytes())
	}
	return [32]byte(h.Sum(nil))
}

func (p *tokenIntrospection) now() time.Time {
	if p.env.Now != nil {
		return p.env.Now()
	}
	return time.Now()
}

// keepFor is how long an answer is kept: until exp, at most max_ttl_tokens;
// max_ttl_tokens without exp; 0 (not kept) with neither, or past exp.
func (p *tokenIntrospection) keepFor(exp any, now time.Time) time.Duration {
	var secs float64
	switch e := exp.(type) {
	case float64:
		secs = e
	case string: // APIcast's tonumber takes numeric strings too
		f, err := strconv.ParseFloat(strings.TrimSpace(e), 64)
		if err != nil {
			return p.maxTTL
		}
		secs = f
	default:
		return p.maxTTL
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) {
		return p.maxTTL
	}
	left := secs - float64(now.UnixNano())/1e9
	if p.maxTTL > 0 && left > p.maxTTL.Seconds() {
		return p.maxTTL
	}
	if left <= 0 {
		return 0
	}
	return time.Duration(min(left, 100*365*24*3600) * float64(time.Second))
}
