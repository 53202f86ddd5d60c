package policy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 9111 §5.2.2: directives are case-insensitive, may be spread over
// several header lines and quoted; an age that is not a number is read as
// "do not keep" (the safe side), a huge one is bounded.
func TestParseCacheControl(t *testing.T) {
	for in, want := range map[string]cacheControl{
		"":                             {maxAge: -1, sMaxAge: -1},
		"max-age=60":                   {maxAge: 60, sMaxAge: -1},
		`Max-Age="60", S-MAXAGE=5`:     {maxAge: 60, sMaxAge: 5},
		"no-store":                     {noStore: true, maxAge: -1, sMaxAge: -1},
		"private, no-cache":            {private: true, noCache: true, maxAge: -1, sMaxAge: -1},
		"public,must-revalidate":       {public: true, mustRevalidate: true, maxAge: -1, sMaxAge: -1},
		"max-age=-1":                   {noStore: true, maxAge: -1, sMaxAge: -1},
		"max-age=soon":                 {noStore: true, maxAge: -1, sMaxAge: -1},
		"max-age=99999999999999999999": {noStore: true, maxAge: -1, sMaxAge: -1},
		"max-age=9999999999":           {maxAge: maxCacheAge, sMaxAge: -1},
		"immutable, stale-if-error=60": {maxAge: -1, sMaxAge: -1},
	} {
		assert.Equal(t, want, parseCacheControl(strings.Split(in, "\n")), in)
	}
	assert.Equal(t, cacheControl{public: true, maxAge: 10, sMaxAge: -1}, parseCacheControl([]string{"public", "max-age=10"}))
}

// Whatever the header says, the parser returns ages within bounds.
func FuzzParseCacheControl(f *testing.F) {
	for _, seed := range []string{"max-age=60", `s-maxage="5", public`, "no-store,no-cache,private", "max-age=", "=,=,", "max-age=18446744073709551616"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cc := parseCacheControl([]string{v})
		for _, age := range []int64{cc.maxAge, cc.sMaxAge} {
			if age < -1 || age > maxCacheAge {
				t.Fatalf("%q: age %d out of bounds", v, age)
			}
		}
	})
}

// The statuses, the max time and the upstream's Cache-Control and Expires,
// as contentCache.cacheable's comment says.
func TestContentCacheCacheable(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	c := newContentCache(ContentCaching{})
	get := httptest.NewRequest("GET", "/", nil)
	withAuth := httptest.NewRequest("GET", "/", nil)
	withAuth.Header.Set("Authorization", "Basic eDp5")
	cc := func(v string) http.Header { return http.Header{"Cache-Control": {v}} }
	expires := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		r      *http.Request
		status int
		h      http.Header
		ttl    time.Duration // 0: not kept
	}{
		{get, 200, nil, time.Minute},
		{get, 302, nil, time.Minute},
		{get, 404, nil, 0},
		{httptest.NewRequest("POST", "/", nil), 200, nil, 0},
		{httptest.NewRequest("HEAD", "/", nil), 200, nil, 0},
		{get, 200, cc("max-age=5"), 5 * time.Second},
		{get, 200, cc("max-age=5, s-maxage=7"), 7 * time.Second},
		{get, 200, cc("max-age=3600"), time.Hour},
		{get, 200, http.Header{"Expires": {expires(90 * time.Second)}}, 90 * time.Second},
		{get, 200, http.Header{"Expires": {expires(-time.Hour)}}, 0},
		{get, 200, http.Header{"Expires": {"0"}}, 0},
		{get, 200, http.Header{"Cache-Control": {"max-age=30"}, "Expires": {expires(time.Hour)}}, 30 * time.Second},
		{get, 200, cc("no-store"), 0},
		{get, 200, http.Header{"Set-Cookie": {"a=b"}}, 0},
		{get, 200, http.Header{"Vary": {"Accept", "*"}}, 0},
		{withAuth, 200, nil, 0},
		{withAuth, 200, cc("public"), time.Minute},
		{withAuth, 200, cc("s-maxage=10"), 10 * time.Second},
	} {
		exp, ok := c.cacheable(tc.r, tc.status, tc.h, now)
		name := fmt.Sprintf("%s %d %v", tc.r.Method, tc.status, tc.h)
		if tc.ttl == 0 {
			assert.False(t, ok, name)
			continue
		}
		require.True(t, ok, name)
		assert.Equal(t, tc.ttl, exp.Sub(now), name)
	}
}

// The cache stays within its byte budget, evicting the least recently used
// first, and does not keep a response larger than a sixteenth of it.
func TestContentCacheBudget(t *testing.T) {
	c := newContentCache(ContentCaching{MaxBytes: 16 << 10})
	body := make([]byte, 700)
	for i := range 40 {
		c.put(fmt.Sprint(i), &cachedResponse{status: 200, body: body})
		c.get("0") // the first stays in use
		assert.LessOrEqual(t, c.bytes, int64(16<<10))
	}
	assert.NotNil(t, c.get("0"), "recently used")
	assert.NotNil(t, c.get("39"))
	assert.Nil(t, c.get("1"), "least recently used: evicted")

	c.put("big", &cachedResponse{status: 200, body: make([]byte, 1100)})
	assert.Nil(t, c.get("big"), "over a sixteenth of the budget")

	r := newContentCache(ContentCaching{MaxBytes: 16 << 10})
	r.put("k", &cachedResponse{status: 200, body: make([]byte, 700)})
	small := &cachedResponse{status: 200, body: make([]byte, 10)}
	for range 100 {
		r.put("k", small)
	}
	assert.Equal(t, entrySize("k", small), r.bytes, "a replaced response's bytes are given back")
	assert.NotNil(t, r.get("k"))
}
