package threescale_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stock APIcast asks every authrep with
// "3scale-options: rejection_reason_header=1&limit_headers=1&no_body=1": as
// apisonator, the answer is its status and headers alone; the usage is
// still added; an error keeps its document.
func TestServiceManagementNoBodyAnswersStatusAndHeadersOnly(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	apicast := http.Header{"3scale-Options": {"rejection_reason_header=1&limit_headers=1&no_body=1"}}
	q := f.query("user_key", f.userKey, "usage[hits]", "1")
	for i := 1; i <= 5; i++ {
		resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml", q, apicast)
		require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i, body)
		assert.Empty(t, body, "call %d: no_body asks for no <status> document", i)
		assert.Equal(t, s64(int64(5-i)), resp.Header.Get("3scale-Limit-Remaining"), "call %d", i)
	}
	resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml", q, apicast)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
	assert.Empty(t, body)
	assert.Equal(t, "limits_exceeded", resp.Header.Get("3scale-Rejection-Reason"))
	assert.Equal(t, "0", resp.Header.Get("3scale-Limit-Remaining"))

	// the deprecated query parameter too, with any value but 0 or false
	resp, body = f.sm(t, http.MethodGet, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "1", "no_body", "true"), nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
	assert.Empty(t, body)
	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "1", "no_body", "0"), http.StatusConflict)
	assert.Equal(t, "usage limits are exceeded", st.Reason, "no_body=0 keeps the document")

	// an error is still a document
	resp, body = f.sm(t, http.MethodGet, "/transactions/authrep.xml", f.query("user_key", "unknown"), apicast)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `<error code="user_key_invalid">`)
}

// As apisonator, the 3scale-limit-* headers come with an authorized call or
// one refused for its limits; a call refused for anything else (a wrong
// application key) has none.
func TestServiceManagementLimitHeadersOnlyForLimitsOrAuthorized(t *testing.T) {
	f := newSMFixture(t)
	opts := http.Header{"3scale-Options": {"rejection_reason_header=1&limit_headers=1"}}
	q := f.query("service_id", f.ids, "app_id", f.appID, "app_key", "wrong-key")
	resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml", q, opts)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
	assert.Equal(t, "application_key_invalid", resp.Header.Get("3scale-Rejection-Reason"))
	for _, h := range []string{"3scale-Limit-Remaining", "3scale-Limit-Reset", "3scale-Limit-Max-Value"} {
		assert.Empty(t, resp.Header.Get(h), "%s on a refusal that is not for limits", h)
	}
	resp, body = f.sm(t, http.MethodGet, "/transactions/authrep.xml", f.query("service_id", f.ids, "app_id", f.appID, "app_key", f.appKey), opts)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "-1", resp.Header.Get("3scale-Limit-Remaining"), "an authorized call has them: no limit is -1")
}
