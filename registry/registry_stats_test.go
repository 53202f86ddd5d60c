package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStats(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b", "c", "d"} {
		_, err := f.r.Register(id, reg("news"))
		require.NoError(t, err)
	}
	_, err := f.r.Heartbeat("b", Heartbeat{Status: StatusWarning})
	require.NoError(t, err)
	_, err = f.r.Heartbeat("c", Heartbeat{Status: StatusCritical})
	require.NoError(t, err)
	require.NoError(t, f.r.Drain("d"))
	s := f.r.Stats()
	assert.Equal(t, map[string]int{StatusPassing: 1, StatusWarning: 1, StatusCritical: 1, StatusDraining: 1}, s.Instances)
	assert.Equal(t, uint64(4), s.Registrations)
	assert.Equal(t, uint64(2), s.Heartbeats)
	assert.Equal(t, f.r.Index(), s.Index)
}
