package policy

import (
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

// The replay cache is bounded: past its capacity it forgets the earliest
// proof and refuses every proof created no later than it, so a forgotten
// proof can never pass again; newer ones still do.
func TestDPoPReplayBoundedAndExact(t *testing.T) {
	d := newDPoPReplay()
	base := time.Unix(1_700_000_000, 0)
	key := func(i int) [32]byte { return dpopReplayKey("jkt", time.Duration(i).String()) }
	for i := range dpopReplayCapacity {
		require.NoError(t, d.admit(key(i), base.Add(time.Duration(i)*time.Millisecond)))
	}
	assert.ErrorIs(t, d.admit(key(0), base), errDPoPReplayed)
	require.NoError(t, d.admit(key(dpopReplayCapacity), base.Add(time.Hour)), "one past capacity: the earliest is forgotten")
	assert.Len(t, d.seen, dpopReplayCapacity)
	assert.Len(t, d.ring, dpopReplayCapacity)
	assert.ErrorIs(t, d.admit(key(0), base), errDPoPForgotten, "the forgotten proof")
	assert.ErrorIs(t, d.admit(key(-1), base), errDPoPForgotten, "another proof as old")
	assert.ErrorIs(t, d.admit(key(1), base.Add(time.Millisecond)), errDPoPReplayed, "still remembered")
	assert.NoError(t, d.admit(key(-2), base.Add(time.Second)), "newer than the forgotten one")
	assert.NotEqual(t, dpopReplayKey("a", "b"), dpopReplayKey("ab", ""), "key and jti are kept apart")
}
