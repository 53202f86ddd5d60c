package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A second failure signal (gossip: node dead) turns an instance critical
// before its TTL; its next heartbeat makes it passing again; the critical
// clock removes it like any critical instance.
func TestFailBeforeTTL(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a-1", reg("news"))
	require.NoError(t, err)
	before := f.r.Index()
	assert.True(t, f.r.Fail("a-1", "gossip: node dead"))
	assert.Equal(t, StatusCritical, f.status(t, "a-1"))
	assert.Equal(t, "gossip: node dead", f.output(t, "a-1"))
	assert.Greater(t, f.r.Index(), before)
	assert.False(t, f.r.Fail("a-1", "again"), "already critical")
	assert.False(t, f.r.Fail("nobody", "x"))

	_, err = f.r.Heartbeat("a-1", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, StatusPassing, f.status(t, "a-1"))

	assert.True(t, f.r.Fail("a-1", "gossip: node dead"))
	f.tick(f.r.DeregisterCriticalAfter() + time.Second)
	assert.Equal(t, "absent", f.status(t, "a-1"))
}
