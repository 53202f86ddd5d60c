package threescale_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smOAuthStatus is apisonator's <status> of the OAuth calls, with the
// application it answers.
type smOAuthStatus struct {
	XMLName     xml.Name   `xml:"status"`
	Authorized  bool       `xml:"authorized"`
	Reason      string     `xml:"reason"`
	Plan        string     `xml:"plan"`
	Reports     []smReport `xml:"usage_reports>usage_report"`
	Application struct {
		ID          string `xml:"id"`
		Key         string `xml:"key"`
		RedirectURL string `xml:"redirect_url"`
	} `xml:"application"`
}

// oauthFixture adds to smFixture an OpenID Connect service whose Gold plan
// allows 100 hits a day, with an application (client id, secret, redirect
// URL).
type oauthFixture struct {
	*smFixture
	oidc, oidcApp string
}

const (
	oauthClientID = "oauth-client"
	oauthSecret   = "oauth-s3cret"
	oauthRedirect = "https://app.example.com/callback"
)

func newOAuthFixture(t *testing.T) *oauthFixture {
	t.Helper()
	f := &oauthFixture{smFixture: newSMFixture(t)}
	co := f.co
	f.oidc = co.Create(t, "/admin/api/services.json", "name=Oidc&system_name=oidc&backend_version=oidc")
	gold := co.Create(t, "/admin/api/services/"+f.oidc+"/application_plans.json", "name=Gold")
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/services/"+f.oidc+"/metrics.json", nil, http.StatusOK, &metrics)
	require.NotEmpty(t, metrics.Metrics)
	co.Create(t, "/admin/api/application_plans/"+gold+"/metrics/"+s64(metrics.Metrics[0].Metric.ID)+"/limits.json",
		"period=day&value=100")
	f.oidcApp = co.Create(t, "/admin/api/accounts/"+f.account+"/applications.json", url.Values{
		"name": {"Web"}, "plan_id": {gold}, "application_id": {oauthClientID}, "application_key": {oauthSecret},
		"redirect_url": {oauthRedirect},
	}.Encode())
	return f
}

