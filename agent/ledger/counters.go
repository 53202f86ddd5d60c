package ledger

import (
	"time"

	"github.com/portolan/portolan/composition"
)

// Counters: an application's metric's counts per period, as the ledger keeps them.

// numPeriods is len(composition.Periods); a ledger keeps a counter per period.
const numPeriods = 7

type usageKey struct{ app, metric, minute int64 }

type appMetric struct{ app, metric int64 }

// periodCount is a count in the period starting at start (unix seconds; the
// zero time's for eternity).
type periodCount struct{ start, n int64 }

// counters are an application's metric's counts, per period: a few starts
// each at most (the current period, and recent ones while their usage is
// pending or home's totals for them are still current).
type counters struct {
	pending [numPeriods][]periodCount // usage in the open and spooled batches
	home    [numPeriods][]periodCount // home's last totals
}

func countOf(s []periodCount, start int64) int64 {
	for _, c := range s {
		if c.start == start {
			return c.n
		}
	}
	return 0
}

// addCount adds delta to the count of start, dropping it at zero.
func addCount(s []periodCount, start, delta int64) []periodCount {
	for i := range s {
		if s[i].start == start {
			if s[i].n = composition.AddSaturating(s[i].n, delta); s[i].n == 0 {
				s[i] = s[len(s)-1]
				s = s[:len(s)-1]
			}
			return s
		}
	}
	if delta == 0 {
		return s
	}
	return append(s, periodCount{start, delta})
}

func (c *counters) empty() bool {
	for p := range numPeriods {
		if len(c.pending[p]) > 0 || len(c.home[p]) > 0 {
			return false
		}
	}
	return true
}

// periodIndex returns the index of a period name in composition.Periods.
func periodIndex(name string) (uint8, bool) {
	switch name {
	case "minute":
		return 0, true
	case "hour":
		return 1, true
	case "day":
		return 2, true
	case "week":
		return 3, true
	case "month":
		return 4, true
	case "year":
		return 5, true
	case "eternity":
		return 6, true
	}
	return 0, false
}

// periodStarts returns the start of every period containing minute, in unix seconds.
func periodStarts(minute int64) (starts [numPeriods]int64) {
	t := time.Unix(minute*60, 0).UTC()
	for i, p := range composition.Periods[:numPeriods] {
		s, _ := composition.PeriodBounds(p, t)
		starts[i] = s.Unix()
	}
	return starts
}
