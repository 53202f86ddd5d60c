package console

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Failed logins are limited per client address (behind trusted proxies,
// the address they forwarded: clientAddr): after loginFailures
// refused tokens within loginWindow, the address is refused outright (429,
// Retry-After) until that window ends. Generated tokens are too long to
// guess; the limit is for configured ones that are short (home warns of
// those) and keeps a guesser from making home hash tokens at its pace. An
// IPv6 client is keyed by its /64, the block one host usually holds.
//
// One holder of a /48 (a site's usual allocation) has 65,536 /64s to
// rotate through, so failures are also counted per /48: after
// loginBlockFailures within a window, the whole /48 is refused until that
// window ends. The lock is bounded as the address's is (at most
// loginWindow), and one /64 cannot bring it on alone: its own limit stops
// it at loginFailures, a fifth of the /48's. IPv4 addresses are counted
// one by one, as before: a /24 is often many unrelated users behind NAT.
//
// Each table keeps the loginLimitEntries keys seen last, so many
// addresses cannot grow it; a key evicted starts again from no failure.
const (
	loginFailures      = 10
	loginBlockFailures = 5 * loginFailures
	loginWindow        = time.Minute
	loginLimitEntries  = 4096
	// ipv6BlockBits is the IPv6 prefix counted as one network.
	ipv6BlockBits = 48
)

// refusal says whether, and why, a client may not try a token now.
type refusal int

const (
	notRefused   refusal = iota
	addrRefused          // the client's own address (or /64) used up its failures
	blockRefused         // the client's /48 did
)

// loginLimiter counts failed logins by client address and by IPv6 /48. An
// attempt counts as failed from the moment it starts (reserve) until its
// token is accepted (release).
type loginLimiter struct {
	mu     sync.Mutex
	fails  *simplelru.LRU[netip.Prefix, *failWindow] // by clientKey
	blocks *simplelru.LRU[netip.Prefix, *failWindow] // by blockKey
}

// failWindow counts the failures of one key since start.
type failWindow struct {
	start time.Time
	n     int
}

func newLoginLimiter() *loginLimiter {
	// NewLRU errors only on a size ≤ 0.
	fails, _ := simplelru.NewLRU[netip.Prefix, *failWindow](loginLimitEntries, nil)
	blocks, _ := simplelru.NewLRU[netip.Prefix, *failWindow](loginLimitEntries, nil)
	return &loginLimiter{fails: fails, blocks: blocks}
}

// clientKey is the key r's client is counted under (its address, from
// clientAddr); ok is false when the peer has no IP address (a test's, a
// Unix socket's), and then the request is not limited.
func (c *Console) clientKey(r *http.Request) (netip.Prefix, bool) {
	a, err := c.clientAddr(r)
	if err != nil {
		return netip.Prefix{}, false
	}
	return addrKey(a), true
}

// addrKey is an address's key: itself for IPv4, its /64 for IPv6.
func addrKey(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	return netip.PrefixFrom(a, 64).Masked()
}

// blockKey is the network a client key is also counted under: the /48 of
// an IPv6 key; ok is false for IPv4, counted by address alone.
func blockKey(k netip.Prefix) (netip.Prefix, bool) {
	if k.Addr().Is4() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(k.Addr(), ipv6BlockBits).Masked(), true
}

// attempt is the slot a login attempt holds in its client's windows
// (release gives it back); the zero attempt holds none.
type attempt struct {
	addr, block *failWindow
}

// reserve counts a login attempt from the client counted under k as a
// failure, and against its /48, before its token is checked, so that
// attempts sent at once cannot all pass a check that none has failed yet;
// an accepted token gives its slot back (release). When the client has
// used up its failures it takes no slot and reports why it is refused and
// for how long still.
func (l *loginLimiter) reserve(k netip.Prefix, now time.Time) (attempt, time.Duration, refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait, ok := usedUp(l.fails, k, loginFailures, now); ok {
		return attempt{}, wait, addrRefused
	}
	b, isBlock := blockKey(k)
	if isBlock {
		if wait, ok := usedUp(l.blocks, b, loginBlockFailures, now); ok {
			return attempt{}, wait, blockRefused
		}
	}
	a := attempt{addr: count(l.fails, k, loginFailures, now)}
	if isBlock {
		a.block = count(l.blocks, b, loginBlockFailures, now)
	}
	return a, 0, notRefused
}

// release gives back a's slot: its token was accepted. A window that has
// since ended, or left the table, is a count no longer read.
func (l *loginLimiter) release(a attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range []*failWindow{a.addr, a.block} {
		if w != nil && w.n > 0 {
			w.n--
		}
	}
}

// usedUp reports whether k has had limit failures in its current window,
// and how long that window has still to run.
func usedUp(t *simplelru.LRU[netip.Prefix, *failWindow], k netip.Prefix, limit int, now time.Time) (time.Duration, bool) {
	w, ok := t.Get(k)
	if !ok || now.Sub(w.start) >= loginWindow || w.n < limit {
		return 0, false
	}
	return w.start.Add(loginWindow).Sub(now), true
}

// count adds a failure to k's window, or starts a new window, and returns
// the window counted in; the count saturates at limit.
func count(t *simplelru.LRU[netip.Prefix, *failWindow], k netip.Prefix, limit int, now time.Time) *failWindow {
	w, ok := t.Get(k)
	if !ok || now.Sub(w.start) >= loginWindow {
		w = &failWindow{start: now}
		t.Add(k, w)
	}
	if w.n < limit {
		w.n++
	}
	return w
}