func (f *oauthFixture) oauthQuery(kv ...string) url.Values {
	q := url.Values{"service_token": {f.co.Token}, "service_id": {f.oidc}, "app_id": {oauthClientID}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			q.Del(kv[i])
			continue
		}
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func (f *oauthFixture) oauthStatus(t *testing.T, path string, q url.Values, want int) (smOAuthStatus, []byte) {
	t.Helper()
	resp, body := f.sm(t, http.MethodGet, path, q, nil)
	require.Equal(t, want, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/vnd.3scale-v2.0+xml", resp.Header.Get("Content-Type"))
	var st smOAuthStatus
	require.NoError(t, xml.Unmarshal(body, &st), "%s", body)
	return st, body
}

func TestServiceManagementOAuthAuthorizeAnswersTheApplication(t *testing.T) {
	f := newOAuthFixture(t)
	const path = "/transactions/oauth_authorize.xml"
	st, body := f.oauthStatus(t, path, f.oauthQuery(), http.StatusOK)
	assert.True(t, st.Authorized)
	assert.Equal(t, "Gold", st.Plan)
	assert.Equal(t, oauthClientID, st.Application.ID)
	assert.Equal(t, oauthSecret, st.Application.Key, "the application's first key")
	assert.Equal(t, oauthRedirect, st.Application.RedirectURL)
	assert.Equal(t, []string{"status", "status/authorized", "status/application", "status/application/id",
		"status/application/key", "status/application/redirect_url", "status/plan", "status/usage_reports"},
		elementPaths(t, body)[:8], "apisonator's order")

	// the key is checked only when given; the redirect URL likewise
	f.oauthStatus(t, path, f.oauthQuery("app_key", oauthSecret, "redirect_url", oauthRedirect), http.StatusOK)
	f.oauthStatus(t, path, f.oauthQuery("redirect_uri", oauthRedirect), http.StatusOK)
	for _, tc := range []struct {
		name   string
		q      url.Values
		reason string
	}{
		{"wrong key", f.oauthQuery("app_key", "wrong"), "application key is invalid"},
		{"empty key", f.oauthQuery("app_key", ""), "application key is missing"},
		{"other redirect_url", f.oauthQuery("redirect_url", "https://evil.org/cb"), `redirect_url "https://evil.org/cb" is invalid`},
		{"other redirect_uri", f.oauthQuery("redirect_uri", "https://evil.org/cb"), `redirect_uri "https://evil.org/cb" is invalid`},
		{"service without oauth", url.Values{"service_token": {f.co.Token}, "service_id": {f.ids}, "app_id": {f.appID}},
			"oauth is not enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := f.oauthStatus(t, path, tc.q, http.StatusConflict)
			assert.False(t, st.Authorized)
			assert.Equal(t, tc.reason, st.Reason)
			assert.Equal(t, []string{"status", "status/authorized", "status/reason", "status/application"},
				elementPaths(t, body)[:4])
		})
	}
	resp, _ := f.sm(t, http.MethodGet, path, f.oauthQuery("redirect_url", "https://evil.org/cb"),
		http.Header{"3scale-Options": {"rejection_reason_header=1"}})
	assert.Equal(t, "redirect_url_invalid", resp.Header.Get("3scale-Rejection-Reason"))

	f.smError(t, http.MethodGet, path, f.oauthQuery("app_id", "-"), http.StatusNotFound,
		"application_not_found", `application with id="" was not found`)
	f.smError(t, http.MethodGet, path, f.oauthQuery("app_id", "-", "access_token", "tok"), http.StatusNotFound,
		"access_token_invalid", "token is invalid: expired or never defined")
	f.smError(t, http.MethodGet, path, f.oauthQuery("app_id", "nobody"), http.StatusNotFound,
		"application_not_found", `application with id="nobody" was not found`)
}

func TestServiceManagementOAuthAuthrepCountsUsage(t *testing.T) {
	f := newOAuthFixture(t)
	for i := 1; i <= 2; i++ {
		st, _ := f.oauthStatus(t, "/transactions/oauth_authrep.xml", f.oauthQuery("usage[hits]", "1"), http.StatusOK)
		require.Len(t, st.Reports, 1)
		assert.EqualValues(t, i, st.Reports[0].CurrentValue, "call %d", i)
		assert.Equal(t, oauthClientID, st.Application.ID)
	}
	st, _ := f.oauthStatus(t, "/transactions/oauth_authorize.xml", f.oauthQuery(), http.StatusOK)
	assert.EqualValues(t, 2, st.Reports[0].CurrentValue, "authorize adds nothing")
	st, _ = f.oauthStatus(t, "/transactions/oauth_authrep.xml",
		f.oauthQuery("usage[hits]", "1", "app_key", "wrong"), http.StatusConflict)
	assert.Equal(t, "application key is invalid", st.Reason)
	assert.EqualValues(t, 2, st.Reports[0].CurrentValue, "a refused authrep adds nothing")
}

// addReferrerFilter gives an application of the fixture's account a filter.
func (f *smFixture) addReferrerFilter(t *testing.T, app, value string) {
	t.Helper()
	f.co.Create(t, "/admin/api/accounts/"+f.account+"/applications/"+app+"/referrer_filters.json", "referrer_filter="+url.QueryEscape(value))
}

func TestServiceManagementReferrerFilters(t *testing.T) {
	f := newOAuthFixture(t)
	waitForFreshMinute()
	f.addReferrerFilter(t, f.app, "*.example.com")
	f.addReferrerFilter(t, f.app, "10.0.0.1")
	const authorize, authrep = "/transactions/authorize.xml", "/transactions/authrep.xml"

	// as apisonator: filters apply only once the service requires them
	f.status(t, authorize, f.query("user_key", f.userKey, "referrer", "evil.org"), http.StatusOK)
	var svc map[string]any
	decodeCall(t, f.co, http.MethodPut, "/admin/api/services/"+f.keys+".json",
		url.Values{"referrer_filters_required": {"true"}}, http.StatusOK, &svc)

	for _, ok := range []string{"api.example.com", "a.b.example.com", "10.0.0.1", "*"} {
		st, _ := f.status(t, authorize, f.query("user_key", f.userKey, "referrer", ok), http.StatusOK)
		assert.True(t, st.Authorized, ok)
	}
	for _, tc := range []struct{ referrer, reason string }{
		{"-", "referrer is missing"},
		{"", "referrer is missing"},
		{"evil.org", `referrer "evil.org" is not allowed`},
		{"example.com", `referrer "example.com" is not allowed`},
		{"api.example.com.evil.org", `referrer "api.example.com.evil.org" is not allowed`},
	} {
		q := f.query("user_key", f.userKey)
		if tc.referrer != "-" {
			q.Set("referrer", tc.referrer)
		}
		for _, path := range []string{authorize, authrep} {
			resp, body := f.sm(t, http.MethodGet, path, q, http.Header{"3scale-Options": {"rejection_reason_header=1"}})
			require.Equal(t, http.StatusConflict, resp.StatusCode, "%s %q: %s", path, tc.referrer, body)
			var st smStatus
			require.NoError(t, xml.Unmarshal(body, &st))
			assert.Equal(t, tc.reason, st.Reason, path)
			assert.Equal(t, "referrer_not_allowed", resp.Header.Get("3scale-Rejection-Reason"))
		}
	}
	// a refused authrep counts nothing; an allowed one counts
	q := f.query("user_key", f.userKey, "usage[hits]", "1", "referrer", "evil.org")
	f.status(t, authrep, q, http.StatusConflict)
	q.Set("referrer", "api.example.com")
	st, _ := f.status(t, authrep, q, http.StatusOK)
	assert.EqualValues(t, 1, st.Reports[2].CurrentValue, "hits/minute: only the allowed call")

	// an application without filters accepts any referrer, or none
	decodeCall(t, f.co, http.MethodPut, "/admin/api/services/"+f.ids+".json",
		url.Values{"referrer_filters_required": {"true"}}, http.StatusOK, &svc)
	idq := url.Values{"service_token": {f.co.Token}, "service_id": {f.ids}, "app_id": {f.appID}, "app_key": {f.appKey}}
	f.status(t, authorize, idq, http.StatusOK)
	idq.Set("referrer", "anything.org")
	f.status(t, authorize, idq, http.StatusOK)

	// the OAuth variants check it too, after the redirect URL
	f.addReferrerFilter(t, f.oidcApp, "app.example.com")
	decodeCall(t, f.co, http.MethodPut, "/admin/api/services/"+f.oidc+".json",
		url.Values{"referrer_filters_required": {"true"}}, http.StatusOK, &svc)
	f.oauthStatus(t, "/transactions/oauth_authorize.xml", f.oauthQuery("referrer", "app.example.com"), http.StatusOK)
	ost, _ := f.oauthStatus(t, "/transactions/oauth_authrep.xml", f.oauthQuery("referrer", "evil.org"), http.StatusConflict)
	assert.Equal(t, `referrer "evil.org" is not allowed`, ost.Reason)
	ost, _ = f.oauthStatus(t, "/transactions/oauth_authorize.xml",
		f.oauthQuery("referrer", "evil.org", "redirect_url", "https://evil.org/cb"), http.StatusConflict)
	assert.Equal(t, `redirect_url "https://evil.org/cb" is invalid`, ost.Reason, "the redirect URL is checked first")

	// the referrer comes before the state: a suspended application with a bad referrer is refused for the referrer
	decodeCall(t, f.co, http.MethodPut, "/admin/api/accounts/"+f.account+"/applications/"+f.app+"/suspend.json",
		nil, http.StatusOK, &svc)
	st, _ = f.status(t, authorize, f.query("user_key", f.userKey, "referrer", "evil.org"), http.StatusConflict)
	assert.Equal(t, `referrer "evil.org" is not allowed`, st.Reason)
	st, _ = f.status(t, authorize, f.query("user_key", f.userKey, "referrer", "api.example.com"), http.StatusConflict)
	assert.Equal(t, "application is not active", st.Reason)
}

func TestServiceManagementFlatUsage(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	flat := http.Header{"3scale-Options": {"flat_usage=1"}}
	// flat_usage: the client has added a method's usage to its parent itself
	resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[get_news]", "1"), flat)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var st smStatus
	require.NoError(t, xml.Unmarshal(body, &st))
	assert.EqualValues(t, 1, st.Reports[1].CurrentValue, "get_news/hour")
	assert.EqualValues(t, 0, st.Reports[2].CurrentValue, "hits/minute: not propagated under flat_usage")

	resp, body = f.sm(t, http.MethodPost, "/transactions.xml", url.Values{
		"service_token": {f.co.Token}, "service_id": {f.keys},
		"transactions[0][user_key]": {f.userKey}, "transactions[0][usage][get_news]": {"1"},
	}, flat)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)

	// without it, the parent counts as before
	st, _ = f.status(t, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[get_news]", "1"), http.StatusOK)
	assert.EqualValues(t, 3, st.Reports[1].CurrentValue, "get_news/hour: one flat authrep, one flat report, this one")
	assert.EqualValues(t, 1, st.Reports[2].CurrentValue, "hits/minute: this call only")
}
