package composition

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPeriodBounds(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	for _, tc := range []struct {
		name, period string
		at           time.Time
		start, end   time.Time
	}{
		{"minute", "minute", utc(2026, 3, 4, 5, 6, 7), utc(2026, 3, 4, 5, 6, 0), utc(2026, 3, 4, 5, 7, 0)},
		{"minute last second", "minute", utc(2026, 3, 4, 5, 6, 59), utc(2026, 3, 4, 5, 6, 0), utc(2026, 3, 4, 5, 7, 0)},
		{"hour", "hour", utc(2026, 3, 4, 5, 59, 59), utc(2026, 3, 4, 5, 0, 0), utc(2026, 3, 4, 6, 0, 0)},
		{"day", "day", utc(2026, 3, 4, 23, 59, 59), utc(2026, 3, 4, 0, 0, 0), utc(2026, 3, 5, 0, 0, 0)},
		{"day at midnight", "day", utc(2026, 3, 5, 0, 0, 0), utc(2026, 3, 5, 0, 0, 0), utc(2026, 3, 6, 0, 0, 0)},
		// 2026-11-23 is a Monday.
		{"week on Monday", "week", utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 30, 0, 0, 0)},
		{"week on Sunday", "week", utc(2026, 11, 29, 23, 59, 59), utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 30, 0, 0, 0)},
		{"week on Wednesday", "week", utc(2026, 11, 25, 12, 0, 0), utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 30, 0, 0, 0)},
		// 2027-01-01 is a Friday: its week starts in 2026.
		{"week across the new year", "week", utc(2027, 1, 1, 8, 0, 0), utc(2026, 12, 28, 0, 0, 0), utc(2027, 1, 4, 0, 0, 0)},
		{"week across a month", "week", utc(2026, 3, 1, 8, 0, 0), utc(2026, 2, 23, 0, 0, 0), utc(2026, 3, 2, 0, 0, 0)},
		{"month", "month", utc(2026, 2, 28, 23, 59, 59), utc(2026, 2, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)},
		{"month of a leap February", "month", utc(2028, 2, 29, 12, 0, 0), utc(2028, 2, 1, 0, 0, 0), utc(2028, 3, 1, 0, 0, 0)},
		{"December", "month", utc(2026, 12, 31, 23, 59, 59), utc(2026, 12, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0)},
		{"year", "year", utc(2026, 12, 31, 23, 59, 59), utc(2026, 1, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0)},
		{"year at its start", "year", utc(2027, 1, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0), utc(2028, 1, 1, 0, 0, 0)},
		{"eternity", "eternity", utc(2026, 3, 4, 5, 6, 7), time.Time{}, time.Time{}},
		{"unknown", "fortnight", utc(2026, 3, 4, 5, 6, 7), time.Time{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end := PeriodBounds(tc.period, tc.at)
			assert.Equal(t, tc.start, start)
			assert.Equal(t, tc.end, end)
			if !start.IsZero() {
				assert.False(t, tc.at.Before(start), "start after t")
				assert.True(t, tc.at.Before(end), "end not after t")
			}
		})
	}
}

func TestPeriodBoundsInUTC(t *testing.T) {
	// 00:30 on Monday in UTC+2 is 22:30 on Sunday in UTC: still last week, last day.
	east := time.FixedZone("UTC+2", 2*3600)
	at := time.Date(2026, 11, 23, 0, 30, 0, 0, east)
	start, end := PeriodBounds("week", at)
	assert.Equal(t, time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), start)
	assert.Equal(t, time.UTC, start.Location())
	assert.Equal(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), end)
	start, _ = PeriodBounds("day", at)
	assert.Equal(t, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), start)
}

func TestPeriodBoundsAreContiguous(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range Periods[:len(Periods)-1] {
		t.Run(p, func(t *testing.T) {
			start, end := PeriodBounds(p, at)
			for i := 0; i < 60; i++ {
				nextStart, nextEnd := PeriodBounds(p, end)
				assert.Equal(t, end, nextStart, "a period starts where the one before ends")
				assert.True(t, nextEnd.After(nextStart))
				justBefore, _ := PeriodBounds(p, end.Add(-time.Nanosecond))
				assert.Equal(t, start, justBefore)
				start, end = nextStart, nextEnd
			}
		})
	}
	assert.True(t, ValidPeriod("week"))
	assert.False(t, ValidPeriod("fortnight"))
}
