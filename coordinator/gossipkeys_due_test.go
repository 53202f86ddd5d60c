package coordinator

import (
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// steppingClock returns its times one a read, then the last for good: a
// clock that moves between two reads in one decision.
type steppingClock struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.times[0]
	if len(c.times) > 1 {
		c.times = c.times[1:]
	}
	return now
}

// A step not yet due when watch looks is waited for until its time, not
// one grace more: watch decides on one reading of the clock, so a step
// that falls due between two readings is not taken for one held.
func TestGossipKeyWatchWaitsForAStepUntilItsTime(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k, err := openGossipKeyring(Config{DataDir: t.TempDir(), Logger: zerolog.Nop()}, time.Second)
	require.NoError(t, err)
	k.now = func() time.Time { return start }
	rot, err := k.Rotate()
	require.NoError(t, err)

	// The clock reaches the step's time between two readings.
	k.now = (&steppingClock{times: []time.Time{rot.PrimaryAt.Add(-time.Nanosecond), rot.PrimaryAt}}).Now
	_, next := k.watch()
	assert.Equal(t, rot.PrimaryAt, next, "home's own gossip node waits for the step until it is due (grace %s)", k.grace)
}

// rfc3339 finds the times a message names.
var rfc3339 = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`)

// A rotation refused because another is in progress names a time still
// to come: while a step waits for agents to acknowledge the keyring
// (past its own time), the refusal says so and names the end of that
// wait, not the rotation's original end, which may be past.
func TestGossipKeyRotationInProgressNamesATimeToCome(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	k, err := openGossipKeyring(Config{DataDir: t.TempDir(), Logger: zerolog.Nop()}, time.Second)
	require.NoError(t, err)
	k.now = clock.Now
	k.waitFor(func(uint64) int { return 1 }) // one agent never acknowledges
	rot, err := k.Rotate()
	require.NoError(t, err)

	check := func(what string) string {
		t.Helper()
		_, err := k.Rotate()
		require.ErrorIs(t, err, errRotating, what)
		times := rfc3339.FindAllString(err.Error(), -1)
		require.NotEmpty(t, times, "%s: the refusal names no time: %v", what, err)
		for _, s := range times {
			at, perr := time.Parse(time.RFC3339, s)
			require.NoError(t, perr)
			assert.True(t, at.After(clock.Now()), "%s: the refusal names %s, not after now (%s): %v", what, s, clock.Now().Format(time.RFC3339), err)
		}
		return err.Error()
	}
	msg := check("before the first step")
	assert.Contains(t, msg, rot.DropOldAt.Format(time.RFC3339), "on time, the refusal names the rotation's end")

	clock.Add(rot.DropOldAt.Sub(clock.Now()) + time.Second) // both steps past their time, the first held
	msg = check("a step held for agents")
	assert.Contains(t, msg, "acknowledge", "the refusal says the rotation waits for agents")
	assert.Contains(t, msg, rot.PrimaryAt.Add(k.grace).Format(time.RFC3339), "the refusal names the end of the wait")
}
