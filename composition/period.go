package composition

import "time"

// PeriodBounds returns the calendar period of 3scale's name ("minute", "hour",
// "day", "week", "month", "year", "eternity") that contains t, in UTC, as the
// half-open interval [start, end). Weeks start on Monday. Eternity, and a name
// 3scale does not know, return the zero time twice.
func PeriodBounds(period string, t time.Time) (start, end time.Time) {
	t = t.UTC()
	switch period {
	case "minute":
		start = t.Truncate(time.Minute)
		return start, start.Add(time.Minute)
	case "hour":
		start = t.Truncate(time.Hour)
		return start, start.Add(time.Hour)
	case "day":
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case "week":
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 7)
	case "month":
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	case "year":
		start = time.Date(t.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(1, 0, 0)
	}
	return time.Time{}, time.Time{}
}

// ValidPeriod reports whether 3scale knows period.
func ValidPeriod(period string) bool {
	for _, p := range Periods {
		if p == period {
			return true
		}
	}
	return false
}
