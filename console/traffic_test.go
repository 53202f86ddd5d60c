package console

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/usage"
)

// withTraffic plants the traffic every test below reads: Reader 312 hits in
// the current minute, Weather 40 hits half an hour ago and 100 five hours
// ago, Ledger (of Billing) 7 hits two minutes ago.
func withTraffic(t *testing.T) *fixture {
	f := newFixture(t)
	f.addHits(t, f.news.ID, f.reader.ID, f.hits.ID, 0, 300)
	f.addHits(t, f.news.ID, f.reader.ID, f.hits.ID, 0, 12)
	f.addHits(t, f.news.ID, f.weather.ID, f.hits.ID, 30*time.Minute, 40)
	f.addHits(t, f.news.ID, f.weather.ID, f.hits.ID, 5*time.Hour, 100)
	f.addHits(t, f.billing.ID, f.ledger.ID, f.billingHits.ID, 2*time.Minute, 7)
	return f
}

func TestTrafficOverviewShowsEveryServiceAndTheTopApplications(t *testing.T) {
	f := withTraffic(t)
	code, body := f.get(t, "/ui/traffic")
	require.Equal(t, http.StatusOK, code, body)
	f.requireNoSecret(t, "/ui/traffic", body)

	assert.Contains(t, tableRowOf(t, body, "News API"), `<td class="num">352</td><td class="num">452</td>`, "News API: last hour, last day")
	assert.Contains(t, tableRowOf(t, body, "Billing"), `<td class="num">7</td><td class="num">7</td>`)
	assert.Contains(t, tableRowOf(t, body, "Reader"), `<td>ACME Corp</td><td>News API</td><td>Basic</td><td class="num">312</td><td class="num">312</td>`)
	assert.Contains(t, tableRowOf(t, body, "Weather"), `<td class="num">40</td><td class="num">140</td>`)
	reader, weather, ledger := strings.Index(body, ">Reader<"), strings.Index(body, ">Weather<"), strings.Index(body, ">Ledger<")
	assert.True(t, reader < weather && weather < ledger, "top applications by hits over the day")
	assert.Contains(t, body, `href="/ui/traffic?service=`+strconv.FormatInt(f.news.ID, 10)+`"`, "each service links to its traffic")
}

func TestTrafficOfAServiceDrawsItsHourAndDay(t *testing.T) {
	f := withTraffic(t)
	path := "/ui/traffic?service=" + strconv.FormatInt(f.news.ID, 10)
	code, body := f.get(t, path)
	require.Equal(t, http.StatusOK, code, body)
	f.requireNoSecret(t, path, body)

	hour, day := chartsIn(t, body)
	require.Len(t, hour, hourBars, "the last hour in 5-minute bars")
	require.Len(t, day, dayBars, "the last day in hourly bars")
	assert.Equal(t, []int64{40, 312}, nonZero(hour), "Weather half an hour ago, then Reader now")
	assert.Equal(t, int64(312), hour[hourBars-1].value, "the current minute is in the last bar")
	wantDay := []int64{100, 352}
	if f.now.Truncate(time.Hour) != f.now.Add(-30*time.Minute).Truncate(time.Hour) {
		wantDay = []int64{100, 40, 312}
	}
	assert.Equal(t, wantDay, nonZero(day))
	assert.Equal(t, int64(352-40*int64(len(wantDay)-2)), day[dayBars-1].value, "the current hour is the last bar")
	requireProportional(t, hour)
	requireProportional(t, day)

	for _, want := range []string{
		`role="img" aria-label="Hits of News API in the last hour, per 5 minutes (UTC): 352 hits in all"`,
		"<title>Hits of News API in the last 24 hours, per hour (UTC): 452 hits in all</title>",
		`<caption>Hits of News API in the last hour, per 5 minutes (UTC)</caption>`,
		// limits against current usage, the closest first
		`<td class="usage">312 / 1000 per hour</td><td class="num">31%</td>`,
		`<meter min="0" max="1000" high="800" value="312"`,
		`<td class="usage">312 / 5000 per day</td><td class="num">6%</td>`,
	} {
		assert.Contains(t, body, want)
	}
	assert.Less(t, strings.Index(body, "per hour</td>"), strings.Index(body, "per day</td>"), "the closest to its limit first")
	assert.NotContains(t, body, "per minute</td>", "a limit without usage in its period is left out of the service's table")
	assert.Less(t, strings.Index(body, `app-traffic-link" href="/ui/traffic?service=`+strconv.FormatInt(f.news.ID, 10)+`&amp;app=`+strconv.FormatInt(f.reader.ID, 10)),
		strings.Index(body, ">Weather<"), "top applications: Reader first")
}

func TestTrafficOfAnApplicationShowsEveryLimitOfItsPlan(t *testing.T) {
	f := withTraffic(t)
	path := "/ui/traffic?service=" + strconv.FormatInt(f.news.ID, 10) + "&app=" + strconv.FormatInt(f.reader.ID, 10)
	code, body := f.get(t, path)
	require.Equal(t, http.StatusOK, code, body)
	f.requireNoSecret(t, path, body)
	assert.Contains(t, body, "<h1>Traffic of Reader</h1>")
	assert.Contains(t, body, "Application of ACME Corp, plan Basic: 312 hits in the last hour, 312 in the last day.")
	hour, day := chartsIn(t, body)
	assert.Equal(t, []int64{312}, nonZero(hour))
	assert.Equal(t, []int64{312}, nonZero(day))
	assert.Contains(t, body, `<td class="usage">0 / 0 per minute</td><td class="num"><span class="status status-critical">disabled</span>`,
		"a limit of 0 reads as a disabled metric")
	assert.Contains(t, body, "312 / 1000 per hour")

	// An application without traffic yet has empty charts, not a 404.
	idle := "/ui/traffic?service=" + strconv.FormatInt(f.billing.ID, 10) + "&app=" + strconv.FormatInt(f.ledger.ID, 10)
	code, body = f.get(t, idle)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "7 hits in the last hour")
}

