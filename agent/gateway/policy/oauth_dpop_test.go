package policy

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 9449 section 4.3: "servers SHOULD employ syntax-based normalization
// (Section 6.2.2 of [RFC3986]) and scheme-based normalization (Section
// 6.2.3 of [RFC3986]) before comparing the htu claim", which is compared
// "ignoring any query and fragment parts".
func TestDPoPHTUNormalization(t *testing.T) {
	for in, want := range map[string]string{
		"https://API.Example.com:443/a/b":   "https://api.example.com/a/b",
		"HTTP://api.example.com:80":         "http://api.example.com/",
		"http://api.example.com:/x?q=1#f":   "http://api.example.com/x",
		"http://h:8080/%7e%2f%2F":           "http://h:8080/~%2F%2F",
		"http://h/a/./b/../c/.":             "http://h/a/c/",
		"http://h/a/..":                     "http://h/",
		"http://[::1]:80/x":                 "http://[::1]/x",
		"https://h:80/x":                    "https://h:80/x",
		"http://h/%41":                      "http://h/A",
		"http://h/a/%2e%2E/b":               "http://h/b",
		"http://h/a//b":                     "http://h/a//b",
		"http://h/pa%c3%a9th":               "http://h/pa%C3%A9th",
		"https://h/x#only-a-fragment?not=q": "https://h/x",
	} {
		got, ok := normalizeHTU(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"/relative", "ftp://h/x", "http://user:pw@h/x", "mailto:x@h", "http:///x", "%zz", "http://h/%41%zz"} {
		_, ok := normalizeHTU(in)
		assert.False(t, ok, in)
	}
}

// RFC 9449 section 11.1: "Servers SHOULD store ... the jti value of each
// DPoP proof for the time window in which the respective DPoP proof JWT
// would be accepted", and "If a server detects a DPoP proof replay, it
// MUST refuse the request". A key keeps dpopReplayPerKey proofs: past it,
// it forgets its earliest and refuses its own proofs created no later
// than that one, so a forgotten proof can never pass again; newer ones
// still do, and another key's are not touched.
func TestDPoPReplayBoundedPerKeyAndExact(t *testing.T) {
	d := newDPoPReplay()
	now := time.Unix(1_700_000_000, 0)
	base := now.Add(-dpopReplayPerKey * time.Millisecond)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) }
	for i := range dpopReplayPerKey {
		require.NoError(t, d.admit("a", strconv.Itoa(i), at(i), now))
	}
	assert.ErrorIs(t, d.admit("a", "0", at(0), now), errDPoPReplayed)
	require.NoError(t, d.admit("a", "last", now, now), "one past capacity: the earliest is forgotten")
	assert.Len(t, dpopKey(t, d, "a").ring, dpopReplayPerKey)
	assert.ErrorIs(t, d.admit("a", "0", at(0), now), errDPoPForgotten, "the forgotten proof")
	assert.ErrorIs(t, d.admit("a", "other", at(0), now), errDPoPForgotten, "another proof as old")
	assert.ErrorIs(t, d.admit("a", "1", at(1), now), errDPoPReplayed, "still remembered")
	assert.NoError(t, d.admit("a", "newer", at(0).Add(time.Microsecond), now), "newer than the forgotten one")

	assert.NoError(t, d.admit("b", "0", at(0), now), "another key: its own jti, its own threshold")
	assert.NoError(t, d.admit("b", "1", at(1), now), "another key: a jti of a's is not b's")
}

// dpopKey is what d keeps of key jkt.
func dpopKey(t *testing.T, d *dpopReplay, jkt string) *dpopKeyProofs {
	t.Helper()
	e, ok := d.keys[jkt]
	require.True(t, ok, "key %q is kept", jkt)
	return e.Value.(*dpopKeyProofs)
}

