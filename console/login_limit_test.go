package console

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// After loginFailures refused tokens in a minute, an address is refused
// even the right token, with Retry-After, until the minute is over.
func TestFailedLoginsAreLimitedPerAddress(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	_, srv := newFleet(t, 1).consoleAt(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	hc := newBrowser(t)
	login := func(token string) *http.Response { return postLogin(t, hc, srv, token) }
	for i := range loginFailures {
		resp := login(fmt.Sprintf("guess-%d", i))
		readBody(t, resp)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "guess %d", i)
	}
	resp := login(testToken)
	body := readBody(t, resp)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the right token too, once the address is refused")
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Contains(t, body, "Too many login attempts from your address: try again in 60 seconds.")

	mu.Lock()
	now = now.Add(loginWindow)
	mu.Unlock()
	resp = login(testToken)
	readBody(t, resp)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a new window")
}

func TestLoginLimiterKeysAndBounds(t *testing.T) {
	c := &Console{} // no trusted proxy: the peer is the client
	req := func(addr string) *http.Request { return &http.Request{RemoteAddr: addr} }
	key := func(addr string) netip.Prefix {
		k, ok := c.clientKey(req(addr))
		require.True(t, ok, addr)
		return k
	}
	for addr, want := range map[string]string{
		"192.0.2.7:5555":              "192.0.2.7/32",
		"[::ffff:192.0.2.7]:5555":     "192.0.2.7/32",
		"[2001:db8:1:2:3:4:5:6]:5555": "2001:db8:1:2::/64",
		"[2001:db8:1:2::9]:80":        "2001:db8:1:2::/64",
	} {
		assert.Equal(t, want, key(addr).String(), addr)
	}
	_, ok := c.clientKey(req("@"))
	assert.False(t, ok, "no address: not limited")

	l := newLoginLimiter()
	now := time.Now()
	for i := range loginLimitEntries + 100 {
		l.reserve(key(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)), now)
	}
	assert.Equal(t, loginLimitEntries, l.fails.Len(), "the table is bounded")
	for range 3 * loginFailures {
		l.reserve(key("192.0.2.1:1"), now)
	}
	w, _ := l.fails.Get(netipPrefix(t, "192.0.2.1/32"))
	assert.Equal(t, loginFailures, w.n, "the count saturates")
	_, wait, refused := l.reserve(key("192.0.2.1:2"), now.Add(10*time.Second))
	assert.Equal(t, addrRefused, refused)
	assert.Equal(t, 50*time.Second, wait)
}

// An accepted token gives its attempt's slot back: however many times an
// operator logs in, their address keeps its loginFailures refused tokens
// a window, and no more (the slot an attempt takes before its check,
// released, leaves nothing behind).
func TestAcceptedLoginsGiveTheirSlotBack(t *testing.T) {
	l := newLoginLimiter()
	now := time.Now()
	k := addrKey(netip.MustParseAddr("2001:db8:1:2::1"))
	for range loginFailures - 1 {
		_, _, why := l.reserve(k, now)
		require.Equal(t, notRefused, why)
	}
	for i := range 3 * loginFailures {
		a, _, why := l.reserve(k, now)
		require.Equal(t, notRefused, why, "login %d", i)
		l.release(a)
	}
	_, _, why := l.reserve(k, now)
	assert.Equal(t, notRefused, why, "the last refused token of the window")
	_, wait, why := l.reserve(k, now)
	assert.Equal(t, addrRefused, why, "then the address waits")
	assert.Equal(t, loginWindow, wait)
	b, _ := blockKey(k)
	w, _ := l.blocks.Get(b)
	assert.Equal(t, loginFailures, w.n, "the /48 counts the refused tokens alone")
	l.release(attempt{}) // an attempt that took no slot gives nothing back
}

func netipPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	require.NoError(t, err)
	return p
}

