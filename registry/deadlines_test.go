package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// examined is how many heap entries the reaper has looked at.
func (f *fixture) examined() uint64 {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	return f.r.examined
}

func TestExpiryAtTheTTLExactly(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)

	f.tick(DefaultTTL - time.Nanosecond)
	assert.Equal(t, StatusPassing, f.status(t, "a"), "a nanosecond before its TTL")
	f.tick(time.Nanosecond)
	assert.Equal(t, StatusCritical, f.status(t, "a"), "at its TTL")
}

func TestHeartbeatPostponesExpiry(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)

	f.tick(4 * time.Second)
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	f.tick(DefaultTTL - 4*time.Second) // the first deadline: passed over, re-keyed
	assert.Equal(t, StatusPassing, f.status(t, "a"), "the heartbeat moved its deadline")
	f.tick(4*time.Second - time.Nanosecond)
	assert.Equal(t, StatusPassing, f.status(t, "a"), "a nanosecond before TTL after the heartbeat")
	f.tick(time.Nanosecond)
	assert.Equal(t, StatusCritical, f.status(t, "a"), "TTL after its heartbeat")
}

func TestCriticalRemovedAtDeregisterCriticalAfterExactly(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	f.tick(DefaultTTL)
	require.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(DefaultDeregisterCriticalAfter - time.Nanosecond)
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(time.Nanosecond)
	assert.Equal(t, "absent", f.status(t, "a"))
}

// A deadline earlier than the key (a critical health with a TTL far longer
// than DeregisterCriticalAfter) is keyed at once, not at the old key.
func TestCriticalHealthKeyedEarlierThanItsTTL(t *testing.T) {
	f := newFixture(t)
	rg := reg("news")
	rg.TTL = Duration(time.Hour)
	_, err := f.r.Register("a", rg)
	require.NoError(t, err)
	f.tick(time.Second)
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusCritical})
	require.NoError(t, err)
	f.tick(DefaultDeregisterCriticalAfter - time.Nanosecond)
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(time.Nanosecond)
	assert.Equal(t, "absent", f.status(t, "a"), "removed at DeregisterCriticalAfter, an hour before its TTL")
}

func TestDeregisteredLeavesTheHeap(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b", "c"} {
		_, err := f.r.Register(id, reg("news"))
		require.NoError(t, err)
	}
	_, err := f.r.Register("b", reg("news")) // replaced: one entry still
	require.NoError(t, err)
	require.NoError(t, f.r.Deregister("a"))
	f.r.mu.Lock()
	assert.Len(t, f.r.deadlines, 2)
	for i, in := range f.r.deadlines {
		assert.Equal(t, int32(i), in.slot)
	}
	f.r.mu.Unlock()
	f.tick(DefaultTTL + DefaultDeregisterCriticalAfter)
	f.r.mu.Lock()
	assert.Empty(t, f.r.deadlines)
	f.r.mu.Unlock()
	assert.Zero(t, f.r.Len())
}

// With 100,000 instances, a tick that expires nothing looks at the top of
// the heap alone, and one that expires them all looks at each once.
func TestTickCostDoesNotGrowWithTheFleet(t *testing.T) {
	const n = 100_000
	f := newFixture(t)
	f.r.maxInstances = n
	for i := range n {
		_, err := f.r.Register(fmt.Sprintf("i%06d", i), reg("news"))
		require.NoError(t, err)
	}
	before := f.examined()
	f.tick(time.Second)
	assert.Equal(t, uint64(1), f.examined()-before, "nothing due: the top of the heap alone")

	before = f.examined()
	f.tick(DefaultTTL)
	assert.Equal(t, n, f.r.Stats().Instances[StatusCritical])
	assert.Equal(t, uint64(n+1), f.examined()-before, "each due instance once, then the top")
}

// An expired instance whose heartbeat reports critical stays critical; its
// expiry, earlier than the removal it was keyed at, is keyed anew.
func TestCriticalHeartbeatAfterExpiryExpiresAgainAtItsTTL(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	f.tick(DefaultTTL)
	require.Equal(t, OutputTTLExpired, f.output(t, "a"))
	f.tick(time.Second)
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusCritical, Output: "down"})
	require.NoError(t, err)
	assert.Equal(t, "down", f.output(t, "a"))
	f.tick(DefaultTTL)
	assert.Equal(t, OutputTTLExpired, f.output(t, "a"), "expired again at its TTL, not at its removal")
	assert.Equal(t, StatusCritical, f.status(t, "a"))
}
