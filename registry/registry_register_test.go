package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegisterIsIdempotentAndReplaces(t *testing.T) {
	f := newFixture(t)
	i0 := f.r.Index()
	reply, err := f.r.Register("a-1", reg("news"))
	require.NoError(t, err)
	assert.Equal(t, "a-1", reply.ID)
	assert.Equal(t, Duration(2*time.Second), reply.HeartbeatInterval)
	assert.Equal(t, Duration(6*time.Second), reply.TTL)
	assert.Equal(t, Duration(30*time.Second), reply.DeregisterCriticalAfter)
	assert.Greater(t, f.r.Index(), i0)
	assert.Equal(t, StatusPassing, f.status(t, "a-1"))

	again := reg("news")
	again.Port = 9090
	again.Labels = map[string]string{"pool": "gold"}
	_, err = f.r.Register("a-1", again)
	require.NoError(t, err)
	assert.Equal(t, 1, f.r.Len(), "re-registering replaces")
	m := f.r.Map()
	require.Len(t, m.Services, 1)
	require.Len(t, m.Services[0].Instances, 1)
	assert.Equal(t, 9090, m.Services[0].Instances[0].Port)
	assert.Equal(t, map[string]string{"pool": "gold"}, m.Services[0].Instances[0].Labels)

	// The registry keeps its own copy of the labels.
	again.Labels["pool"] = "changed"
	assert.Equal(t, "gold", f.r.Map().Services[0].Instances[0].Labels["pool"])
}

func TestRegisterTTLIsBounded(t *testing.T) {
	f := newFixture(t)
	r := reg("news")
	r.TTL = Duration(100 * time.Millisecond)
	reply, err := f.r.Register("short", r)
	require.NoError(t, err)
	assert.Equal(t, Duration(MinTTL), reply.TTL)
	assert.Equal(t, Duration(MinTTL/3), reply.HeartbeatInterval, "the interval keeps an instance alive within its TTL")

	r.TTL = Duration(48 * time.Hour)
	reply, err = f.r.Register("long", r)
	require.NoError(t, err)
	assert.Equal(t, Duration(MaxTTL), reply.TTL)
	assert.Equal(t, Duration(2*time.Second), reply.HeartbeatInterval)
}
