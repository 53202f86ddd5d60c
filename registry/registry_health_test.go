package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTTLExpiryTurnsCriticalThenRemoves(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)

	f.tick(5 * time.Second)
	assert.Equal(t, StatusPassing, f.status(t, "a"), "still within its TTL")
	idx := f.r.Index()

	f.tick(time.Second) // 6s without a heartbeat
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	assert.Equal(t, OutputTTLExpired, f.output(t, "a"))
	assert.Greater(t, f.r.Index(), idx, "turning critical changes the map")

	idx = f.r.Index()
	f.tick(29 * time.Second)
	assert.Equal(t, StatusCritical, f.status(t, "a"), "not yet critical for 30s")
	assert.Equal(t, idx, f.r.Index(), "nothing changed")

	f.tick(time.Second)
	assert.Equal(t, "absent", f.status(t, "a"), "removed after 30s critical")
	assert.Greater(t, f.r.Index(), idx)
	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	assert.ErrorIs(t, err, ErrUnknown)

	s := f.r.Stats()
	assert.Equal(t, uint64(1), s.Expirations)
	assert.Equal(t, uint64(1), s.Removals)
}

func TestHeartbeatBringsCriticalBackToPassing(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	f.tick(7 * time.Second)
	require.Equal(t, StatusCritical, f.status(t, "a"))

	f.tick(20 * time.Second)
	reply, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing, Output: "ok"})
	require.NoError(t, err)
	assert.Nil(t, reply.Placement, "the placement did not change")
	assert.Equal(t, StatusPassing, f.status(t, "a"))
	assert.Equal(t, "ok", f.output(t, "a"))

	// The critical clock starts again: 25s later, with heartbeats, it is still there.
	for range 5 {
		f.tick(5 * time.Second)
		_, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
		require.NoError(t, err)
	}
	assert.Equal(t, StatusPassing, f.status(t, "a"))
}

func TestCriticalHealthRemovedAfterDeregisterCriticalAfter(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	beat := func(status string) {
		t.Helper()
		_, err := f.r.Heartbeat("a", Heartbeat{Status: status, Output: "check says " + status})
		require.NoError(t, err)
	}
	beat(StatusCritical)
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	for range 14 { // 28s of critical heartbeats: still there
		f.tick(2 * time.Second)
		beat(StatusCritical)
	}
	assert.Equal(t, StatusCritical, f.status(t, "a"))
	f.tick(2 * time.Second)
	assert.Equal(t, "absent", f.status(t, "a"), "critical continuously for 30s, heartbeats or not")
}

func TestWarningAndStatusChangesBumpIndexOnlyOnChange(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	idx := f.r.Index()

	for range 3 {
		f.tick(time.Second)
		_, err := f.r.Heartbeat("a", Heartbeat{Status: StatusPassing, Output: "fine"})
		require.NoError(t, err)
	}
	assert.Equal(t, idx, f.r.Index(), "heartbeats that change nothing leave the index alone")

	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusWarning, Output: "slow"})
	require.NoError(t, err)
	assert.Equal(t, StatusWarning, f.status(t, "a"))
	assert.Equal(t, "slow", f.output(t, "a"))
	assert.Equal(t, idx+1, f.r.Index())

	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusWarning, Output: "still slow"})
	require.NoError(t, err)
	assert.Equal(t, idx+1, f.r.Index(), "an output-only change does not wake watchers")
	assert.Equal(t, "still slow", f.output(t, "a"), "but the map shows it")

	_, err = f.r.Heartbeat("a", Heartbeat{Status: StatusPassing})
	require.NoError(t, err)
	assert.Equal(t, idx+2, f.r.Index())

	f.tick(time.Second) // a sweep that changes nothing
	assert.Equal(t, idx+2, f.r.Index())
}

func TestHeartbeatUnknown(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Heartbeat("nobody", Heartbeat{Status: StatusPassing})
	assert.ErrorIs(t, err, ErrUnknown)
	assert.Equal(t, "unknown instance: register again", err.Error())
}
