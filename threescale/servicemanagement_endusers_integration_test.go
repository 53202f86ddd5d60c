package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Today's apisonator refuses user_id (end users are gone) with a 400
// end_users_no_longer_supported, on the OAuth calls as on the others and
// in a reported transaction, whatever its value; the call counts nothing.
func TestServiceManagementRefusesUserID(t *testing.T) {
	f := newOAuthFixture(t)
	const code, text = "end_users_no_longer_supported", "End-users are no longer supported, do not specify the user_id parameter"
	for _, path := range []string{"/transactions/oauth_authorize.xml", "/transactions/oauth_authrep.xml"} {
		for _, q := range []url.Values{
			f.oauthQuery("user_id", "alice", "usage[hits]", "1"),
			f.oauthQuery("user_id", "", "usage[hits]", "1"),
			f.oauthQuery("user_id[]", "alice", "usage[hits]", "1"),
			f.oauthQuery("user_id", "alice", "redirect_url", "https://evil.org/cb"), // before the validators
		} {
			f.smError(t, http.MethodGet, path, q, http.StatusBadRequest, code, text)
		}
	}
	for _, path := range []string{"/transactions/authorize.xml", "/transactions/authrep.xml"} {
		f.smError(t, http.MethodGet, path, f.query("user_key", f.userKey, "user_id", "alice", "usage[hits]", "1"),
			http.StatusBadRequest, code, text)
	}
	st, _ := f.oauthStatus(t, "/transactions/oauth_authorize.xml", f.oauthQuery(), http.StatusOK)
	require.Len(t, st.Reports, 1)
	assert.Zero(t, st.Reports[0].CurrentValue, "no refused authrep counted")

	report := func(user bool) url.Values {
		q := url.Values{"service_token": {f.co.Token}, "service_id": {f.keys},
			"transactions[0][user_key]": {f.userKey}, "transactions[0][usage][hits]": {"1"},
			"transactions[1][user_key]": {f.userKey}, "transactions[1][usage][hits]": {"1"}}
		if user {
			q.Set("transactions[1][user_id]", "alice")
		}
		return q
	}
	f.smError(t, http.MethodPost, "/transactions.xml", report(true), http.StatusBadRequest, code, text)
	resp, body := f.sm(t, http.MethodPost, "/transactions.xml", report(false), nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	ks, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	var hits int64
	for _, r := range ks.Reports {
		if r.Metric == "hits" && r.Period == "day" {
			hits = r.CurrentValue
		}
	}
	assert.EqualValues(t, 2, hits, "only the report without user_id counted, both its transactions")
}
