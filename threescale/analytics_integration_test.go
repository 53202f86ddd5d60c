package threescale_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/usage"
)

// statsFixture: a user_key service Shop with three applications (a1 and a3
// of Acme on Basic, a2 of Beta on Gold), a service Other with one
// application, and a backend API Store (metric lookups) used by both.
type statsFixture struct {
	co                   *testenv.Coordinator
	shop, other, backend int64
	hits, otherHits      int64
	lookups              int64
	a1, a2, a3, o1       int64
}

func newStatsFixture(t *testing.T) *statsFixture {
	t.Helper()
	co := testenv.StartCoordinator(t)
	id := func(path, form string) int64 {
		n, err := strconv.ParseInt(co.Create(t, path, form), 10, 64)
		require.NoError(t, err)
		return n
	}
	f := &statsFixture{co: co}
	f.shop = id("/admin/api/services.json", "name=Shop&system_name=shop&backend_version=1")
	f.other = id("/admin/api/services.json", "name=Other&system_name=other&backend_version=1")
	f.hits = f.metricID(t, "/admin/api/services/"+s64(f.shop)+"/metrics.json", "hits")
	f.otherHits = f.metricID(t, "/admin/api/services/"+s64(f.other)+"/metrics.json", "hits")
	f.backend = id("/admin/api/backend_apis.json", "name=Store&private_endpoint=http://127.0.0.1:9")
	f.lookups = id("/admin/api/backend_apis/"+s64(f.backend)+"/metrics.json", "friendly_name=Lookups&system_name=lookups&unit=hit")
	for _, svc := range []int64{f.shop, f.other} {
		id("/admin/api/services/"+s64(svc)+"/backend_usages.json", "backend_api_id="+s64(f.backend)+"&path=/store")
	}
	acme := id("/admin/api/signup.json", "org_name=Acme&username=acme&email=acme@example.com&password=secret123")
	beta := id("/admin/api/signup.json", "org_name=Beta&username=beta&email=beta@example.com&password=secret123")
	basic := id("/admin/api/services/"+s64(f.shop)+"/application_plans.json", "name=Basic")
	gold := id("/admin/api/services/"+s64(f.shop)+"/application_plans.json", "name=Gold")
	otherPlan := id("/admin/api/services/"+s64(f.other)+"/application_plans.json", "name=Other")
	app := func(account, plan int64, name string) int64 {
		return id("/admin/api/accounts/"+s64(account)+"/applications.json", "name="+name+"&plan_id="+s64(plan)+"&user_key=key-"+name)
	}
	f.a1, f.a2, f.a3 = app(acme, basic, "a1"), app(beta, gold, "a2"), app(acme, basic, "a3")
	f.o1 = app(acme, otherPlan, "o1")
	return f
}

func (f *statsFixture) metricID(t *testing.T, path, name string) int64 {
	t.Helper()
	var metrics struct {
		Metrics []struct {
			Metric struct {
				ID         int64  `json:"id"`
				SystemName string `json:"system_name"`
			} `json:"metric"`
		} `json:"metrics"`
	}
	decodeCall(t, f.co, http.MethodGet, path, nil, http.StatusOK, &metrics)
	for _, m := range metrics.Metrics {
		if m.Metric.SystemName == name {
			return m.Metric.ID
		}
	}
	t.Fatalf("no metric %s at %s", name, path)
	return 0
}

// report sends one Service Management API report: usage of metric by the
// user_key applications named.
func (f *statsFixture) report(t *testing.T, service int64, metric string, usageByKey map[string]int) {
	t.Helper()
	q := url.Values{"service_token": {f.co.Token}, "service_id": {s64(service)}}
	i := 0
	for key, n := range usageByKey {
		p := "transactions[" + strconv.Itoa(i) + "]"
		q.Set(p+"[user_key]", "key-"+key)
		q.Set(p+"[usage]["+metric+"]", strconv.Itoa(n))
		i++
	}
	status, body := rawCall(t, f.co, http.MethodPost, "/transactions.xml", "application/x-www-form-urlencoded", q.Encode())
	require.Equal(t, http.StatusAccepted, status, "%s", body)
}