// One token holder floods the cache with proofs dated dpopMaxAhead ahead,
// the most the iat window lets in, more than the whole cache once held: it
// shuts out only itself, for as long as its proofs are ahead, and no
// threshold moves past the time it moves at. Another client's fresh proof
// passes all along (RFC 9449 section 11.1 only asks that a replay be
// refused).
func TestDPoPReplayFloodNarrowsOnlyItsOwnWindow(t *testing.T) {
	d := newDPoPReplay()
	now := time.Unix(1_800_000_000, 0)
	accepted, ahead := 0, now.Add(dpopMaxAhead)
	for i := range 1<<16 + 1 {
		switch err := d.admit("flooder", strconv.Itoa(i), ahead, now); {
		case err == nil:
			accepted++
		case !errors.Is(err, errDPoPAhead):
			require.FailNow(t, "the flooder's proofs past its share are refused as ahead", "proof %d: %v", i, err)
		}
	}
	require.NoError(t, d.admit("victim", "fresh", now.Add(time.Second), now), "another key, 1 s ahead")
	require.NoError(t, d.admit("victim", "older", now.Add(-30*time.Second), now), "another key, 30 s old")
	assert.Equal(t, dpopReplayPerKey, accepted, "the flooder's share")
	assert.ErrorIs(t, d.admit("flooder", "fresh", now, now), errDPoPAhead, "the flooder's own window")

	due := ahead.Add(time.Second)
	require.NoError(t, d.admit("flooder", "later", due, due), "once its proofs are due, it goes on")
	assert.Equal(t, ahead.UnixNano(), dpopKey(t, d, "flooder").floor, "its threshold: its forgotten proof's iat, not after now")
	assert.ErrorIs(t, d.admit("flooder", "0", ahead, due), errDPoPForgotten)
	for _, k := range []string{"flooder", "victim"} {
		assert.LessOrEqual(t, len(dpopKey(t, d, k).ring), dpopReplayPerKey)
	}
}

// The cache keeps at most dpopReplayKeys keys: a new one past it is
// refused while every kept key has proofs the window would accept, kept
// keys go on, and a key whose latest proof is dpopReplayKeep old is
// dropped whole (its proofs are all past the window), so a new key passes
// again.
func TestDPoPReplayKeysBounded(t *testing.T) {
	d := newDPoPReplay()
	now := time.Unix(1_800_000_000, 0)
	for i := range dpopReplayKeys {
		require.NoError(t, d.admit("key"+strconv.Itoa(i), "j", now, now))
	}
	assert.ErrorIs(t, d.admit("new", "j", now, now), errDPoPKeys)
	var full *dpopKeysFull
	require.ErrorAs(t, d.admit("new", "j", now, now.Add(10*time.Second)), &full)
	assert.Equal(t, dpopReplayKeep-10*time.Second, full.after, "when the idlest key (key1, last at now) is dropped")
	assert.NoError(t, d.admit("key0", "j2", now.Add(time.Second), now.Add(time.Second)), "a kept key goes on")

	later := now.Add(dpopReplayKeep + time.Nanosecond)
	assert.True(t, now.Add(dpopMaxAhead).Before(later.Add(-dpopMaxAge)), "what is dropped, the iat window refuses")
	require.NoError(t, d.admit("new", "j", later, later))
	assert.Len(t, d.keys, 2, "the new key and key0, accepted 1 s later")
	assert.Equal(t, 2, d.lru.Len())
	assert.ErrorIs(t, d.admit("key0", "j2", now.Add(time.Second), later), errDPoPReplayed, "key0 is still kept whole")
}

// A new key the full replay cache cannot take is the gateway's lack of
// room, not a bad proof: 503 with Retry-After (whole seconds, past the
// moment) until the cache drops its idlest key, and no DPoP challenge.
func TestDPoPFullReplayCacheIs503WithRetryAfter(t *testing.T) {
	d := newDPoPReplay()
	now := time.Unix(1_800_000_000, 0)
	for i := range dpopReplayKeys {
		require.NoError(t, d.admit("key"+strconv.Itoa(i), "j", now, now))
	}
	p := &oauthDPoP{replay: d}
	r := replayRefusal(d.admit("new", "j", now, now.Add(time.Second+time.Millisecond)))
	require.NotNil(t, r)
	require.ErrorIs(t, r.err, errDPoPKeys)

	w := httptest.NewRecorder()
	p.refuse(&Context{W: w, R: httptest.NewRequest(http.MethodGet, "/", nil)}, r)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, strconv.Itoa(int((dpopReplayKeep-time.Second)/time.Second)), w.Header().Get("Retry-After"))
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))
	assert.Contains(t, w.Body.String(), "replay cache is full")

	// A client back exactly when told finds the idlest key dropped.
	retry := now.Add(time.Second + time.Millisecond)
	secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.NoError(t, d.admit("new", "j", now, retry.Add(time.Duration(secs)*time.Second)))

	d = newDPoPReplay()
	for i := range dpopReplayKeys {
		require.NoError(t, d.admit("key"+strconv.Itoa(i), "j", now, now))
	}
	r = replayRefusal(d.admit("new", "j", now, now.Add(time.Second))) // whole seconds to the drop
	w = httptest.NewRecorder()
	p.refuse(&Context{W: w, R: httptest.NewRequest(http.MethodGet, "/", nil)}, r)
	secs, err = strconv.Atoi(w.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.NoError(t, d.admit("new", "j", now, now.Add(time.Second).Add(time.Duration(secs)*time.Second)))
}
