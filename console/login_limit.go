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
// IPv6 client is keyed by its /64, the block one host usually holds. The
// table keeps the loginLimitEntries addresses seen last, so many addresses
// cannot grow it; an address evicted starts again from no failure.
const (
	loginFailures     = 10
	loginWindow       = time.Minute
	loginLimitEntries = 4096
)

// loginLimiter counts failed logins by client address.
type loginLimiter struct {
	mu    sync.Mutex
	fails *simplelru.LRU[netip.Prefix, *failWindow]
}

// failWindow counts the failures of one address since start.
type failWindow struct {
	start time.Time
	n     int
}

func newLoginLimiter() *loginLimiter {
	l, _ := simplelru.NewLRU[netip.Prefix, *failWindow](loginLimitEntries, nil) // errors only on a size ≤ 0
	return &loginLimiter{fails: l}
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

// refused reports whether the client counted under k has used up its
// failures, and for how long it still has.
func (l *loginLimiter) refused(k netip.Prefix, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.fails.Get(k)
	if !ok || now.Sub(w.start) >= loginWindow || w.n < loginFailures {
		return 0, false
	}
	return w.start.Add(loginWindow).Sub(now), true
}

// failed counts a refused token from the client counted under k.
func (l *loginLimiter) failed(k netip.Prefix, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.fails.Get(k)
	if !ok || now.Sub(w.start) >= loginWindow {
		l.fails.Add(k, &failWindow{start: now, n: 1})
		return
	}
	if w.n < loginFailures {
		w.n++
	}
}