// seed writes usage at past instants into the coordinator's usage store,
// through the store's own Apply (what agents' batches go through), with
// the coordinator stopped: the Service Management API takes timestamps
// only within the last 24 hours, and the DST changes of 2026 are past.
func (f *statsFixture) seed(t *testing.T, service int64, at map[string][]usage.Increment) {
	t.Helper()
	f.co.Stop()
	st, err := usage.Open(f.co.DataDir, time.Now(), zerolog.Nop())
	require.NoError(t, err)
	var incs []usage.Increment
	for ts, list := range at {
		when, err := time.Parse("2006-01-02 15:04", ts)
		require.NoError(t, err)
		for _, in := range list {
			in.Minute = when.Unix() / 60
			incs = append(incs, in)
		}
	}
	_, err = st.Apply(context.Background(), "", service, incs, time.Now())
	require.NoError(t, err)
	require.NoError(t, st.Close())
	f.co.Start()
}

type statsAnswer struct {
	Metric struct {
		ID         int64  `json:"id"`
		SystemName string `json:"system_name"`
	} `json:"metric"`
	Period struct {
		Name        *string `json:"name"`
		Since       string  `json:"since"`
		Until       string  `json:"until"`
		Timezone    string  `json:"timezone"`
		Granularity any     `json:"granularity"`
	} `json:"period"`
	Total  int64   `json:"total"`
	Values []int64 `json:"values"`
}

func (f *statsFixture) stats(t *testing.T, path string, q url.Values) statsAnswer {
	t.Helper()
	var out statsAnswer
	decodeCall(t, f.co, http.MethodGet, path, q, http.StatusOK, &out)
	return out
}

