package composition

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAddSaturatingClampsInsteadOfWrapping(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{
		{1, 2, 3},
		{-5, 3, -2},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64 - 1, 2, math.MaxInt64},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{math.MinInt64, -1, math.MinInt64},
		{math.MinInt64 + 1, -2, math.MinInt64},
		{math.MaxInt64, math.MinInt64, -1},
		{math.MaxInt64, -1, math.MaxInt64 - 1},
	} {
		assert.Equal(t, c.want, AddSaturating(c.a, c.b), "%d + %d", c.a, c.b)
	}
}

// A counter at the int64 maximum still exceeds a limit: the sum of the
// current value and the request's usage must not wrap negative.
func TestLimitsHoldAtTheInt64Maximum(t *testing.T) {
	app := &Application{ID: 1, PlanID: 7}
	limits := []*UsageLimit{{ID: 1, PlanID: 7, MetricID: 3, Period: "minute", Value: 10}}
	full := func(int64, int64, string, time.Time) int64 { return math.MaxInt64 }
	assert.True(t, ExceedsLimits(limits, app, []Hit{{MetricID: 3, Delta: 1}}, full, time.Now()))
	assert.True(t, ExceedsLimits(limits, app, []Hit{{MetricID: 3, Delta: math.MaxInt64}, {MetricID: 3, Delta: 2}},
		func(int64, int64, string, time.Time) int64 { return 0 }, time.Now()))
}

// A metric two mapping rules (or a rule and its parent) count saturates:
// rules' deltas have no upper bound.
func TestAddHitSaturates(t *testing.T) {
	hits := AddHit(nil, 7, math.MaxInt64-1)
	hits = AddHit(hits, 8, 1)
	hits = AddHit(hits, 7, 5)
	assert.Equal(t, []Hit{{MetricID: 7, Delta: math.MaxInt64}, {MetricID: 8, Delta: 1}}, hits)
}
