package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// since is read as porta reads it, with ActiveSupport's Time.zone.parse
// (Stats::Base#to_time), which takes a time as Rails prints it in UTC,
// "2026-03-29 00:00:00 UTC": the form porta's own XML answers (and
// Portolan's) show a period's since and until in, so a client can send
// back what it was given.
func TestAnalyticsSinceTakesATimeAsRailsPrintsItInUTC(t *testing.T) {
	f := newStatsFixture(t)
	path := "/stats/services/" + s64(f.shop) + "/usage.json"
	code, body := formCall(t, f.co, http.MethodGet, path, form("metric_name", "hits", "period", "day", "since", "2026-03-29 00:00:00 UTC", "timezone", "Madrid"))
	if assert.Equal(t, http.StatusOK, code, "%s", body) {
		assert.Contains(t, string(body), `"since":"2026-03-29T01:00:00+01:00"`, "00:00 UTC is 01:00 in Madrid, the start of its first hour")
	}
	top := "/stats/services/" + s64(f.shop) + "/top_applications.json"
	code, body = formCall(t, f.co, http.MethodGet, top, form("metric_name", "hits", "period", "month", "since", "2026-03-01 00:00:00 UTC"))
	if assert.Equal(t, http.StatusOK, code, "%s", body) {
		assert.Contains(t, string(body), `"since":"2026-03-01T00:00:00Z"`)
	}
}
