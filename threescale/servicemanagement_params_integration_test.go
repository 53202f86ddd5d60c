package threescale_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apisonator's listener (3scale/apisonator lib/3scale/backend/listener.rb,
// do_api_method and normalize_non_empty_keys!) strips service_id, app_id,
// app_key, user_key and provider_key (AUTH_AUTHREP_COMMON_PARAMS) of
// authorize, authrep and their OAuth variants with Ruby's String#strip:
// leading and trailing NUL, tab, line feed, vertical tab, form feed, carriage
// return and space, nothing inside. A value blank once stripped is dropped,
// as if not given, but for app_key, kept empty ("app_key must be kept even
// if empty if it exists"). service_token is not among them, and POST
// /transactions.xml never calls normalize_non_empty_keys!: a reported
// transaction's keys reach Application.extract_id! as sent
// (lib/3scale/backend/transactor/report_job.rb, application.rb).
func TestServiceManagementStripsKeyParams(t *testing.T) {
	f := newSMFixture(t)
	const authorize, authrep = "/transactions/authorize.xml", "/transactions/authrep.xml"

	st, _ := f.status(t, authorize, f.query("user_key", " \t"+f.userKey+"\r\n"), http.StatusOK)
	assert.True(t, st.Authorized, "user_key stripped")
	st, _ = f.status(t, authrep, f.query("user_key", "\x00"+f.userKey+"\v\f", "service_id", " "+f.keys+" "), http.StatusOK)
	assert.True(t, st.Authorized, "service_id stripped too")
	st, _ = f.status(t, authorize, f.query("service_id", f.ids, "app_id", "\n"+f.appID+" ", "app_key", " "+f.appKey+"\t"), http.StatusOK)
	assert.True(t, st.Authorized, "app_id and app_key stripped")
	q := f.query("service_token", "", "user_key", f.userKey)
	q.Set("provider_key", " "+f.co.Token+" ")
	st, _ = f.status(t, authorize, q, http.StatusOK)
	assert.True(t, st.Authorized, "provider_key stripped")

	// Only the ends: whitespace inside a key stays.
	f.smError(t, http.MethodGet, authorize, f.query("user_key", "exa mple"), http.StatusForbidden,
		"user_key_invalid", "user key is invalid")
	// A user_key blank once stripped is none: no application is named.
	f.smError(t, http.MethodGet, authorize, f.query("user_key", " \t "), http.StatusNotFound,
		"application_not_found", `application with id="" was not found`)
	// An app_key blank once stripped is an empty one, still given.
	st, _ = f.status(t, authorize, f.query("service_id", f.ids, "app_id", f.appID, "app_key", "  "), http.StatusConflict)
	assert.Equal(t, "application key is missing", st.Reason)

	// service_token is not stripped.
	f.smError(t, http.MethodGet, authorize, f.query("service_token", " "+f.co.Token+" ", "user_key", f.userKey),
		http.StatusForbidden, "service_token_invalid", "service token is invalid")
	// Nor are a report's keys: its transaction names no application.
	rq := url.Values{"service_token": {f.co.Token}, "service_id": {f.keys},
		"transactions[0][user_key]": {" " + f.userKey + " "}, "transactions[0][usage][hits]": {"1"}}
	f.smError(t, http.MethodPost, "/transactions.xml", rq, http.StatusForbidden, "user_key_invalid", "user key is invalid")
}

