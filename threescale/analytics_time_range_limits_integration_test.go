package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A range longer than its granularity allows is refused as porta refuses
// it. porta's Stats::Views::Usage:
//
//	ALLOWED_TIME_RANGES = {:month => 10.years, :day => 1.year,
//	                       6.hours => 6.months, :hour => 90.days}
//	raise InvalidParameterError, "Time range for the granularity must be
//	  less than #{ALLOWED_TIME_RANGES[granularity].inspect}" if range.length > allowed_time
//
// and Stats::Data::BaseController renders InvalidParameterError as 400.
func TestAnalyticsUsageRefusesARangeLongerThanItsGranularityAllows(t *testing.T) {
	f := newStatsFixture(t)
	for _, path := range []string{
		"/stats/services/" + s64(f.shop) + "/usage.json",
		"/stats/applications/" + s64(f.a1) + "/usage.json",
		"/stats/backend_apis/" + s64(f.backend) + "/usage.json",
	} {
		metric := "hits"
		if path == "/stats/backend_apis/"+s64(f.backend)+"/usage.json" {
			metric = "lookups"
		}
		for _, c := range []struct {
			q    []string
			want string
		}{
			{[]string{"granularity", "hour", "since", "2026-01-01", "until", "2026-05-01 23:59:59"}, "90 days"},
			{[]string{"period", "year", "granularity", "hour", "since", "2026-01-01"}, "90 days"},
			{[]string{"granularity", "day", "since", "2024-01-01", "until", "2026-01-01 23:59:59"}, "1 year"},
			{[]string{"granularity", "month", "since", "2010-01-01", "until", "2026-01-01 23:59:59"}, "10 years"},
		} {
			code, body := formCall(t, f.co, http.MethodGet, path, form(append(c.q, "metric_name", metric)...))
			if !assert.Equal(t, http.StatusBadRequest, code, "%s %v: porta refuses the range, Portolan answered", path, c.q) {
				continue
			}
			assert.JSONEq(t, `{"error":"Time range for the granularity must be less than `+c.want+`"}`, string(body), "%s %v", path, c.q)
		}
		for _, q := range [][]string{
			{"granularity", "hour", "since", "2026-01-01", "until", "2026-03-01 23:59:59"},
			{"period", "month", "granularity", "hour", "since", "2026-01-01"},
			{"period", "year", "since", "2026-01-01", "granularity", "day"},
			{"granularity", "month", "since", "2020-01-01", "until", "2026-01-01"},
			// Calendar units, where porta counts Rails' average year and
			// refuses these: a leap year's days, ten calendar years of months.
			{"period", "year", "since", "2028-01-01", "granularity", "day"},
			{"granularity", "month", "since", "2020-01-01", "until", "2029-12-31 23:59:59"},
		} {
			code, body := formCall(t, f.co, http.MethodGet, path, form(append(q, "metric_name", metric)...))
			assert.Equal(t, http.StatusOK, code, "%s %v is within porta's limit: %s", path, q, body)
		}
	}
}