func form(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

// Usage around both DST changes of 2026 lands in Madrid's local days (23
// and 25 hours long), and in UTC's days when asked in UTC.
func TestAnalyticsBucketsInMadridAcrossDST(t *testing.T) {
	f := newStatsFixture(t)
	inc := func(n int64) []usage.Increment { return []usage.Increment{{App: f.a1, Metric: f.hits, Delta: n}} }
	f.seed(t, f.shop, map[string][]usage.Increment{
		"2026-03-28 22:30": inc(1),  // 23:30 CET, Mar 28
		"2026-03-28 23:30": inc(2),  // 00:30 CET, Mar 29
		"2026-03-29 21:30": inc(4),  // 23:30 CEST, Mar 29
		"2026-03-29 22:30": inc(8),  // 00:30 CEST, Mar 30
		"2026-10-24 22:30": inc(16), // 00:30 CEST, Oct 25
		"2026-10-25 22:30": inc(32), // 23:30 CET, Oct 25: its 25th hour
		"2026-10-25 23:30": inc(64), // 00:30 CET, Oct 26
	})
	app := "/stats/applications/" + s64(f.a1) + "/usage.json"
	svc := "/stats/services/" + s64(f.shop) + "/usage.json"
	for _, path := range []string{app, svc} {
		days := f.stats(t, path, form("metric_name", "hits", "granularity", "day", "since", "2026-03-28", "until", "2026-03-30 23:59:59", "timezone", "Madrid"))
		assert.Equal(t, []int64{1, 6, 8}, days.Values, path)
		assert.Equal(t, "Europe/Madrid", days.Period.Timezone)
		assert.Equal(t, "2026-03-28T00:00:00+01:00", days.Period.Since)
		assert.Equal(t, "2026-03-30T23:59:59+02:00", days.Period.Until)
		utcDays := f.stats(t, path, form("metric_name", "hits", "granularity", "day", "since", "2026-03-28", "until", "2026-03-30 23:59:59"))
		assert.Equal(t, []int64{3, 12, 0}, utcDays.Values, path)
		assert.Equal(t, "Etc/UTC", utcDays.Period.Timezone)

		spring := f.stats(t, path, form("metric_name", "hits", "period", "day", "since", "2026-03-29", "timezone", "Europe/Madrid"))
		require.Len(t, spring.Values, 23, "the spring-forward day has 23 hours")
		assert.EqualValues(t, 2, spring.Values[0])
		assert.EqualValues(t, 4, spring.Values[22])
		assert.EqualValues(t, 6, spring.Total)
		assert.Equal(t, "hour", spring.Period.Granularity)

		// +05:30: the local day [Mar 28 18:30, Mar 29 18:30) UTC is read
		// from the UTC hours [18:00, 18:00), the finest counters kept
		kolkata := f.stats(t, path, form("metric_name", "hits", "period", "day", "since", "2026-03-29", "timezone", "Kolkata"))
		assert.Equal(t, "2026-03-29T00:00:00+05:30", kolkata.Period.Since)
		assert.Equal(t, "Asia/Kolkata", kolkata.Period.Timezone)
		assert.EqualValues(t, 3, kolkata.Total)

		fall := f.stats(t, path, form("metric_name", "hits", "period", "day", "since", "2026-10-25", "timezone", "Madrid"))
		require.Len(t, fall.Values, 25, "the fall-back day has 25 hours")
		assert.EqualValues(t, 16, fall.Values[0])
		assert.EqualValues(t, 32, fall.Values[24])
		assert.EqualValues(t, 48, fall.Total)

		month := f.stats(t, path, form("metric_name", "hits", "period", "month", "since", "2026-03-01", "timezone", "Madrid"))
		require.Len(t, month.Values, 31)
		assert.Equal(t, []int64{1, 6, 8}, month.Values[27:30])
		assert.Equal(t, "2026-03-31T23:59:59+02:00", month.Period.Until)

		year := f.stats(t, path, form("metric_name", "hits", "period", "year", "since", "2026-01-01", "timezone", "Madrid"))
		require.Len(t, year.Values, 12)
		assert.EqualValues(t, 15, year.Values[2])
		assert.EqualValues(t, 112, year.Values[9], "October in Madrid: Sep 30 22:00 UTC to Oct 31 23:00 UTC")

		week := f.stats(t, path, form("metric_name", "hits", "period", "week", "since", "2026-03-23", "timezone", "Madrid"))
		assert.EqualValues(t, 21600, week.Period.Granularity, "porta buckets a week by six hours")
		assert.Len(t, week.Values, 28)
		assert.EqualValues(t, 7, week.Total, "Monday 23 to Sunday 29, local")
	}
}

// top_applications ranks the service's applications by the metric in the
// period containing since (a week from Monday, in the zone), most first,
// ties by id; another service's application never shows.
func TestAnalyticsTopApplications(t *testing.T) {
	f := newStatsFixture(t)
	f.seed(t, f.shop, map[string][]usage.Increment{
		"2026-03-23 00:30": {{App: f.a2, Metric: f.hits, Delta: 10}}, // Monday 01:30 CET
		"2026-03-22 23:30": {{App: f.a2, Metric: f.hits, Delta: 90}}, // Monday 00:30 CET, Sunday in UTC
		"2026-03-29 12:00": {{App: f.a1, Metric: f.hits, Delta: 7}, {App: f.a3, Metric: f.hits, Delta: 7}},
		"2026-03-29 22:30": {{App: f.a1, Metric: f.hits, Delta: 50}}, // Monday 30 in Madrid
	})
	f.seed(t, f.other, map[string][]usage.Increment{"2026-03-25 12:00": {{App: f.o1, Metric: f.otherHits, Delta: 1000}}})
	var top struct {
		Applications []struct {
			ID      int64  `json:"id"`
			Name    string `json:"name"`
			Value   int64  `json:"value"`
			Account struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"account"`
			Plan struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"plan"`
			Service struct {
				ID int64 `json:"id"`
			} `json:"service"`
		} `json:"applications"`
		Metric struct {
			SystemName string `json:"system_name"`
		} `json:"metric"`
		Period struct {
			Name  string `json:"name"`
			Since string `json:"since"`
			Until string `json:"until"`
		} `json:"period"`
	}
	path := "/stats/services/" + s64(f.shop) + "/top_applications.json"
	decodeCall(t, f.co, http.MethodGet, path, form("metric_name", "hits", "period", "week", "since", "2026-03-29", "timezone", "Madrid"), http.StatusOK, &top)
	require.Len(t, top.Applications, 3)
	var order []int64
	for _, a := range top.Applications {
		order = append(order, a.Value)
	}
	assert.Equal(t, []int64{100, 7, 7}, order)
	assert.Equal(t, []int64{f.a2, f.a1, f.a3}, []int64{top.Applications[0].ID, top.Applications[1].ID, top.Applications[2].ID})
	assert.Equal(t, "Gold", top.Applications[0].Plan.Name)
	assert.Equal(t, "Beta", top.Applications[0].Account.Name)
	assert.Equal(t, f.shop, top.Applications[0].Service.ID)
	assert.Equal(t, "hits", top.Metric.SystemName)
	assert.Equal(t, "week", top.Period.Name)
	assert.Equal(t, "2026-03-23T00:00:00+01:00", top.Period.Since)
	assert.Equal(t, "2026-03-29T23:59:59+02:00", top.Period.Until)

	decodeCall(t, f.co, http.MethodGet, path, form("period", "week", "since", "2026-03-29"), http.StatusOK, &top)
	require.Len(t, top.Applications, 3)
	assert.Equal(t, []int64{f.a1, f.a2, f.a3}, []int64{top.Applications[0].ID, top.Applications[1].ID, top.Applications[2].ID},
		"in UTC the week is Monday 23 00:00 to Sunday 29 23:59 UTC: a2's 90 before it, a1's 50 inside")
	assert.Equal(t, []int64{57, 10, 7}, []int64{top.Applications[0].Value, top.Applications[1].Value, top.Applications[2].Value})

	// live traffic through the Service Management API, today in UTC
	f.report(t, f.shop, "hits", map[string]int{"a1": 1, "a2": 3, "a3": 2})
	today := time.Now().UTC().Format("2006-01-02")
	decodeCall(t, f.co, http.MethodGet, path, form("period", "day", "since", today), http.StatusOK, &top)
	require.Len(t, top.Applications, 3)
	assert.Equal(t, []int64{f.a2, f.a3, f.a1}, []int64{top.Applications[0].ID, top.Applications[1].ID, top.Applications[2].ID})

	code, body := formCall(t, f.co, http.MethodGet, path, form("since", today))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, `{"error":"Period must be one of [\"year\", \"month\", \"week\", \"day\"] not nil"}`, string(body))
	code, body = formCall(t, f.co, http.MethodGet, path, form("period", "day", "since", today, "metric_name", "nope"))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, `{"error":"metric nope not found"}`, string(body))
}