// apisonator's listener answers a bare 403 (halt 403: no body, the
// listener's Content-Type) to an authorize, authrep or OAuth call whose usage
// is not a hash (valid_usage_params?, 3scale/apisonator
// lib/3scale/backend/listener.rb; its test "usage must be an array
// regression", test/integration/authorize/basic_test.rb, sends an empty
// usage and usage=1001): Rack reads usage=hits or usage= as a string and
// usage[]=1 as an array. The check follows the credentials' and user_id's,
// so those errors come first. A usage mixing an array with a hash
// (usage[]=1&usage[metric]=1) fails Rack's parsing: the listener's
// ExceptionCatcher answers 400 bad_request
// (lib/3scale/backend/rack/exception_catcher.rb, errors.rb BadRequest).
func TestServiceManagementRefusesUsageNotAHash(t *testing.T) {
	f := newSMFixture(t)
	paths := []string{"/transactions/authorize.xml", "/transactions/authrep.xml",
		"/transactions/oauth_authorize.xml", "/transactions/oauth_authrep.xml"}
	for _, path := range paths {
		for _, raw := range []string{"usage=hits", "usage=", "usage=1001", "usage%5B%5D=1", "usage%5B%5D%5Bhits%5D=1"} {
			q := f.query("user_key", f.userKey)
			target := f.co.URL + path + "?" + q.Encode() + "&" + raw
			resp, err := http.Get(target)
			require.NoError(t, err)
			body := readBody(t, resp)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s: %s", path, raw, body)
			assert.Empty(t, body, "%s %s", path, raw)
			assert.Equal(t, "application/vnd.3scale-v2.0+xml", resp.Header.Get("Content-Type"), "%s %s", path, raw)
		}
		bad := f.query("user_key", f.userKey)
		bad.Set("usage[]", "1")
		bad.Set("usage[hits]", "1")
		f.smError(t, http.MethodGet, path, bad, http.StatusBadRequest, "bad_request",
			"request contains syntax errors, should not be repeated without modification")
	}

	// Nothing was added: the minute's 5 hits are all left.
	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	for _, r := range st.Reports {
		if r.Metric == "hits" {
			assert.Zero(t, r.CurrentValue, "%s %s", r.Metric, r.Period)
		}
	}

	// The credentials' errors and user_id's come first.
	q := f.query("service_token", "", "user_key", f.userKey, "usage", "hits")
	f.smError(t, http.MethodGet, "/transactions/authrep.xml", q, http.StatusForbidden,
		"provider_key_or_service_token_required", "Provider key or service token are required")
	f.smError(t, http.MethodGet, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage", "hits", "user_id", "u"),
		http.StatusBadRequest, "end_users_no_longer_supported",
		"End-users are no longer supported, do not specify the user_id parameter")
	// A hash is read as before.
	st, _ = f.status(t, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[hits]", "1"), http.StatusOK)
	assert.True(t, st.Authorized)
}

// A reported transaction's usage must be a hash too. apisonator's listener
// does not check it (post '/transactions.xml' only checks that
// transactions is a hash), and its Transactor.report then runs
// filter_usages_with_0 over every transaction, calling
// "usage.delete_if { |_metric, delta| delta.to_s == '0'.freeze }" on what
// Rack made of transactions[0][usage]: a string (usage=hits, usage=) has
// no delete_if, a NoMethodError and a 500; an array (usage[]=1) is queued
// and refused later by the ReportJob, with a 202 to the client
// (lib/3scale/backend/transactor.rb, transactor/report_job.rb). Portolan
// answers both with a 400 that names the field, so no client retries what
// cannot succeed or believes a usage counted that is not; nothing of the
// batch is counted. Mixing a hash with a string or an array fails Rack's
// parser: 400 bad_request, as apisonator's ExceptionCatcher answers.
func TestServiceManagementReportRefusesUsageNotAHash(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	report := func(extra url.Values) url.Values {
		q := url.Values{"service_token": {f.co.Token}, "service_id": {f.keys},
			"transactions[0][user_key]": {f.userKey}, "transactions[0][usage][hits]": {"1"},
			"transactions[1][user_key]": {f.userKey}}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
	for _, bad := range []url.Values{
		{"transactions[1][usage]": {"hits"}},
		{"transactions[1][usage]": {""}},
		{"transactions[1][usage][]": {"1"}},
		{"transactions[1][usage][][hits]": {"1"}},
	} {
		f.smError(t, http.MethodPost, "/transactions.xml", report(bad), http.StatusBadRequest, "transactions_format_invalid",
			"transactions[1][usage] must be a hash of metric names to values, as transactions[1][usage][hits]=1")
	}
	for _, mixed := range []url.Values{
		{"transactions[1][usage]": {"hits"}, "transactions[1][usage][hits]": {"1"}},
		{"transactions[1][usage][]": {"1"}, "transactions[1][usage][hits]": {"1"}},
	} {
		f.smError(t, http.MethodPost, "/transactions.xml", report(mixed), http.StatusBadRequest, "bad_request",
			"request contains syntax errors, should not be repeated without modification")
	}
	st, _ := f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	for _, r := range st.Reports {
		if r.Metric == "hits" {
			assert.Zero(t, r.CurrentValue, "nothing of a refused batch is counted: %s %s", r.Metric, r.Period)
		}
	}
	// A transaction without usage, and a hash, are reported as before.
	resp, body := f.sm(t, http.MethodPost, "/transactions.xml",
		report(url.Values{"transactions[1][usage][hits]": {"2"}}), nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	resp, body = f.sm(t, http.MethodPost, "/transactions.xml", report(nil), nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey), http.StatusOK)
	for _, r := range st.Reports {
		if r.Metric == "hits" && r.Period == "minute" {
			assert.EqualValues(t, 4, r.CurrentValue)
		}
	}
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
