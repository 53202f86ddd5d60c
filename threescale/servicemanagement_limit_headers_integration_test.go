package threescale_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limitHeaders calls path with apisonator's limit_headers extension and
// returns the answer's 3scale-limit-* headers (remaining, reset, max-value).
func (f *smFixture) limitHeaders(t *testing.T, path string, q url.Values, status int) (remaining, reset, max string) {
	t.Helper()
	resp, body := f.sm(t, http.MethodGet, path, q, http.Header{"3scale-Options": {"limit_headers=1"}})
	require.Equal(t, status, resp.StatusCode, "%s", body)
	return resp.Header.Get("3scale-Limit-Remaining"), resp.Header.Get("3scale-Limit-Reset"), resp.Header.Get("3scale-Limit-Max-Value")
}

// secondsTo asserts that reset is the seconds, rounded up, to end.
func secondsTo(t *testing.T, reset string, end time.Time, what string) {
	t.Helper()
	n, err := strconv.ParseInt(reset, 10, 64)
	require.NoError(t, err, "3scale-limit-reset %q", reset)
	left := time.Until(end)
	assert.InDelta(t, float64((left+time.Second-1)/time.Second), float64(n), 2, "3scale-limit-reset: the seconds to the end of the %s", what)
}

// apisonator's UsageReport#remaining_same_calls: "Authorize (with predicted
// usage): suppose that we have a metric with a daily limit of 10, a current
// usage of 0, and a given usage of 2. This time, the given usage is not
// taken into account, as it is predicted, not to be reported. The number
// of identical calls that could be performed is 10/2 = 5"; authrep's
// authorized usage is: (10-2)/2 = 4.
func TestServiceManagementLimitHeadersAuthorizeDoesNotCountItsPredictedUsage(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	q := f.query("user_key", f.userKey, "usage[hits]", "1")
	remaining, _, max := f.limitHeaders(t, "/transactions/authorize.xml", q, http.StatusOK)
	assert.Equal(t, "5", remaining, "hits: 5 of 5 left this minute, 5 calls of 1")
	assert.Equal(t, "5", max)
	remaining, _, _ = f.limitHeaders(t, "/transactions/authrep.xml", q, http.StatusOK)
	assert.Equal(t, "4", remaining, "authrep counts the call: (5-1)/1")
	remaining, _, _ = f.limitHeaders(t, "/transactions/authorize.xml", q, http.StatusOK)
	assert.Equal(t, "4", remaining, "(5-1)/1, the authorize adding nothing")
}

// A refused call's reports count the stored values alone
// (UsageReport#compute_current_value adds the usage "If not authorized ...
// we just report the current value from the data store"), so a limit the
// call would have just reached still leaves it one call: the limit that
// refused it is reported, with its period's reset, as APIcast's
// Retry-After. Here get_news's hour limit of 3 has 2 used, hits's minute
// limit of 5 has 2 too; a call of get_news 1 and hits 3 adds 4 hits and is
// refused by the minute.
func TestServiceManagementLimitHeadersOfARefusalAreTheRefusingLimits(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	one := f.query("user_key", f.userKey, "usage[get_news]", "1")
	for range 2 {
		f.status(t, "/transactions/authrep.xml", one, http.StatusOK)
	}
	q := f.query("user_key", f.userKey, "usage[get_news]", "1", "usage[hits]", "3")
	remaining, reset, max := f.limitHeaders(t, "/transactions/authrep.xml", q, http.StatusConflict)
	assert.Equal(t, "0", remaining)
	assert.Equal(t, "5", max, "the minute's limit refused the call; get_news's hour leaves it (3-2)/1 = 1")
	secondsTo(t, reset, time.Now().UTC().Truncate(time.Minute).Add(time.Minute), "minute")
}

// apisonator's LimitHeaders: with no limit on the call's metrics, "-1 is
// used in the remaining of usage reports to indicate that there is no
// limit", and the answer has remaining and reset of -1 and no
// 3scale-limit-max-value (its test "remaining and reset in headers are
// negative when there are no limits": assert_nil max-value).
func TestServiceManagementLimitHeadersUnconstrainedHaveNoMaxValue(t *testing.T) {
	f := newSMFixture(t)
	q := url.Values{"service_token": {f.co.Token}, "service_id": {f.ids}, "app_id": {f.appID}, "app_key": {f.appKey},
		"usage[hits]": {"1"}}
	remaining, reset, max := f.limitHeaders(t, "/transactions/authrep.xml", q, http.StatusOK)
	assert.Equal(t, [3]string{"-1", "-1", ""}, [3]string{remaining, reset, max})
}
