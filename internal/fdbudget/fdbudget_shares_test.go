package fdbudget

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The shares of a limit: a proxy's client connections take at most half of
// what is left after the reserve (one descriptor client side, one upstream:
// Envoy's "less than half of the system's file descriptor limit"), the
// process's own listeners share half the reserve, and a limit that bounds
// nothing (Docker's 1048576 raised by Go is still bounded; RLIM_INFINITY is
// not) leaves every bound as configured.
func TestSharesOfTheOpenFileLimit(t *testing.T) {
	assert.Equal(t, 96, ProxyConns(256), "a host of ulimit -n 256")
	assert.Equal(t, 384, ProxyConns(1024), "Docker's default soft limit")
	assert.Equal(t, 393216, ProxyConns(1048576), "Docker's usual hard limit, which Go raises to")
	assert.Equal(t, 0, ProxyConns(^uint64(0)), "unlimited")
	assert.Equal(t, 1, ProxyConns(10), "a tiny limit still serves")
	assert.Equal(t, 192, ServerConns(256), "a coordinator keeps the reserve for its store, gossip and Consul")
	assert.Equal(t, 10, OwnConns(256, 3), "three own listeners within 64 kept back")
	assert.Equal(t, 42, OwnConns(1024, 3))
	got, lowered := Bound(16384, ProxyConns(1024))
	assert.Equal(t, 384, got)
	assert.True(t, lowered)
	got, lowered = Bound(16384, 0)
	assert.Equal(t, 16384, got)
	assert.False(t, lowered)
}
