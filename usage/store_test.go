package usage

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

func openTestUsage(t *testing.T, dir string, now time.Time) *Store {
	t.Helper()
	s, err := Open(dir, now, zerolog.Nop())
	require.NoError(t, err)
	return s
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

func TestUsageStoreAppliesABatchOnceAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openTestUsage(t, dir, now)
	ctx := context.Background()
	incs := []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 3}, {App: 11, Metric: 100, Minute: minuteOf(now), Delta: 1}}

	dup, err := s.Apply(ctx, "agent-1", 7, incs, now)
	require.NoError(t, err)
	assert.False(t, dup)
	dup, err = s.Apply(ctx, "agent-1", 7, incs, now)
	require.NoError(t, err)
	assert.True(t, dup, "the same batch id adds nothing")
	minute, _ := composition.PeriodBounds("minute", now)
	month, _ := composition.PeriodBounds("month", now)
	assert.EqualValues(t, 3, s.Value(10, 100, "minute", minute))
	assert.EqualValues(t, 3, s.Value(10, 100, "month", month))
	assert.EqualValues(t, 3, s.Value(10, 100, "eternity", time.Time{}))
	totals := s.Totals(7, now)
	assert.Len(t, totals, 2*len(composition.Periods))
	assert.Contains(t, totals, registry.UsageTotal{ApplicationID: 11, MetricID: 100, Period: "minute", Start: minute, Value: 1})
	assert.Empty(t, s.Totals(8, now), "another service has no totals")
	require.NoError(t, s.Close())

	s = openTestUsage(t, dir, now)
	defer s.Close()
	assert.EqualValues(t, 3, s.Value(10, 100, "minute", minute), "counters survive a restart")
	assert.ElementsMatch(t, totals, s.Totals(7, now), "and so do the totals")
	dup, err = s.Apply(ctx, "agent-1", 7, incs, now)
	require.NoError(t, err)
	assert.True(t, dup, "batch ids survive a restart")
	dup, err = s.Apply(ctx, "agent-2", 7, incs, now)
	require.NoError(t, err)
	assert.False(t, dup)
	assert.EqualValues(t, 6, s.Value(10, 100, "minute", minute))

	day, _ := composition.PeriodBounds("day", now)
	vals, err := s.ServiceValues(7, 100, "day", []time.Time{day, day.AddDate(0, 0, -1)})
	require.NoError(t, err)
	assert.Equal(t, []int64{8, 0}, vals, "service counters add every application")
	vals, err = s.AppValues(11, 100, "eternity", []time.Time{{}})
	require.NoError(t, err)
	assert.Equal(t, []int64{2}, vals)
}

func TestUsageStoreAdmitNeverOvershoots(t *testing.T) {
	s := openTestUsage(t, t.TempDir(), time.Now())
	defer s.Close()
	now := time.Now().UTC()
	start, _ := composition.PeriodBounds("minute", now)
	const limit, callers = 20, 64
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Admit(context.Background(), 7, 10, []composition.Hit{{MetricID: 100, Delta: 1}}, now,
				func(current composition.Counter) bool { return current(10, 100, "minute", start)+1 <= limit })
			assert.NoError(t, err)
			if ok {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, limit, admitted.Load())
	assert.EqualValues(t, limit, s.Value(10, 100, "minute", start))
	vals, err := s.AppValues(10, 100, "minute", []time.Time{start})
	require.NoError(t, err)
	assert.Equal(t, []int64{limit}, vals, "every admitted call is on disk")
}

func TestUsageStoreRollsOverAndReadsPastPeriods(t *testing.T) {
	s := openTestUsage(t, t.TempDir(), time.Now())
	defer s.Close()
	now := time.Now().UTC()
	ctx := context.Background()
	_, err := s.Apply(ctx, "b-1", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 2}}, now)
	require.NoError(t, err)
	minute, _ := composition.PeriodBounds("minute", now)
	later := now.Add(2 * time.Minute)
	for _, tot := range s.Totals(7, later) {
		assert.NotEqual(t, "minute", tot.Period, "last minute's total is not current any more")
	}
	assert.EqualValues(t, 2, s.Value(10, 100, "minute", minute), "a past period is read from disk")

	// a late batch for an earlier minute counts in its own periods
	past := now.Add(-3 * time.Hour)
	_, err = s.Apply(ctx, "b-2", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(past), Delta: 5}}, later)
	require.NoError(t, err)
	pastMinute, _ := composition.PeriodBounds("minute", past)
	pastHour, _ := composition.PeriodBounds("hour", past)
	assert.EqualValues(t, 5, s.Value(10, 100, "minute", pastMinute))
	assert.EqualValues(t, 5, s.Value(10, 100, "hour", pastHour))
	assert.EqualValues(t, 7, s.Value(10, 100, "eternity", time.Time{}))
}

func TestUsageStorePrunesOldBatchIDsAndMinutes(t *testing.T) {
	s := openTestUsage(t, t.TempDir(), time.Now())
	defer s.Close()
	now := time.Now().UTC()
	old := now.Add(-BatchRetention - MaxFutureMinute - time.Hour)
	// applied BatchRetention ago with a minute home still takes: its entries
	// may be up to MaxFutureMinute ahead of home's clock
	late := now.Add(-BatchRetention - MaxFutureMinute/2)
	ctx := context.Background()
	_, err := s.Apply(ctx, "old-1", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(old), Delta: 1}}, old)
	require.NoError(t, err)
	_, err = s.Apply(ctx, "late-1", 7, nil, late)
	require.NoError(t, err)
	_, err = s.Apply(ctx, "new-1", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}, now)
	require.NoError(t, err)
	s.prune(now)
	dup, err := s.Apply(ctx, "new-1", 7, nil, now)
	require.NoError(t, err)
	assert.True(t, dup, "a recent batch id is kept")
	dup, err = s.Apply(ctx, "late-1", 7, nil, now)
	require.NoError(t, err)
	assert.True(t, dup, "a batch id is kept while a batch with its minutes may still be sent")
	dup, err = s.Apply(ctx, "old-1", 7, nil, now)
	require.NoError(t, err)
	assert.False(t, dup, "a batch id older than the retention is forgotten")
	oldMinute, _ := composition.PeriodBounds("minute", old)
	oldDay, _ := composition.PeriodBounds("day", old)
	assert.EqualValues(t, 0, s.Value(10, 100, "minute", oldMinute), "old minute counters are pruned")
	assert.EqualValues(t, 1, s.Value(10, 100, "day", oldDay), "longer periods are kept")
	nowMinute, _ := composition.PeriodBounds("minute", now)
	assert.EqualValues(t, 1, s.Value(10, 100, "minute", nowMinute))
}

func TestUsageStoreClosedRefuses(t *testing.T) {
	s := openTestUsage(t, t.TempDir(), time.Now())
	require.NoError(t, s.Close())
	_, err := s.Apply(context.Background(), "x", 7, []Increment{{App: 1, Metric: 2, Minute: 1, Delta: 1}}, time.Now())
	assert.ErrorIs(t, err, errClosed)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s2 := openTestUsage(t, t.TempDir(), time.Now())
	defer s2.Close()
	_, err = s2.Apply(ctx, "y", 7, nil, time.Now())
	// with a cancelled context the commit may or may not have been handed over
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled)
	}
}
