package coordinator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/registry"
)

// Home adds agents' increments per service and window, answers the windows
// not ended (an empty list, never null), and forgets ended ones.
func TestLimiterCountsPerServiceAndWindow(t *testing.T) {
	var lc limiterCounts
	now := time.Unix(1_000_000_000, 0)
	start := now.Unix() - now.Unix()%60
	assert.NotNil(t, lc.totals(1, now), "a home that counts them says so")
	lc.add(1, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 4}}, now)
	lc.add(1, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 2}, {Key: "k", Start: start, Window: 60, Value: -1},
		{Key: "old", Start: start - 60, Window: 60, Value: 9}, {Key: "", Start: start, Window: 60, Value: 1}}, now)
	lc.add(2, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 1}}, now)
	assert.Equal(t, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 5}}, lc.totals(1, now))
	assert.Equal(t, []registry.LimiterCount{{Key: "k", Start: start, Window: 60, Value: 1}}, lc.totals(2, now))
	assert.Empty(t, lc.totals(1, now.Add(time.Minute)))
	assert.Equal(t, 1, lc.n)
}
