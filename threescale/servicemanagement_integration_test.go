package threescale_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// smStatus is apisonator's <status> document.
type smStatus struct {
	XMLName    xml.Name   `xml:"status"`
	Authorized bool       `xml:"authorized"`
	Reason     string     `xml:"reason"`
	Plan       string     `xml:"plan"`
	Reports    []smReport `xml:"usage_reports>usage_report"`
}

type smReport struct {
	Metric       string `xml:"metric,attr"`
	Period       string `xml:"period,attr"`
	Exceeded     string `xml:"exceeded,attr"`
	PeriodStart  string `xml:"period_start"`
	PeriodEnd    string `xml:"period_end"`
	MaxValue     int64  `xml:"max_value"`
	CurrentValue int64  `xml:"current_value"`
}

// smErrorDoc is apisonator's <error code="..."> document.
type smErrorDoc struct {
	XMLName xml.Name `xml:"error"`
	Code    string   `xml:"code,attr"`
	Text    string   `xml:",chardata"`
}

// smFixture: a user_key service (Keys) whose Basic plan limits hits to 5 a
// minute and 1000 a day, its method get_news to 3 an hour, and disables
// bytes; an app_id/app_key service (Ids) without limits.
type smFixture struct {
	co                     *testenv.Coordinator
	keys, ids              string // service ids
	hits, getNews, bytes   string // metric ids of Keys
	basic                  string // plan id
	account                string
	app, idApp             string // application ids
	userKey, appID, appKey string
}

func newSMFixture(t *testing.T) *smFixture {
	t.Helper()
	co := testenv.StartCoordinator(t)
	f := &smFixture{co: co, userKey: "example", appID: "news-app", appKey: "k3y-secret"}
	f.keys = co.Create(t, "/admin/api/services.json", "name=Keys&system_name=keys&backend_version=1")
	f.ids = co.Create(t, "/admin/api/services.json", "name=Ids&system_name=ids&backend_version=2")
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	decodeCall(t, co, http.MethodGet, "/admin/api/services/"+f.keys+"/metrics.json", nil, http.StatusOK, &metrics)
	for _, m := range metrics.Metrics {
		if m.Metric.SystemName == "hits" {
			f.hits = s64(m.Metric.ID)
		}
	}
	require.NotEmpty(t, f.hits)
	f.getNews = co.Create(t, "/admin/api/services/"+f.keys+"/metrics/"+f.hits+"/methods.json",
		"friendly_name=Get+news&system_name=get_news")
	f.bytes = co.Create(t, "/admin/api/services/"+f.keys+"/metrics.json", "friendly_name=Bytes&system_name=bytes&unit=byte")
	f.account = co.Create(t, "/admin/api/signup.json", "org_name=Acme&username=acme&email=acme@example.com&password=secret123")
	f.basic = co.Create(t, "/admin/api/services/"+f.keys+"/application_plans.json", "name=Basic")
	pro := co.Create(t, "/admin/api/services/"+f.ids+"/application_plans.json", "name=Pro")
	limit := func(metric, period, value string) {
		co.Create(t, "/admin/api/application_plans/"+f.basic+"/metrics/"+metric+"/limits.json", "period="+period+"&value="+value)
	}
	limit(f.hits, "minute", "5")
	limit(f.hits, "day", "1000")
	limit(f.getNews, "hour", "3")
	limit(f.bytes, "eternity", "0")
	f.app = co.Create(t, "/admin/api/accounts/"+f.account+"/applications.json",
		"name=News+reader&plan_id="+f.basic+"&user_key="+f.userKey)
	f.idApp = co.Create(t, "/admin/api/accounts/"+f.account+"/applications.json",
		"name=Id+reader&plan_id="+pro+"&application_id="+f.appID+"&application_key="+f.appKey)
	return f
}

