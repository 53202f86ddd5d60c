package threescale

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func madrid(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Madrid")
	require.NoError(t, err)
	return loc
}

func hoursOf(bounds []time.Time) []float64 {
	var out []float64
	for i := 1; i < len(bounds); i++ {
		out = append(out, bounds[i].Sub(bounds[i-1]).Hours())
	}
	return out
}

// Madrid's days start at local midnight: the spring-forward day has 23
// hours, the fall-back day 25.
func TestBucketBoundsDaysInMadridAcrossDST(t *testing.T) {
	loc := madrid(t)
	spring, err := bucketBounds(granDay, time.Date(2026, 3, 28, 0, 0, 0, 0, loc), time.Date(2026, 3, 31, 0, 0, 0, 0, loc), 100)
	require.NoError(t, err)
	assert.Equal(t, []float64{24, 23, 24}, hoursOf(spring))
	assert.Equal(t, "2026-03-29T00:00:00+01:00", spring[1].Format(time.RFC3339))
	assert.Equal(t, "2026-03-30T00:00:00+02:00", spring[2].Format(time.RFC3339))
	fall, err := bucketBounds(granDay, time.Date(2026, 10, 25, 0, 0, 0, 0, loc), time.Date(2026, 10, 26, 0, 0, 0, 0, loc), 100)
	require.NoError(t, err)
	assert.Equal(t, []float64{25}, hoursOf(fall))
	hours, err := bucketBounds(granHour, fall[0], fall[1], 100)
	require.NoError(t, err)
	assert.Len(t, hours, 26, "25 hour buckets and the end")
}

// A range covers whole buckets: the end is rounded up to the end of its
// bucket, and too many buckets is a client error.
func TestBucketBoundsRoundTheEndAndBoundTheCount(t *testing.T) {
	loc := madrid(t)
	b, err := bucketBounds(granMonth, time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 3, 15, 12, 0, 0, 0, loc), 100)
	require.NoError(t, err)
	assert.Len(t, b, 4)
	assert.Equal(t, time.Date(2026, 4, 1, 0, 0, 0, 0, loc), b[3])
	_, err = bucketBounds(granHour, b[0], b[3], 24)
	assert.Equal(t, 400, StatusOf(err))
	six, err := bucketBounds(granSixHours, time.Date(2026, 3, 23, 0, 0, 0, 0, loc), time.Date(2026, 3, 30, 0, 0, 0, 0, loc), 100)
	require.NoError(t, err)
	assert.Len(t, six, 29, "a week is 28 six-hour buckets")
}

// Weeks start on Monday, local midnight; other periods at their calendar
// start in the zone.
func TestBucketStartInZone(t *testing.T) {
	loc := madrid(t)
	sunday := time.Date(2026, 3, 29, 15, 30, 0, 0, loc)
	assert.Equal(t, time.Date(2026, 3, 23, 0, 0, 0, 0, loc), bucketStart("week", sunday))
	assert.Equal(t, time.Date(2026, 3, 29, 0, 0, 0, 0, loc), bucketStart(granDay, sunday))
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, loc), bucketStart(granMonth, sunday))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, loc), bucketStart("year", sunday))
	assert.Equal(t, time.Date(2026, 3, 29, 12, 0, 0, 0, loc), bucketStart(granSixHours, sunday))
	// the repeated hour of 2026-10-25: 02:30 CET (01:30 UTC) is in the hour starting 02:00 CET
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC).In(loc)
	assert.Equal(t, time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), bucketStart(granHour, second).UTC())
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	assert.Equal(t, "2026-03-10T13:00:00+05:30", bucketStart(granHour, time.Date(2026, 3, 10, 13, 59, 0, 0, kolkata)).Format(time.RFC3339))
}

func TestParseStatsRangeInZone(t *testing.T) {
	q := url.Values{"period": {"month"}, "since": {"2026-03-10"}, "timezone": {"Madrid"}}
	sr, err := parseStatsRange(q, time.Now())
	require.NoError(t, err)
	assert.Equal(t, "Europe/Madrid", sr.zone)
	assert.Equal(t, granDay, sr.granularity)
	assert.Equal(t, "2026-03-10T00:00:00+01:00", sr.since.Format(time.RFC3339))
	assert.Equal(t, "2026-04-10T00:00:00+02:00", sr.until.Format(time.RFC3339))
	assert.Len(t, sr.bounds, 32)

	q = url.Values{"granularity": {"hour"}, "since": {"2026-03-29 00:00:00"}, "until": {"2026-03-29 23:59:59"}, "timezone": {"Europe/Madrid"}}
	sr, err = parseStatsRange(q, time.Now())
	require.NoError(t, err)
	assert.Len(t, sr.bounds, 24, "23 hours and the end")

	sr, err = parseStatsRange(url.Values{"period": {"week"}, "since": {"2026-03-23"}}, time.Now())
	require.NoError(t, err)
	assert.Equal(t, granSixHours, sr.granularity, "porta buckets a week by six hours")
	assert.Equal(t, "Etc/UTC", sr.zone)

	now := time.Date(2026, 3, 29, 10, 20, 0, 0, time.UTC)
	sr, err = parseStatsRange(url.Values{"period": {"day"}}, now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC), sr.since.UTC(), "since defaults to now - period")

	for _, bad := range []url.Values{
		{"period": {"day"}, "since": {"yesterday"}},
		{"granularity": {"day"}, "since": {"2026-03-02"}, "until": {"2026-03-01"}},
		{"period": {"day"}, "since": {"2026-03-02"}, "timezone": {"Mars/Olympus"}},
		{"period": {"fortnight"}, "since": {"2026-03-02"}},
		{"granularity": {"week"}, "since": {"2026-03-02"}, "until": {"2026-03-09"}},
		{"granularity": {"day"}, "since": {"2026-03-02"}},
	} {
		_, err := parseStatsRange(bad, now)
		assert.Equal(t, 400, StatusOf(err), "%v: %v", bad, err)
	}
	_, err = parseStatsRange(url.Values{"period": {"day"}, "since": {"2026-13-45"}}, now)
	assert.EqualError(t, err, "Date parameters should have valid date/time format.")
}

func TestLoadZoneTakesRailsAndTzNames(t *testing.T) {
	for name, want := range map[string]string{"": "Etc/UTC", "UTC": "Etc/UTC", "Madrid": "Europe/Madrid",
		"Europe/Madrid": "Europe/Madrid", "Pacific Time (US & Canada)": "America/Los_Angeles", "Kolkata": "Asia/Kolkata"} {
		_, got, err := loadZone(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	for _, tz := range railsZones {
		_, err := time.LoadLocation(tz)
		assert.NoError(t, err, tz)
	}
	_, _, err := loadZone("Local")
	assert.Error(t, err, "the server's own zone is no client's business")
}
