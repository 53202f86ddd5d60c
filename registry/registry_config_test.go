package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewDefaultsAndBounds(t *testing.T) {
	store := newMemStore()
	r, err := New(Config{Store: store})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, r.HeartbeatInterval())
	assert.Equal(t, 6*time.Second, r.TTL())
	assert.Equal(t, 30*time.Second, r.DeregisterCriticalAfter())

	r, err = New(Config{Store: store, DeregisterCriticalAfter: time.Second})
	require.NoError(t, err, "values down to 1s are accepted")
	assert.Equal(t, time.Second, r.DeregisterCriticalAfter())

	_, err = New(Config{Store: store, DeregisterCriticalAfter: 999 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deregister-critical-after must be at least 1s")
	assert.Contains(t, err.Error(), "999ms")

	_, err = New(Config{Store: store, DeregisterCriticalAfter: -time.Second})
	require.Error(t, err)

	_, err = New(Config{Store: store, Heartbeat: 5 * time.Second, TTL: 2 * time.Second})
	require.ErrorContains(t, err, "ttl")

	_, err = New(Config{})
	require.ErrorContains(t, err, "store")
}
