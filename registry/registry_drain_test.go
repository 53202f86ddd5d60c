package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDrain(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	idx := f.r.Index()
	require.NoError(t, f.r.Drain("a"))
	assert.Equal(t, StatusDraining, f.status(t, "a"))
	assert.Equal(t, idx+1, f.r.Index())
	assert.Empty(t, f.r.Map().Services[0].Passing(), "out of the passing set")

	require.NoError(t, f.r.Drain("a"))
	assert.Equal(t, idx+1, f.r.Index(), "draining twice changes nothing")

	// Heartbeats keep it draining, whatever the check says.
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, StatusDraining, f.status(t, "a"))
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusCritical})
	require.NoError(t, err)
	assert.Equal(t, StatusDraining, f.status(t, "a"))

	// TTL expiry ends it: critical, then removed.
	f.tick(6 * time.Second)
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(30 * time.Second)
	assert.Equal(t, "absent", f.status(t, "a"))

	assert.ErrorIs(t, f.r.Drain("a"), ErrUnknown)
}

func TestDeregister(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	idx := f.r.Index()
	require.NoError(t, f.r.Deregister("a"))
	assert.Equal(t, "absent", f.status(t, "a"))
	assert.Equal(t, idx+1, f.r.Index())
	assert.ErrorIs(t, f.r.Deregister("a"), ErrUnknown)
	assert.Equal(t, idx+1, f.r.Index())
	assert.Equal(t, uint64(1), f.r.Stats().Deregistrations)
}
