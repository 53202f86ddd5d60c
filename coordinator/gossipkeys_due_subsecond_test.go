package coordinator

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The time a refused rotation names is still to come on a real clock,
// whose readings fall between whole seconds: RFC 3339 names seconds, so
// the time is rounded up to one, never down into the past.
func TestGossipKeyRotationInProgressNamesATimeToComeBetweenSeconds(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 500*int(time.Millisecond), time.UTC)}
	k, err := openGossipKeyring(Config{DataDir: t.TempDir(), Logger: zerolog.Nop()}, time.Second)
	require.NoError(t, err)
	k.now = clock.Now
	k.waitFor(func(uint64) int { return 1 }) // one agent never acknowledges
	rot, err := k.Rotate()
	require.NoError(t, err)

	for _, at := range []time.Time{
		rot.PrimaryAt.Add(-100 * time.Millisecond),        // the first step to come
		rot.PrimaryAt.Add(k.grace - 100*time.Millisecond), // the first step held for the agent
	} {
		clock.Add(at.Sub(clock.Now()))
		_, err := k.Rotate()
		require.ErrorIs(t, err, errRotating)
		times := rfc3339.FindAllString(err.Error(), -1)
		require.NotEmpty(t, times, "the refusal names no time: %v", err)
		for _, s := range times {
			named, perr := time.Parse(time.RFC3339, s)
			require.NoError(t, perr)
			assert.True(t, named.After(clock.Now()), "at %s the refusal names %s: %v",
				clock.Now().Format(time.RFC3339Nano), s, err)
		}
	}
}
