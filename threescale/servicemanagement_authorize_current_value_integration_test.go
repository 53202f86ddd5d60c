package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reportOf returns the usage report of metric and period in st.
func reportOf(t *testing.T, st smStatus, metric, period string) smReport {
	t.Helper()
	for _, r := range st.Reports {
		if r.Metric == metric && r.Period == period {
			return r
		}
	}
	require.Failf(t, "no usage report", "%s/%s in %+v", metric, period, st.Reports)
	return smReport{}
}

// authorize's usage is predicted, never reported: apisonator builds its
// Status with predicted_usage: !report_usage (lib/3scale/backend/transactor.rb),
// Status#usage is then nil (transactor/status.rb: "Returns the usage to be
// reported in an authrep request"), and UsageReport#compute_current_value
// shows the stored value unless there is a usage to report. Its own tests
// say so (test/integration/authorize/set_usage_test.rb: 80 stored,
// authorize usage[hits]=2 authorized, current_value 80; 99 stored,
// usage[hits]=#2, current_value 99). Only authrep's current_value counts
// the call. The limit headers' calls left divide by the usage as sent, a
// set value's n (UsageReport#compute_usage: Usage.get_from("#n") is n),
// not n less the stored value.
func TestServiceManagementAuthorizeShowsTheStoredValue(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	f.status(t, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[hits]", "2"), http.StatusOK)

	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "2"), http.StatusOK)
	assert.EqualValues(t, 2, reportOf(t, st, "hits", "minute").CurrentValue, "authorize shows the stored 2, not 2 + its predicted 2")
	assert.EqualValues(t, 2, reportOf(t, st, "hits", "day").CurrentValue)

	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "#3"), http.StatusOK)
	assert.EqualValues(t, 2, reportOf(t, st, "hits", "minute").CurrentValue, "a set value is predicted too: the stored 2 is shown")

	remaining, _, max := f.limitHeaders(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "#3"), http.StatusOK)
	assert.Equal(t, [2]string{"1", "5"}, [2]string{remaining, max}, "(5-2)/3 calls of a counter set to 3")
	remaining, _, max = f.limitHeaders(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "#1"), http.StatusOK)
	assert.Equal(t, [2]string{"3", "5"}, [2]string{remaining, max}, "(5-2)/1: a set value below the stored one still constrains")

	st, _ = f.status(t, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[hits]", "2"), http.StatusOK)
	assert.EqualValues(t, 4, reportOf(t, st, "hits", "minute").CurrentValue, "authrep shows the stored value with the call's usage")
}