// A guesser holding an IPv6 /48 cannot rotate through its 65,536 /64s to
// escape the per-/64 limit: after loginBlockFailures refused tokens from
// the /48 in a window, the whole /48 waits out that window (no longer),
// while other networks log in as before and one /64 alone cannot shut
// its /48.
func TestFailedLoginsAreLimitedPerIPv6Slash48(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	f := newFleet(t, 1)
	c, err := New(Config{Snapshot: f.store.Snapshot, Map: f.reg, Version: "test", Logger: zerolog.Nop(),
		Tokens:         threescale.NewStoreTokenChecker(f.store.Snapshot, testToken),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		Now:            func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	login := func(from, token string) *http.Response {
		t.Helper()
		resp := postLoginVia(t, newBrowser(t), srv, token, from)
		readBody(t, resp)
		return resp
	}
	// One /64 alone is stopped by its own limit and leaves its /48 open.
	for i := range 3 * loginFailures {
		login("2001:db8:aaaa:1::1", fmt.Sprintf("guess-%d", i))
	}
	assert.Equal(t, http.StatusSeeOther, login("2001:db8:aaaa:2::7", testToken).StatusCode,
		"one /64's failures do not shut its /48")

	// A guesser rotating /64s: each /64 stays under its own limit.
	for i := range loginBlockFailures {
		from := fmt.Sprintf("2001:db8:bbbb:%x::1", i)
		require.Equal(t, http.StatusUnauthorized, login(from, fmt.Sprintf("guess-%d", i)).StatusCode, "guess %d from %s", i, from)
	}
	resp := postLoginVia(t, newBrowser(t), srv, testToken, "2001:db8:bbbb:ffff::1")
	body := readBody(t, resp)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a fresh /64 of the same /48 is refused")
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Contains(t, body, "Too many login attempts from your network: try again in 60 seconds.")
	assert.Equal(t, http.StatusSeeOther, login("2001:db8:cccc:1::1", testToken).StatusCode, "another /48 logs in")
	assert.Equal(t, http.StatusSeeOther, login("192.0.2.1", testToken).StatusCode, "an IPv4 client logs in")

	// The lock is bounded: once the window is over, the /48's honest
	// users are back.
	mu.Lock()
	now = now.Add(loginWindow)
	mu.Unlock()
	assert.Equal(t, http.StatusSeeOther, login("2001:db8:bbbb:ffff::1", testToken).StatusCode, "a new window")
}

func TestLoginLimiterCountsIPv6BlocksApart(t *testing.T) {
	l := newLoginLimiter()
	now := time.Now()
	for i := range loginBlockFailures {
		l.reserve(addrKey(netip.MustParseAddr(fmt.Sprintf("2001:db8:1:%x::1", i))), now)
	}
	_, _, refused := l.reserve(addrKey(netip.MustParseAddr("2001:db8:1:ffff::1")), now)
	assert.Equal(t, blockRefused, refused, "the /48 is refused")
	_, _, refused = l.reserve(addrKey(netip.MustParseAddr("2001:db8:2::1")), now)
	assert.Equal(t, notRefused, refused, "the next /48 is not")
	for i := range loginFailures * 2 {
		l.reserve(addrKey(netip.MustParseAddr(fmt.Sprintf("10.0.%d.1", i))), now)
	}
	_, _, refused = l.reserve(addrKey(netip.MustParseAddr("10.0.99.1")), now)
	assert.Equal(t, notRefused, refused, "IPv4 addresses are counted one by one")

	for i := range 2 * loginLimitEntries {
		l.reserve(addrKey(netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::1", i))), now)
	}
	assert.Equal(t, loginLimitEntries, l.blocks.Len(), "the table of blocks is bounded")
}

// postLoginVia is postLogin through a trusted proxy that forwards for
// client; an empty client sends no X-Forwarded-For.
func postLoginVia(tb testing.TB, hc *http.Client, srv *httptest.Server, token, client string) *http.Response {
	tb.Helper()
	resp, err := hc.Get(srv.URL + Prefix + "login")
	require.NoError(tb, err)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(readBody(tb, resp))
	require.NotNil(tb, csrf, "the login form carries a CSRF token")
	req, err := http.NewRequest(http.MethodPost, srv.URL+Prefix+"login",
		strings.NewReader(url.Values{"csrf": {csrf[1]}, "token": {token}, "next": {"/ui/map"}}.Encode()))
	require.NoError(tb, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	resp, err = hc.Do(req)
	require.NoError(tb, err)
	return resp
}

// gatedSnapshot is a store's Snapshot that, once armed, holds every caller
// (the token check reads the store's tokens through it) until opened, and
// counts them: a test sees how many logins reached the token check at once.
type gatedSnapshot struct {
	snapshot func() *composition.Snapshot
	mu       sync.Mutex
	cond     *sync.Cond
	armed    bool
	open     bool
	inside   int // callers held, or let through once opened
	refused  int // logins refused before the check (the test counts them)
}

func newGatedSnapshot(snapshot func() *composition.Snapshot) *gatedSnapshot {
	g := &gatedSnapshot{snapshot: snapshot}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gatedSnapshot) Snapshot() *composition.Snapshot {
	g.mu.Lock()
	if g.armed {
		g.inside++
		g.cond.Broadcast()
		for !g.open {
			g.cond.Wait()
		}
	}
	g.mu.Unlock()
	return g.snapshot()
}

// Many wrong tokens sent at once from one address get no more checks than
// loginFailures: each attempt takes its slot before its token is checked,
// so the attempts past the limit are refused 429 while the first ones are
// still being checked, not let through because none has failed yet.
func TestConcurrentWrongLoginsFromOneAddressGetNoMoreChecksThanTheLimit(t *testing.T) {
	const attempts = 100
	f := newFleet(t, 1)
	gate := newGatedSnapshot(f.store.Snapshot)
	c, err := New(Config{Snapshot: f.store.Snapshot, Map: f.reg, Version: "test", Logger: zerolog.Nop(),
		Tokens: threescale.NewStoreTokenChecker(gate.Snapshot, testToken)})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	hc := newBrowser(t)
	resp, err := hc.Get(srv.URL + Prefix + "login")
	require.NoError(t, err)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(readBody(t, resp))
	require.NotNil(t, csrf, "the login form carries a CSRF token")

	gate.mu.Lock()
	gate.armed = true
	gate.mu.Unlock()
	statuses := make(chan int, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, srv.URL+Prefix+"login", strings.NewReader(
				url.Values{"csrf": {csrf[1]}, "token": {fmt.Sprintf("guess-%d", i)}}.Encode()))
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", srv.URL)
			resp, err := hc.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				gate.mu.Lock()
				gate.refused++
				gate.cond.Broadcast()
				gate.mu.Unlock()
			}
			statuses <- resp.StatusCode
		})
	}
	// Every attempt is either held in its token check or refused: none is
	// still on its way, so the count below is not a matter of timing.
	stop := time.AfterFunc(2*time.Minute, func() { gate.mu.Lock(); gate.open = true; gate.cond.Broadcast(); gate.mu.Unlock() })
	defer stop.Stop()
	gate.mu.Lock()
	for gate.inside+gate.refused < attempts && !gate.open {
		gate.cond.Wait()
	}
	checked, refused := gate.inside, gate.refused
	gate.open = true
	gate.cond.Broadcast()
	gate.mu.Unlock()
	wg.Wait()
	close(statuses)
	byStatus := map[int]int{}
	for s := range statuses {
		byStatus[s]++
	}
	assert.Equal(t, loginFailures, checked, "tokens checked at once from one address")
	assert.Equal(t, attempts-loginFailures, refused, "attempts refused before their check")
	assert.Equal(t, map[int]int{http.StatusUnauthorized: loginFailures, http.StatusTooManyRequests: attempts - loginFailures}, byStatus)
}
