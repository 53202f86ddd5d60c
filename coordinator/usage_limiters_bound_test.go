package coordinator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/registry"
)

// At the bound, pruning the ended windows may empty a service's counts
// and drop them: a window of that service counted in the same batch must
// land in the counts home answers with, not in the dropped map, where it
// would be lost and hold a slot of the bound forever.
func TestLimiterWindowCountedWhenPruningEmptiedItsService(t *testing.T) {
	var lc limiterCounts
	now := time.Unix(1_000_000_000, 0)
	start := now.Unix() - now.Unix()%60
	lc.add(1, []registry.LimiterCount{{Key: "ends", Start: start, Window: 60, Value: 1}}, now)
	for b := 0; lc.n < maxLimiterKeys; b++ {
		counts := make([]registry.LimiterCount, 0, maxServiceLimiterKeys)
		for i := 0; i < maxServiceLimiterKeys && lc.n+len(counts) < maxLimiterKeys; i++ {
			counts = append(counts, registry.LimiterCount{Key: "long" + itoa(int64(b*maxServiceLimiterKeys+i)), Start: start, Window: 3600, Value: 1})
		}
		lc.add(int64(100+b), counts, now)
	}
	later := now.Add(2 * time.Minute)
	w := registry.LimiterCount{Key: "new", Start: later.Unix() - later.Unix()%60, Window: 60, Value: 3}
	lc.add(1, []registry.LimiterCount{w}, later)
	assert.Equal(t, []registry.LimiterCount{w}, lc.totals(1, later))
	held := 0
	for _, m := range lc.byID {
		held += len(m)
	}
	assert.Equal(t, held, lc.n, "the bound counts the windows held")
}
