package usage

import (
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
)

// Piece is one stored counter that covers part of a span: the UTC hour, day
// or month starting at Start.
type Piece struct {
	Period string
	Start  time.Time
}

// Pieces covers the span [from, to) with the fewest stored UTC counters:
// whole months where they fit, then whole days, then hours. Both ends are
// floored to the UTC hour first, because the hour is the finest counter
// kept for good: a span starting at a half or quarter hour (a zone such as
// Asia/Kolkata, +05:30) takes the whole hour its start falls in, and leaves
// the hour its end falls in to the next span, so consecutive spans share
// nothing and lose nothing.
func Pieces(from, to time.Time) []Piece {
	t, end := from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	var out []Piece
	for t.Before(end) {
		switch {
		case t.Day() == 1 && t.Hour() == 0 && !t.AddDate(0, 1, 0).After(end):
			out = append(out, Piece{"month", t})
			t = t.AddDate(0, 1, 0)
		case t.Hour() == 0 && !t.AddDate(0, 0, 1).After(end):
			out = append(out, Piece{"day", t})
			t = t.AddDate(0, 0, 1)
		default:
			out = append(out, Piece{"hour", t})
			t = t.Add(time.Hour)
		}
	}
	return out
}

// AppSums returns an application's acknowledged usage of a metric in each span
// [bounds[i], bounds[i+1]) (see Pieces for spans not on whole UTC hours).
// Analytics in a time zone read their buckets this way, from the UTC hour,
// day and month counters.
func (s *Store) AppSums(appID, metricID int64, bounds []time.Time) ([]int64, error) {
	return s.sums(bucketAppCounters, appID, metricID, bounds)
}

// ServiceSums is AppSums for a service's counters.
func (s *Store) ServiceSums(serviceID, metricID int64, bounds []time.Time) ([]int64, error) {
	return s.sums(bucketServiceCounters, serviceID, metricID, bounds)
}

// sums reads the pieces of every span at once (see values) and adds them
// up per span.
func (s *Store) sums(bucket []byte, id, metricID int64, bounds []time.Time) ([]int64, error) {
	if len(bounds) < 2 {
		return nil, nil
	}
	var keys []counterSum
	ends := make([]int, len(bounds)-1) // keys[ends[i-1]:ends[i]] are span i's
	for i := range ends {
		for _, p := range Pieces(bounds[i], bounds[i+1]) {
			keys = append(keys, counterSum{service: bucketIsService(bucket),
				key: counterKeyOf(periodIndex[p.Period], p.Start.Unix(), id, metricID)})
		}
		ends[i] = len(keys)
	}
	vals, err := s.readCounters(keys)
	if err != nil {
		return nil, fmt.Errorf("read usage history: %w", err)
	}
	out := make([]int64, len(ends))
	from := 0
	for i, end := range ends {
		for _, v := range vals[from:end] {
			out[i] = composition.AddSaturating(out[i], v)
		}
		from = end
	}
	return out, nil
}