// The XML answers are porta's builder templates.
func TestAnalyticsXMLShapes(t *testing.T) {
	f := newStatsFixture(t)
	f.seed(t, f.shop, map[string][]usage.Increment{"2026-03-29 12:00": {{App: f.a1, Metric: f.hits, Delta: 5}}})
	q := form("metric_name", "hits", "period", "day", "since", "2026-03-29", "timezone", "Madrid")
	code, body := formCall(t, f.co, http.MethodGet, "/stats/applications/"+s64(f.a1)+"/usage.xml", q)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.True(t, strings.HasPrefix(string(body), `<?xml version="1.0" encoding="UTF-8"?><usage><metric>`), "%s", body)
	assert.Equal(t, []string{"usage", "usage/metric", "usage/metric/id", "usage/metric/name", "usage/metric/system_name",
		"usage/metric/unit", "usage/period", "usage/period/since", "usage/period/until", "usage/period/name",
		"usage/period/granularity", "usage/data", "usage/data/total", "usage/data/values", "usage/application",
		"usage/application/id", "usage/application/name", "usage/application/plan", "usage/application/plan/id",
		"usage/application/plan/name", "usage/application/account", "usage/application/account/name",
		"usage/application/account/id"}, elementPaths(t, body))
	var doc struct {
		Period struct {
			Since       string `xml:"since"`
			Until       string `xml:"until"`
			Granularity string `xml:"granularity"`
		} `xml:"period"`
		Data struct {
			Total  int64 `xml:"total"`
			Values struct {
				Length int    `xml:"length,attr"`
				Text   string `xml:",chardata"`
			} `xml:"values"`
		} `xml:"data"`
	}
	require.NoError(t, xml.Unmarshal(body, &doc))
	assert.Equal(t, "2026-03-29 00:00:00 +0100", doc.Period.Since)
	assert.Equal(t, "2026-03-29 23:59:59 +0200", doc.Period.Until)
	assert.Equal(t, "hour", doc.Period.Granularity)
	assert.EqualValues(t, 5, doc.Data.Total)
	assert.Equal(t, 23, doc.Data.Values.Length)
	assert.Equal(t, "0,0,0,0,0,0,0,0,0,0,0,0,0,5,0,0,0,0,0,0,0,0,0", doc.Data.Values.Text, "12:00 UTC is 14:00 CEST, the 14th hour of a 23-hour day")

	code, body = formCall(t, f.co, http.MethodGet, "/stats/services/"+s64(f.shop)+"/usage.xml", q)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.NotContains(t, elementPaths(t, body), "usage/application", "a service's usage names no application")

	code, body = formCall(t, f.co, http.MethodGet, "/stats/services/"+s64(f.shop)+"/top_applications.xml", form("period", "month", "since", "2026-03-10"))
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.Equal(t, []string{"top", "top/metric", "top/metric/id", "top/metric/name", "top/metric/system_name", "top/metric/unit",
		"top/period", "top/period/name", "top/period/since", "top/period/until", "top/applications",
		"top/applications/application", "top/applications/application/value", "top/applications/application/id",
		"top/applications/application/name", "top/applications/application/plan", "top/applications/application/plan/id",
		"top/applications/application/plan/name", "top/applications/application/account",
		"top/applications/application/account/name", "top/applications/application/account/id"}, elementPaths(t, body))
	assert.Contains(t, string(body), "<since>2026-03-01 00:00:00 UTC</since>")
	assert.Contains(t, string(body), "<value>5</value>")

	// errors in the route's format; a format porta does not render is 406
	code, body = formCall(t, f.co, http.MethodGet, "/stats/services/"+s64(f.shop)+"/usage.xml", form("period", "day", "since", "2026-02-30"))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?>`+"<error>Date parameters should have valid date/time format.</error>", string(body))
	code, body = formCall(t, f.co, http.MethodGet, "/stats/services/"+s64(f.shop)+"/usage.csv", q)
	assert.Equal(t, http.StatusNotAcceptable, code, "%s", body)
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/services/"+s64(f.shop)+"/nothing.json", q)
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/applications/"+s64(f.a1)+"/top_applications.json", q)
	assert.Equal(t, http.StatusNotFound, code, "top_applications is a service's")
}

// A backend API's usage adds up the products using it; the metric is named
// as in the backend or by porta's extended name.
func TestAnalyticsBackendUsage(t *testing.T) {
	f := newStatsFixture(t)
	f.seed(t, f.shop, map[string][]usage.Increment{"2026-03-29 12:00": {{App: f.a1, Metric: f.lookups, Delta: 5}}})
	f.seed(t, f.other, map[string][]usage.Increment{"2026-03-29 23:30": {{App: f.o1, Metric: f.lookups, Delta: 7}}})
	path := "/stats/backend_apis/" + s64(f.backend) + "/usage.json"
	day := f.stats(t, path, form("metric_name", "lookups", "period", "day", "since", "2026-03-29", "timezone", "Madrid"))
	assert.EqualValues(t, 5, day.Total, "23:30 UTC is Monday in Madrid")
	assert.Equal(t, f.lookups, day.Metric.ID)
	utc := f.stats(t, path, form("metric_name", "lookups."+s64(f.backend), "period", "day", "since", "2026-03-29"))
	assert.EqualValues(t, 12, utc.Total)
	assert.EqualValues(t, 5, utc.Values[12])
	assert.EqualValues(t, 7, utc.Values[23])

	// live traffic through the Service Management API, by the backend's metric
	f.report(t, f.shop, "lookups", map[string]int{"a2": 3})
	f.report(t, f.other, "lookups", map[string]int{"o1": 4})
	all := f.stats(t, path, form("metric_name", "lookups", "period", "eternity"))
	assert.Equal(t, []int64{19}, all.Values)
	svc := f.stats(t, "/stats/services/"+s64(f.shop)+"/usage.json", form("metric_name", "lookups", "period", "eternity"))
	assert.Equal(t, []int64{8}, svc.Values, "a product's usage counts its own share only")
	svc = f.stats(t, "/stats/services/"+s64(f.shop)+"/usage.json", form("metric_name", "lookups."+s64(f.backend), "period", "eternity"))
	assert.Equal(t, []int64{8}, svc.Values, "porta's extended name of a backend's metric")
	// the backend has a hits of its own: a report of "hits" is the product's
	f.report(t, f.shop, "hits", map[string]int{"a1": 1, "a2": 1, "a3": 1})
	f.report(t, f.other, "hits", map[string]int{"o1": 1})
	backendHits := f.stats(t, path, form("metric_name", "hits", "period", "eternity"))
	assert.Equal(t, []int64{0}, backendHits.Values)
	shopHits := f.stats(t, "/stats/services/"+s64(f.shop)+"/usage.json", form("metric_name", "hits", "period", "eternity"))
	assert.Equal(t, []int64{3}, shopHits.Values)

	code, body := formCall(t, f.co, http.MethodGet, path, form("metric_name", "hits.999", "period", "eternity"))
	assert.Equal(t, http.StatusBadRequest, code, "%s", body)
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/backend_apis/999999/usage.json", form("period", "eternity"))
	assert.Equal(t, http.StatusNotFound, code)
}

// porta's errors: an unknown metric (or one of another service) is 400
// "metric X not found", bad dates and reversed ranges 400, unknown records
// 404; every time zone of the spec is taken.
func TestAnalyticsErrorsAndSpecTimezones(t *testing.T) {
	f := newStatsFixture(t)
	app := "/stats/applications/" + s64(f.a1) + "/usage.json"
	for _, c := range []struct {
		q    url.Values
		want string
	}{
		{form("metric_name", "nope", "period", "day", "since", "2026-03-01"), `{"error":"metric nope not found"}`},
		{form("metric_name", "lookups.999999", "period", "day", "since", "2026-03-01"), `{"error":"metric lookups.999999 not found"}`},
		{form("period", "day", "since", "2026-03-01 25:00:00"), `{"error":"Date parameters should have valid date/time format."}`},
		{form("granularity", "day", "since", "2026-03-05", "until", "2026-03-01"), `{"error":"until must be after since"}`},
		{form("period", "day", "since", "2026-03-01", "timezone", "Atlantis"), ""},
	} {
		code, body := formCall(t, f.co, http.MethodGet, app, c.q)
		assert.Equal(t, http.StatusBadRequest, code, "%v: %s", c.q, body)
		if c.want != "" {
			assert.JSONEq(t, c.want, string(body), "%v", c.q)
		}
	}
	// a metric of another service is unknown to this service's application
	f.co.Create(t, "/admin/api/services/"+s64(f.other)+"/metrics.json", "friendly_name=Other+only&system_name=other_only&unit=hit")
	code, body := formCall(t, f.co, http.MethodGet, app, form("period", "day", "since", "2026-03-01", "metric_name", "other_only"))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, `{"error":"metric other_only not found"}`, string(body))
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/applications/"+s64(f.o1)+"/usage.json", form("period", "day", "since", "2026-03-01", "metric_name", "other_only"))
	assert.Equal(t, http.StatusOK, code, "its own service's metric")
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/services/"+s64(f.shop)+"/top_applications.json", form("period", "day", "metric_name", "other_only"))
	assert.Equal(t, http.StatusBadRequest, code)
	other := form("period", "day", "since", "2026-03-01")
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/applications/999999/usage.json", other)
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = formCall(t, f.co, http.MethodGet, "/stats/services/999999/top_applications.json", form("period", "day"))
	assert.Equal(t, http.StatusNotFound, code)

	var spec struct {
		Components struct {
			Schemas struct {
				Timezone struct {
					Enum []string `json:"enum"`
				} `json:"Timezone"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(testenv.ThreescaleFile(t, "analytics_api.json"), &spec))
	require.NotEmpty(t, spec.Components.Schemas.Timezone.Enum)
	for _, tz := range spec.Components.Schemas.Timezone.Enum {
		code, body := formCall(t, f.co, http.MethodGet, app, form("period", "day", "since", "2026-03-01", "timezone", tz))
		assert.Equal(t, http.StatusOK, code, "%s: %s", tz, body)
	}
}
