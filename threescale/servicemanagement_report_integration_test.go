package threescale_test

import (
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServiceManagementReport(t *testing.T) {
	spec := loadSMSpec(t)
	f := newSMFixture(t)
	waitForFreshMinute()
	op := spec.Paths["/transactions.xml"]["post"]
	form := op.RequestBody.Content["application/x-www-form-urlencoded"]
	sort.Strings(form.Schema.Required)
	require.Equal(t, []string{"service_id", "service_token", "transactions"}, form.Schema.Required)
	ex := spec.Components.Schemas.Transaction.Example
	require.Equal(t, f.userKey, ex.UserKey, "the fixture's user_key is the spec example's")

	// two transactions of the spec's example, one with an "YYYY-MM-DD HH:MM:SS -08:00" timestamp as the spec shows
	q := url.Values{"service_token": {f.co.Token}, "service_id": {f.keys}}
	ts := time.Now().In(time.FixedZone("", -8*3600)).Add(-time.Second)
	for i := 0; i < 2; i++ {
		p := "transactions[" + s64(int64(i)) + "]"
		q.Set(p+"[user_key]", ex.UserKey)
		for m, n := range ex.Usage {
			q.Set(p+"[usage]["+m+"]", s64(n))
		}
	}
	q.Set("transactions[1][timestamp]", ts.Format("2006-01-02 15:04:05 -07:00"))
	resp, body := f.sm(t, http.MethodPost, "/transactions.xml", q, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	assert.Empty(t, body)
	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	assert.EqualValues(t, 2, st.Reports[2].CurrentValue, "both transactions counted")

	// all or nothing: one bad transaction and none is counted
	bad := url.Values{"service_token": {f.co.Token}, "service_id": {f.keys},
		"transactions[0][user_key]": {f.userKey}, "transactions[0][usage][hits]": {"1"},
		"transactions[1][user_key]": {"nope"}, "transactions[1][usage][hits]": {"1"}}
	f.smError(t, http.MethodPost, "/transactions.xml", bad, 403, "user_key_invalid", "user key is invalid")
	bad = url.Values{"service_token": {f.co.Token}, "service_id": {f.keys},
		"transactions[0][user_key]": {f.userKey}, "transactions[0][usage][hits]": {"1"},
		"transactions[0][timestamp]": {"2022-02-01 22:15:31 -08:00"}} // the spec's example: long past
	f.smError(t, http.MethodPost, "/transactions.xml", bad, 409, "transaction_timestamp_not_within_range",
		"transaction timestamp must be within 24 hours before and 1 hour after now")
	f.smError(t, http.MethodPost, "/transactions.xml", url.Values{"service_token": {f.co.Token}, "service_id": {f.keys}},
		400, "transactions_is_blank", "transactions parameter is blank")
	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	assert.EqualValues(t, 2, st.Reports[2].CurrentValue, "nothing of the refused reports counted")

	// report ignores limits (3scale reports what happened) and a report by app_id needs no key
	q = url.Values{"service_token": {f.co.Token}, "service_id": {f.keys}}
	for i := 0; i < 5; i++ {
		q.Set("transactions["+s64(int64(i))+"][user_key]", f.userKey)
		q.Set("transactions["+s64(int64(i))+"][usage][hits]", "1")
	}
	resp, body = f.sm(t, http.MethodPost, "/transactions.xml", q, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusConflict)
	assert.EqualValues(t, 7, st.Reports[2].CurrentValue)
	assert.Equal(t, "true", st.Reports[2].Exceeded, "7 stored of 5: over the maximum")
	idq := url.Values{"service_token": {f.co.Token}, "service_id": {f.ids},
		"transactions[0][app_id]": {f.appID}, "transactions[0][usage][hits]": {"3"}}
	resp, body = f.sm(t, http.MethodPost, "/transactions.xml", idq, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
}

func TestServiceManagementUsageSurvivesKill(t *testing.T) {
	f := newSMFixture(t)
	q := f.query("user_key", f.userKey, "usage[hits]", "1")
	for i := 0; i < 4; i++ {
		f.status(t, "/transactions/authrep.xml", q, http.StatusOK)
	}
	f.co.Kill()
	f.co.Start()
	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	assert.EqualValues(t, 4, st.Reports[3].CurrentValue, "every acknowledged authrep survives kill -9 (hits/day)")
}