func TestTrafficOfUnknownServicesAndApplicationsIs404(t *testing.T) {
	f := withTraffic(t)
	news := strconv.FormatInt(f.news.ID, 10)
	for _, path := range []string{
		"/ui/traffic?service=999999",
		"/ui/traffic?service=news",
		"/ui/traffic?service=" + news + "&app=999999",
		"/ui/traffic?service=" + news + "&app=" + strconv.FormatInt(f.ledger.ID, 10), // Billing's
	} {
		code, body := f.get(t, path)
		assert.Equal(t, http.StatusNotFound, code, path)
		assert.Contains(t, body, "not found", path)
	}
}

func TestTrafficAddsUpSaturating(t *testing.T) {
	f := newFixture(t)
	f.addHits(t, f.news.ID, f.reader.ID, f.hits.ID, 0, math.MaxInt64)
	f.addHits(t, f.news.ID, f.weather.ID, f.hits.ID, 0, math.MaxInt64)
	code, body := f.get(t, "/ui/traffic?service="+strconv.FormatInt(f.news.ID, 10))
	require.Equal(t, http.StatusOK, code, body)
	most := strconv.FormatInt(math.MaxInt64, 10)
	assert.Contains(t, body, "per 5 minutes (UTC): "+most+" hits in all", "sums stop at the largest counter")
	assert.Contains(t, body, most+" / 1000 per hour")
	assert.NotContains(t, body, ">-", "no sum wraps negative")
}

func TestTrafficWithoutUsageCountersSaysSo(t *testing.T) {
	f := newFixture(t)
	cfg := f.console.cfg
	cfg.Usage = nil
	c, err := New(cfg)
	require.NoError(t, err)
	f.console = c
	code, body := f.get(t, "/ui/traffic")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "keeps no usage counters")
}

func BenchmarkTrafficPage(b *testing.B) {
	f := newFixture(b)
	// 200 more applications of News API, each with hits in the hour and
	// the day, written in one batch.
	var apps []*composition.Application
	_, err := f.store.Update(context.Background(), func(tx *composition.Tx) error {
		for i := range 200 {
			a := &composition.Application{AccountID: f.acme.ID, PlanID: f.basic.ID, Name: "bench " + strconv.Itoa(i)}
			if err := tx.Create(a); err != nil {
				return err
			}
			apps = append(apps, a)
		}
		return nil
	})
	require.NoError(b, err)
	var incs []usage.Increment
	for i, a := range apps {
		for _, ago := range []time.Duration{0, 20 * time.Minute, 3 * time.Hour} {
			incs = append(incs, usage.Increment{App: a.ID, Metric: f.hits.ID, Minute: f.now.Add(-ago).Unix() / 60, Delta: int64(i + 1)})
		}
	}
	_, err = f.usage.Apply(context.Background(), "", f.news.ID, incs, f.now)
	require.NoError(b, err)
	path := "/ui/traffic?service=" + strconv.FormatInt(f.news.ID, 10)
	b.ReportAllocs()
	for b.Loop() {
		if code, _ := f.get(b, path); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
}

// bar is one drawn bar: its value (from its <title>) and height.
type bar struct {
	value  int64
	height int
}

var barRE = regexp.MustCompile(`<rect class="bar" x="\d+" y="\d+" width="\d+" height="(\d+)"><title>[^<]*: (-?\d+)</title></rect>`)

// chartsIn returns the bars of the page's two charts, hour then day.
func chartsIn(t *testing.T, body string) (hour, day []bar) {
	t.Helper()
	svgs := strings.Split(body, `<svg class="chart"`)
	require.Len(t, svgs, 3, "two charts")
	parse := func(s string) []bar {
		s = s[:strings.Index(s, "</svg>")]
		var out []bar
		for _, m := range barRE.FindAllStringSubmatch(s, -1) {
			h, _ := strconv.Atoi(m[1])
			v, _ := strconv.ParseInt(m[2], 10, 64)
			out = append(out, bar{value: v, height: h})
		}
		return out
	}
	return parse(svgs[1]), parse(svgs[2])
}

func nonZero(bars []bar) []int64 {
	var out []int64
	for _, b := range bars {
		if b.value != 0 {
			out = append(out, b.value)
		}
	}
	return out
}

// requireProportional checks each bar's height against the tallest: the
// plot's full height for the largest value, in proportion for the others.
func requireProportional(t *testing.T, bars []bar) {
	t.Helper()
	var top int64
	for _, b := range bars {
		top = max(top, b.value)
	}
	full := chartHeight - chartTop - chartBottom
	for i, b := range bars {
		want := int(math.Round(float64(b.value) / float64(top) * float64(full)))
		if b.value > 0 {
			want = max(want, 1)
		}
		assert.Equalf(t, want, b.height, "bar %d of value %d (tallest %d)", i, b.value, top)
	}
}