// sm calls the Service Management API without any other credential than
// the query's.
func (f *smFixture) sm(t *testing.T, method, path string, q url.Values, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	target := f.co.URL + path
	if method == http.MethodGet {
		target += "?" + q.Encode()
	} else {
		body = strings.NewReader(q.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func (f *smFixture) query(kv ...string) url.Values {
	q := url.Values{"service_token": {f.co.Token}, "service_id": {f.keys}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
			continue
		}
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func (f *smFixture) status(t *testing.T, path string, q url.Values, want int) (smStatus, *http.Response) {
	t.Helper()
	resp, body := f.sm(t, http.MethodGet, path, q, nil)
	require.Equal(t, want, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/vnd.3scale-v2.0+xml", resp.Header.Get("Content-Type"))
	var st smStatus
	require.NoError(t, xml.Unmarshal(body, &st), "%s", body)
	return st, resp
}

func (f *smFixture) smError(t *testing.T, method, path string, q url.Values, status int, code, text string) {
	t.Helper()
	resp, body := f.sm(t, method, path, q, nil)
	require.Equal(t, status, resp.StatusCode, "%s", body)
	var e smErrorDoc
	require.NoError(t, xml.Unmarshal(body, &e), "%s", body)
	assert.Equal(t, code, e.Code, "%s", body)
	assert.Equal(t, text, e.Text, "%s", body)
	assert.True(t, strings.HasPrefix(string(body), `<?xml version="1.0" encoding="UTF-8"?><error code="`), "%s", body)
	assert.NotContains(t, string(body), f.co.Token, "a token is never echoed")
}

// elementPaths lists the elements of an XML document in document order, as
// slash-separated paths, so tests can assert apisonator's structure.
func elementPaths(t *testing.T, body []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	var stack, out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		switch el := tok.(type) {
		case xml.StartElement:
			stack = append(stack, el.Name.Local)
			out = append(out, strings.Join(stack, "/"))
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// waitForFreshMinute avoids crossing a minute boundary in a test that counts
// against a per-minute limit.
// waitForFreshMinute leaves at least 8 seconds of the minute, and at
// least 2 behind (a transaction stamped a second ago stays in it).
func waitForFreshMinute() {
	switch s := time.Now().UTC().Second(); {
	case s >= 52:
		time.Sleep(time.Duration(62-s) * time.Second)
	case s < 2:
		time.Sleep(time.Duration(2-s) * time.Second)
	}
}

// specOperation is one operation of service_management_api.json.
type specOperation struct {
	Parameters []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
		Style    string `json:"style"`
	} `json:"parameters"`
	RequestBody struct {
		Content map[string]struct {
			Schema struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type smSpec struct {
	Paths      map[string]map[string]specOperation `json:"paths"`
	Components struct {
		Schemas struct {
			Usage       struct{ Example map[string]int64 } `json:"Usage"`
			Transaction struct {
				Properties map[string]struct {
					Example any `json:"example"`
				} `json:"properties"`
				Example struct {
					UserKey string           `json:"user_key"`
					Usage   map[string]int64 `json:"usage"`
				} `json:"example"`
			} `json:"Transaction"`
			Log struct {
				Properties map[string]struct {
					Example any `json:"example"`
				} `json:"properties"`
			} `json:"Log"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadSMSpec(t *testing.T) smSpec {
	t.Helper()
	var spec smSpec
	require.NoError(t, json.Unmarshal(testenv.ThreescaleFile(t, "service_management_api.json"), &spec))
	return spec
}

// specQuery builds a query from every parameter the spec lists for an
// operation, with the spec's examples: usage from the Usage schema's example,
// log from the Log schema's, credentials and ids from the fixture.
func (f *smFixture) specQuery(t *testing.T, op specOperation, spec smSpec) url.Values {
	t.Helper()
	q := url.Values{}
	for _, p := range op.Parameters {
		require.Equal(t, "query", p.In, p.Name)
		switch p.Name {
		case "service_token":
			q.Set(p.Name, f.co.Token)
		case "service_id":
			q.Set(p.Name, f.keys)
		case "user_key":
			q.Set(p.Name, f.userKey)
		case "app_id", "app_key", "redirect_url", "redirect_uri":
			// the user_key pattern: app_id is left out
		case "referrer":
			q.Set(p.Name, "*")
		case "usage":
			require.Equal(t, "deepObject", p.Style)
			require.NotEmpty(t, spec.Components.Schemas.Usage.Example)
			for m, n := range spec.Components.Schemas.Usage.Example {
				q.Set("usage["+m+"]", s64(n))
			}
		case "log":
			require.Equal(t, "deepObject", p.Style)
			for k, v := range spec.Components.Schemas.Log.Properties {
				b, _ := json.Marshal(v.Example)
				q.Set("log["+k+"]", strings.Trim(string(b), `"`))
			}
		default:
			t.Fatalf("the spec lists parameter %q the test does not know", p.Name)
		}
	}
	return q
}

func TestServiceManagementSpecAuthorizeAndAuthrep(t *testing.T) {
	spec := loadSMSpec(t)
	f := newSMFixture(t)
	waitForFreshMinute()
	hitsUsage := spec.Components.Schemas.Usage.Example["hits"]
	require.EqualValues(t, 1, hitsUsage, "the spec's Usage example is {\"hits\": 1}")

	for i, name := range []string{"/transactions/authorize.xml", "/transactions/authrep.xml", "/transactions/authrep.xml"} {
		op, ok := spec.Paths[name]["get"]
		require.True(t, ok, "the spec has GET %s", name)
		q := f.specQuery(t, op, spec)
		resp, body := f.sm(t, http.MethodGet, name, q, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Equal(t, []string{
			"status", "status/authorized", "status/plan", "status/usage_reports",
			"status/usage_reports/usage_report", "status/usage_reports/usage_report/max_value",
			"status/usage_reports/usage_report/current_value",
			"status/usage_reports/usage_report", "status/usage_reports/usage_report/period_start",
			"status/usage_reports/usage_report/period_end", "status/usage_reports/usage_report/max_value",
			"status/usage_reports/usage_report/current_value",
			"status/usage_reports/usage_report", "status/usage_reports/usage_report/period_start",
			"status/usage_reports/usage_report/period_end", "status/usage_reports/usage_report/max_value",
			"status/usage_reports/usage_report/current_value",
			"status/usage_reports/usage_report", "status/usage_reports/usage_report/period_start",
			"status/usage_reports/usage_report/period_end", "status/usage_reports/usage_report/max_value",
			"status/usage_reports/usage_report/current_value",
		}, elementPaths(t, body), "%s", body)
		var st smStatus
		require.NoError(t, xml.Unmarshal(body, &st))
		assert.True(t, st.Authorized)
		assert.Empty(t, st.Reason)
		assert.Equal(t, "Basic", st.Plan)
		require.Len(t, st.Reports, 4)
		// bytes (eternity, no bounds), get_news/hour, hits/minute, hits/day
		assert.Equal(t, smReport{Metric: "bytes", Period: "eternity", MaxValue: 0, CurrentValue: 0}, st.Reports[0])
		assert.Equal(t, "get_news", st.Reports[1].Metric)
		assert.Equal(t, "hour", st.Reports[1].Period)
		assert.EqualValues(t, 0, st.Reports[1].CurrentValue, "the usage names hits, not the method")
		now := time.Now().UTC()
		for _, r := range st.Reports[1:] {
			start, err := time.Parse("2006-01-02 15:04:05 -0700", r.PeriodStart)
			require.NoError(t, err, r.PeriodStart)
			end, err := time.Parse("2006-01-02 15:04:05 -0700", r.PeriodEnd)
			require.NoError(t, err, r.PeriodEnd)
			assert.True(t, strings.HasSuffix(r.PeriodStart, " +0000"), r.PeriodStart)
			assert.False(t, now.Before(start.Add(-2*time.Second)) || now.After(end), "%s not in [%s, %s)", now, start, end)
			assert.Empty(t, r.Exceeded)
		}
		hm, hd := st.Reports[2], st.Reports[3]
		assert.Equal(t, "hits", hm.Metric)
		assert.Equal(t, "minute", hm.Period)
		assert.EqualValues(t, 5, hm.MaxValue)
		assert.Equal(t, "day", hd.Period)
		assert.EqualValues(t, 1000, hd.MaxValue)
		// authorize shows the stored value (its usage is predicted, not
		// reported: apisonator's Status#usage is nil for it) and adds
		// nothing; each authrep adds it and shows it.
		want := []int64{0, 1, 2}[i]
		assert.EqualValues(t, want, hm.CurrentValue, "%s #%d", name, i)
		assert.EqualValues(t, want, hd.CurrentValue)
		start, _ := time.Parse("2006-01-02 15:04:05 -0700", hm.PeriodStart)
		end, _ := time.Parse("2006-01-02 15:04:05 -0700", hm.PeriodEnd)
		assert.Equal(t, time.Minute, end.Sub(start))
		assert.Equal(t, 0, start.Second())
	}
}

func TestServiceManagementAuthrepLimitAndHeaders(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	opts := http.Header{"3scale-Options": {"rejection_reason_header=1&limit_headers=1"}}
	q := f.query("user_key", f.userKey, "usage[hits]", "1")
	for i := 1; i <= 5; i++ {
		resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml", q, opts)
		require.Equal(t, http.StatusOK, resp.StatusCode, "call %d: %s", i, body)
		assert.Empty(t, resp.Header.Get("3scale-Rejection-Reason"))
		assert.Equal(t, s64(int64(5-i)), resp.Header.Get("3scale-Limit-Remaining"), "call %d", i)
		assert.Equal(t, "5", resp.Header.Get("3scale-Limit-Max-Value"))
		reset := resp.Header.Get("3scale-Limit-Reset")
		assert.Regexp(t, `^([1-9]|[1-5][0-9]|60)$`, reset, "seconds to the end of the minute")
	}
	resp, body := f.sm(t, http.MethodGet, "/transactions/authrep.xml", q, opts)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
	assert.Equal(t, "limits_exceeded", resp.Header.Get("3scale-Rejection-Reason"))
	assert.Equal(t, "0", resp.Header.Get("3scale-Limit-Remaining"))
	var st smStatus
	require.NoError(t, xml.Unmarshal(body, &st))
	assert.False(t, st.Authorized)
	assert.Equal(t, "usage limits are exceeded", st.Reason)
	assert.Equal(t, "Basic", st.Plan)
	assert.Equal(t, []string{"status", "status/authorized", "status/reason", "status/plan", "status/usage_reports"},
		elementPaths(t, body)[:5])
	hm := st.Reports[2]
	// As apisonator: exceeded="true" only once the stored value is over the
	// maximum (5 of 5 is not), and a refused call's usage is not shown.
	assert.Equal(t, smReport{Metric: "hits", Period: "minute", PeriodStart: hm.PeriodStart,
		PeriodEnd: hm.PeriodEnd, MaxValue: 5, CurrentValue: 5}, hm)
	assert.Empty(t, st.Reports[3].Exceeded, "the day limit is not exceeded")
	assert.EqualValues(t, 5, st.Reports[3].CurrentValue, "current_value does not show the refused call's usage")

	// the refused call added nothing; authorize still refuses, without headers when not asked
	st, resp = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[hits]", "1"), http.StatusConflict)
	assert.Equal(t, "usage limits are exceeded", st.Reason)
	assert.EqualValues(t, 5, st.Reports[2].CurrentValue)
	assert.Empty(t, resp.Header.Get("3scale-Rejection-Reason"))
	assert.Empty(t, resp.Header.Get("3scale-Limit-Remaining"))

	// usage that names another metric only is still authorized (3scale's authorize)
	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[bytes]", "0"), http.StatusOK)
	assert.True(t, st.Authorized)
	// a limit of 0 disables the metric
	st, _ = f.status(t, "/transactions/authorize.xml", f.query("user_key", f.userKey, "usage[bytes]", "1"), http.StatusConflict)
	assert.Equal(t, "usage limits are exceeded", st.Reason)
	assert.Empty(t, st.Reports[0].Exceeded, "0 of 0 stored is not over the maximum")
	assert.EqualValues(t, 0, st.Reports[0].CurrentValue)
}

func TestServiceManagementMethodsAndAppKeys(t *testing.T) {
	f := newSMFixture(t)
	waitForFreshMinute()
	// a method's usage counts to hits; its own hourly limit of 3 applies
	q := f.query("user_key", f.userKey, "usage[get_news]", "1")
	for i := 1; i <= 3; i++ {
		st, _ := f.status(t, "/transactions/authrep.xml", q, http.StatusOK)
		assert.EqualValues(t, i, st.Reports[1].CurrentValue, "get_news/hour")
		assert.EqualValues(t, i, st.Reports[2].CurrentValue, "hits/minute")
	}
	st, _ := f.status(t, "/transactions/authrep.xml", q, http.StatusConflict)
	assert.Empty(t, st.Reports[1].Exceeded, "3 of 3 stored is at, not over, the maximum")
	assert.EqualValues(t, 3, st.Reports[1].CurrentValue)
	assert.Equal(t, "usage limits are exceeded", st.Reason)
	st, _ = f.status(t, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[hits]", "2"), http.StatusOK)
	assert.EqualValues(t, 5, st.Reports[2].CurrentValue, "hits: 3 from the method, 2 now")

	// app_id + app_key, with the admin token as provider_key; no limits: no reports
	idq := url.Values{"provider_key": {f.co.Token}, "service_id": {f.ids}, "app_id": {f.appID}, "app_key": {f.appKey},
		"usage[hits]": {"1"}}
	st, _ = f.status(t, "/transactions/authrep.xml", idq, http.StatusOK)
	assert.True(t, st.Authorized)
	assert.Equal(t, "Pro", st.Plan)
	assert.Empty(t, st.Reports)
	idq.Set("app_key", "wrong")
	st, _ = f.status(t, "/transactions/authorize.xml", idq, http.StatusConflict)
	assert.Equal(t, "application key is invalid", st.Reason)
	idq.Del("app_key")
	st, _ = f.status(t, "/transactions/authorize.xml", idq, http.StatusConflict)
	assert.Equal(t, "application key is missing", st.Reason)
}

func TestServiceManagementErrors(t *testing.T) {
	f := newSMFixture(t)
	const authz = "/transactions/authorize.xml"
	for _, tc := range []struct {
		name       string
		q          url.Values
		status     int
		code, text string
	}{
		{"no token", url.Values{"service_id": {f.keys}, "user_key": {f.userKey}}, 403,
			"provider_key_or_service_token_required", "Provider key or service token are required"},
		{"bad service token", f.query("service_token", "nope", "user_key", f.userKey), 403, "service_token_invalid", "service token is invalid"},
		{"bad provider key", url.Values{"provider_key": {"nope"}, "service_id": {f.keys}, "user_key": {f.userKey}}, 403,
			"provider_key_invalid", "provider key is invalid"},
		{"no service id with a service token", f.query("service_id", "", "user_key", f.userKey), 422, "service_id_missing", "Service ID is missing"},
		{"unknown service", f.query("service_id", "424242", "user_key", f.userKey), 403, "service_token_invalid",
			`service token or service id "424242" is invalid`},
		{"unknown service with a provider key", url.Values{"provider_key": {f.co.Token}, "service_id": {"424242"}, "user_key": {f.userKey}},
			403, "service_id_invalid", `service id "424242" is invalid`},
		{"unknown user key", f.query("user_key", "nope"), 403, "user_key_invalid", "user key is invalid"},
		{"no credentials", f.query(), 404, "application_not_found", `application with id="" was not found`},
		{"unknown app id", f.query("app_id", "nope"), 404, "application_not_found", `application with id="nope" was not found`},
		{"both", f.query("app_id", "a", "user_key", f.userKey), 403, "authentication_error", "either app_id or user_key is allowed, not both"},
		{"unknown metric", f.query("user_key", f.userKey, "usage[nope]", "1"), 404, "metric_invalid", `metric "nope" is invalid`},
		{"bad usage value", f.query("user_key", f.userKey, "usage[hits]", "x"), 403, "usage_value_invalid",
			`usage value "x" for metric "hits" is invalid`},
		{"negative usage", f.query("user_key", f.userKey, "usage[hits]", "-1"), 403, "usage_value_invalid",
			`usage value "-1" for metric "hits" is invalid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.smError(t, http.MethodGet, authz, tc.q, tc.status, tc.code, tc.text)
		})
	}
	// the provider_key without service_id picks the first service
	st, _ := f.status(t, authz, url.Values{"provider_key": {f.co.Token}, "user_key": {f.userKey}}, http.StatusOK)
	assert.True(t, st.Authorized)
	// suspended: 409 with the status document
	code, body := rawCall(t, f.co, http.MethodPut, "/admin/api/accounts/"+f.account+"/applications/"+f.app+"/suspend.json", "", "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	st, _ = f.status(t, "/transactions/authrep.xml", f.query("user_key", f.userKey, "usage[hits]", "1"), http.StatusConflict)
	assert.False(t, st.Authorized)
	assert.Equal(t, "application is not active", st.Reason)
	assert.EqualValues(t, 0, st.Reports[2].CurrentValue, "refused: neither added nor shown")
	resp, _ := f.sm(t, http.MethodGet, authz, f.query("user_key", f.userKey),
		http.Header{"3scale-Options": {"rejection_reason_header=1"}})
	assert.Equal(t, "application_not_active", resp.Header.Get("3scale-Rejection-Reason"))
	// an unknown endpoint
	f.smError(t, http.MethodGet, "/transactions/unknown.xml", f.query(), 404, "not_found", "not found")
}
