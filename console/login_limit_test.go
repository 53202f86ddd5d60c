package console

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.Contains(t, body, "Too many refused tokens from your address: try again in 60 seconds.")

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
		l.failed(key(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)), now)
	}
	assert.Equal(t, loginLimitEntries, l.fails.Len(), "the table is bounded")
	for range 3 * loginFailures {
		l.failed(key("192.0.2.1:1"), now)
	}
	w, _ := l.fails.Get(netipPrefix(t, "192.0.2.1/32"))
	assert.Equal(t, loginFailures, w.n, "the count saturates")
	wait, refused := l.refused(key("192.0.2.1:2"), now.Add(10*time.Second))
	assert.True(t, refused)
	assert.Equal(t, 50*time.Second, wait)
}

func netipPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	require.NoError(t, err)
	return p
}
