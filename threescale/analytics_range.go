package threescale

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MaxAnalyticsValues bounds the values one analytics answer holds.
const MaxAnalyticsValues = 10000

// Granularities of the Analytics API. porta buckets a week by six hours and
// names that granularity by its seconds.
const (
	granHour     = "hour"
	granSixHours = "21600"
	granDay      = "day"
	granMonth    = "month"
	granEternity = "eternity"
)

// granularityOf is porta's granularity of each period.
var granularityOf = map[string]string{"year": granMonth, "month": granDay, "week": granSixHours, "day": granHour, "eternity": granEternity}

// statsRange is a resolved query: buckets of granularity, in a time zone.
type statsRange struct {
	period      string // "" when until was given
	granularity string
	loc         *time.Location
	zone        string    // the tz name porta shows ("Europe/Madrid", "Etc/UTC")
	since       time.Time // start of the first bucket
	until       time.Time // end of the last bucket, exclusive
	// bounds holds each bucket's start and, last, the range's end: values
	// are the usage in [bounds[i], bounds[i+1]). Empty for eternity.
	bounds []time.Time
}

// periodError is porta's answer to a period it does not know (Ruby's nil
// when none was given).
func periodError(period string, allowed []string) error {
	shown := "nil"
	if period != "" {
		shown = fmt.Sprintf("%q", clip(period))
	}
	return BadRequest(fmt.Sprintf("Period must be one of [%s] not %s", quoteList(allowed), shown))
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// usagePeriods are the periods of the usage endpoints (porta's four and
// eternity, which the spec lists).
var usagePeriods = []string{"eternity", "year", "month", "week", "day"}

// parseStatsRange reads period, since, until, granularity and timezone as
// porta does: since (and until) in the time zone; with a period, the range
// is [since, since + period) and since defaults to now - period; without
// one, [since, until] to the second. The first bucket starts at the start of
// the granularity containing since.
func parseStatsRange(q url.Values, now time.Time) (*statsRange, error) {
	loc, zone, err := loadZone(q.Get("timezone"))
	if err != nil {
		return nil, err
	}
	sr := &statsRange{period: q.Get("period"), granularity: q.Get("granularity"), loc: loc, zone: zone}
	if sr.period != "" {
		g, ok := granularityOf[sr.period]
		if !ok {
			return nil, periodError(sr.period, usagePeriods)
		}
		if sr.granularity == "" {
			sr.granularity = g
		}
	}
	if sr.granularity == "" {
		sr.granularity = granMonth
	}
	switch sr.granularity {
	case granEternity, granMonth, granDay, granHour, granSixHours:
	default:
		return nil, BadRequest(fmt.Sprintf("Granularity must be one of [:month, :day, 21600, :hour, :eternity], not %s", clip(sr.granularity)))
	}
	if sr.period == granEternity || sr.granularity == granEternity {
		if sr.period != "" && sr.period != granEternity || sr.granularity != granEternity {
			return nil, BadRequest("only eternity granularity is accepted for period eternity")
		}
		sr.period = granEternity
		return sr, nil
	}
	var since, end time.Time
	switch {
	case sr.period != "":
		if q.Get("since") == "" {
			since = periodStartBefore(sr.period, now.In(loc))
		} else if since, err = parseStatsTime(q.Get("since"), loc); err != nil {
			return nil, err
		}
		end = periodEnd(sr.period, since)
	case q.Get("since") != "" && q.Get("until") != "":
		if since, err = parseStatsTime(q.Get("since"), loc); err != nil {
			return nil, err
		}
		until, err := parseStatsTime(q.Get("until"), loc)
		if err != nil {
			return nil, err
		}
		end = until.Add(time.Second) // until is inclusive, to the second
	default:
		return nil, BadRequest("You need to specify either 'period' or 'since' and 'until'")
	}
	if !end.After(since) {
		return nil, BadRequest("until must be after since")
	}
	sr.since = bucketStart(sr.granularity, since)
	// porta checks the range rounded out to whole buckets: to the end of
	// the bucket holding end's last instant.
	rounded := bucketNext(sr.granularity, bucketStart(sr.granularity, end.Add(-time.Nanosecond)))
	if err := checkTimeRange(sr.granularity, sr.since, rounded); err != nil {
		return nil, err
	}
	if sr.bounds, err = bucketBounds(sr.granularity, sr.since, end, MaxAnalyticsValues); err != nil {
		return nil, err
	}
	sr.until = sr.bounds[len(sr.bounds)-1]
	return sr, nil
}

// allowedTimeRanges is porta's ALLOWED_TIME_RANGES (Stats::Views::Usage):
// the longest range each granularity may span, and how porta names it. It
// is counted in calendar units from the range's start, where porta counts
// Rails' average year (365.2425 days) and so refuses a leap year's days or
// ten calendar years of months: a client porta serves is served here too,
// and a calendar year's days as well.
var allowedTimeRanges = map[string]struct {
	years, months, days int
	name                string
}{
	granMonth:    {years: 10, name: "10 years"},
	granDay:      {years: 1, name: "1 year"},
	granSixHours: {months: 6, name: "6 months"},
	granHour:     {days: 90, name: "90 days"},
}

// checkTimeRange refuses, as porta's validate_time_range does, a range of
// whole buckets [start, end) longer than its granularity allows: porta
// answers 400 rather than, say, months of hourly values.
func checkTimeRange(g string, start, end time.Time) error {
	allowed, ok := allowedTimeRanges[g]
	if ok && end.After(start.AddDate(allowed.years, allowed.months, allowed.days)) {
		return BadRequest("Time range for the granularity must be less than " + allowed.name)
	}
	return nil
}

// periodStartBefore is porta's since when none is given: now - period.
func periodStartBefore(period string, now time.Time) time.Time {
	switch period {
	case "year":
		return now.AddDate(-1, 0, 0)
	case "month":
		return now.AddDate(0, -1, 0)
	case "week":
		return now.AddDate(0, 0, -7)
	}
	return now.AddDate(0, 0, -1)
}

// periodEnd is since + period on the local calendar of since's zone, so a
// day across a DST change lasts 23 or 25 hours.
func periodEnd(period string, since time.Time) time.Time {
	switch period {
	case "year":
		return since.AddDate(1, 0, 0)
	case "month":
		return since.AddDate(0, 1, 0)
	case "week":
		return since.AddDate(0, 0, 7)
	}
	return since.AddDate(0, 0, 1)
}

// bucketStart is the start of the bucket of granularity g (or period week or
// year, for top_applications) containing t, in t's zone: local midnight for
// a day, Monday's for a week.
func bucketStart(g string, t time.Time) time.Time {
	y, m, d := t.Date()
	switch g {
	case granHour:
		// Through the offset, not time.Date: the repeated hour of a DST
		// change has two starts and time.Date may pick either.
		_, off := t.Zone()
		shift := time.Duration(off) * time.Second
		return t.Add(shift).Truncate(time.Hour).Add(-shift)
	case granSixHours:
		return time.Date(y, m, d, t.Hour()-t.Hour()%6, 0, 0, 0, t.Location())
	case granDay:
		return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	case "week":
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
	case "year":
		return time.Date(y, time.January, 1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
}

// bucketNext is the start of the bucket after the one starting at t.
func bucketNext(g string, t time.Time) time.Time {
	y, m, d := t.Date()
	switch g {
	case granHour:
		return t.Add(time.Hour)
	case granSixHours:
		// On the wall clock, so a week's 28 buckets end at its end even
		// across a DST change.
		return time.Date(y, m, d, t.Hour()+6, 0, 0, 0, t.Location())
	case granDay:
		return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, m+1, 1, 0, 0, 0, 0, t.Location())
}

// bucketBounds lists the starts of the buckets of g from start until end and
// then the end of the last one: like porta, a range covers whole buckets.
// More than limit buckets is a client error.
func bucketBounds(g string, start, end time.Time, limit int) ([]time.Time, error) {
	out := []time.Time{start}
	for t := bucketNext(g, start); ; t = bucketNext(g, t) {
		out = append(out, t)
		if !t.Before(end) {
			return out, nil
		}
		if len(out) > limit {
			return nil, BadRequest(fmt.Sprintf("the range holds more than %d %s values", limit, g))
		}
	}
}

// parseStatsTime reads porta's since/until ("2012-02-22", "2012-02-22
// 23:49:00", ISO 8601) in loc, unless the text carries its own offset.
func parseStatsTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	// With an offset, or "UTC" as Rails prints a time in UTC (the since
	// and until of the XML answers).
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 -07:00", "2006-01-02 15:04:05 UTC"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.In(loc), nil
		}
	}
	return time.Time{}, BadRequest("Date parameters should have valid date/time format.")
}

// previous is porta's range.previous, for skip_change=false: the span as
// long as sr's (a period back on the calendar when a period was given)
// just before it, from midnight when the buckets are days or months.
func (sr *statsRange) previous() []time.Time {
	var start time.Time
	if sr.period != "" {
		start = periodStartBefore(sr.period, sr.since)
	} else {
		start = sr.since.Add(-sr.until.Sub(sr.since))
	}
	if sr.granularity == granDay || sr.granularity == granMonth {
		start = bucketStart(granDay, start)
	}
	return []time.Time{start, sr.since}
}
