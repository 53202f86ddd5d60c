package threescale

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestServiceManagementParseTimestamp(t *testing.T) {
	// the spec's example, "2022-02-01 22:15:31 -08:00", and its other form, unix seconds
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2022-02-01 22:15:31 -08:00", time.Date(2022, 2, 2, 6, 15, 31, 0, time.UTC)},
		{"2022-02-01 22:15:31 +0100", time.Date(2022, 2, 1, 21, 15, 31, 0, time.UTC)},
		{"2022-02-01 22:15:31", time.Date(2022, 2, 1, 22, 15, 31, 0, time.UTC)},
		{"1643750131", time.Date(2022, 2, 1, 21, 15, 31, 0, time.UTC)},
	} {
		got, err := parseTimestamp(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "yesterday", "2022-02-01", "2022-13-01 00:00:00"} {
		_, err := parseTimestamp(bad)
		assert.Error(t, err, bad)
	}
}

// apisonator's LimitHeaders over UsageReport#remaining_same_calls: the
// calls of the same usage left, (max - current) / usage, where current has
// the call's usage only when it was added (an authorized authrep); the
// fewest win. "When a usage is specified, only the metrics specified in
// that usage and their parent metrics are taken into account"; without
// usage every limit counts, but a usage of 0 leaves any number of calls
// (-1) unless the limit is reached: only a reached limit constrains.
func TestServiceManagementLimitHeaders(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 30, 15, 0, time.UTC)
	minute, minuteEnd := composition.PeriodBounds("minute", now)
	day, dayEnd := composition.PeriodBounds("day", now)
	const bytes, hits = 1, 2
	reports := []composition.UsageReport{
		{MetricID: bytes, Metric: "bytes", Period: "eternity", Max: 100, Current: 10},
		{MetricID: hits, Metric: "hits", Period: "minute", Start: minute, End: minuteEnd, Max: 10, Current: 4, Usage: 2},
		{MetricID: hits, Metric: "hits", Period: "day", Start: day, End: dayEnd, Max: 1000, Current: 4, Usage: 2},
	}
	usage := []composition.Hit{{MetricID: hits, Delta: 2}}
	remaining, reset, max, ok := limitHeaders(reports, usage, true, now)
	assert.True(t, ok)
	assert.EqualValues(t, 2, remaining, "authrep: (10 - 6) / 2 more calls of the same usage")
	assert.EqualValues(t, 45, reset)
	assert.EqualValues(t, 10, max)
	remaining, _, _, _ = limitHeaders(reports, usage, false, now)
	assert.EqualValues(t, 3, remaining, "authorize, or a refused call: (10 - 4) / 2")

	// without usage every limit counts, and only a reached one constrains
	reports[1].Usage, reports[2].Usage = 0, 0
	_, _, _, ok = limitHeaders(reports, nil, false, now)
	assert.False(t, ok, "no limit reached: nothing constrains a call without usage")
	reports[0].Current = 100
	remaining, reset, max, ok = limitHeaders(reports, nil, false, now)
	assert.True(t, ok)
	assert.EqualValues(t, 0, remaining)
	assert.EqualValues(t, -1, reset, "eternity never resets")
	assert.EqualValues(t, 100, max)
	// a usage naming hits alone leaves bytes out, even at 0
	_, _, _, ok = limitHeaders(reports, []composition.Hit{{MetricID: hits, Delta: 0}}, false, now)
	assert.False(t, ok)

	remaining, reset, _, ok = limitHeaders(nil, usage, true, now)
	assert.False(t, ok)
	assert.Equal(t, [2]int64{-1, -1}, [2]int64{remaining, reset})
}

// smFuzzSnapshot is a service with hits, a method and a metric.
func smFuzzSnapshot(t testing.TB) (*composition.Snapshot, int64) {
	tx := composition.NewTx(composition.New(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	svc := &composition.Service{Name: "S", BackendVersion: "1"}
	require.NoError(t, tx.Create(svc))
	hits, _ := tx.View().Hits(composition.OwnerService, svc.ID)
	require.NoError(t, tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
		ParentID: hits.ID, FriendlyName: "Get", SystemName: "get", Unit: "hit"}))
	require.NoError(t, tx.Create(&composition.Metric{OwnerType: composition.OwnerService, OwnerID: svc.ID,
		FriendlyName: "Bytes", SystemName: "bytes", Unit: "byte"}))
	return tx.Result(), svc.ID
}

// FuzzServiceManagementParams feeds arbitrary query strings and form bodies
// to the Service Management API's parameter parsing: usage[...] and
// transactions[i][...] must never panic, and what they accept is bounded and
// well formed.
func FuzzServiceManagementParams(f *testing.F) {
	for _, seed := range []string{
		"usage[hits]=1",
		"usage[get]=2&usage[hits]=3&usage[bytes]=0",
		"usage[nope]=1",
		"usage[hits]=-1",
		"usage[hits]=99999999999999999999",
		"usage[[hits]]=1&usage[=1&usage]=1",
		"transactions[0][user_key]=k&transactions[0][usage][hits]=1&transactions[1][timestamp]=2022-02-01+22:15:31+-08:00",
		"transactions[x][user_key]=k",
		"transactions[-1][usage][hits]=1",
		"transactions[99999999999999999999]=1",
		"usage=hits&user_key=+k%0A&app_key=+&service_id=%00",
		"usage[]=1&usage[hits]=1",
	} {
		f.Add(seed)
	}
	snap, sid := smFuzzSnapshot(f)
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		normalizeKeyParams(q)
		for _, name := range strippedKeyParams {
			for _, v := range q[name] {
				if strings.Trim(v, rubyWhitespace) != v || v == "" && name != "app_key" {
					t.Fatalf("%s=%q left by normalizeKeyParams from %q", name, v, raw)
				}
			}
		}
		_ = usageShapeOf(q)
		hits, e := usageOf(snap, sid, q, "usage", false)
		if e != nil {
			if e.code == "" || e.status < 400 || strings.Contains(e.message, "\n\n") {
				t.Fatalf("bad error %+v", e)
			}
		} else {
			seen := map[int64]bool{}
			for _, h := range hits {
				if h.Delta < 0 || seen[h.MetricID] {
					t.Fatalf("usage %v from %q", hits, raw)
				}
				seen[h.MetricID] = true
				if _, ok := snap.Metrics.Get(h.MetricID); !ok {
					t.Fatalf("unknown metric %d from %q", h.MetricID, raw)
				}
			}
		}
		idx, e := transactionIndexes(q)
		if e == nil {
			if len(idx) == 0 || len(idx) > MaxTransactions {
				t.Fatalf("%d transactions from %q", len(idx), raw)
			}
			for i := 1; i < len(idx); i++ {
				if idx[i] <= idx[i-1] {
					t.Fatalf("indexes not increasing: %v", idx)
				}
			}
			for _, i := range idx {
				_, _ = usageOf(snap, sid, q, "transactions["+strconv.Itoa(i)+"][usage]", false)
				if ts := q.Get("transactions[" + strconv.Itoa(i) + "][timestamp]"); ts != "" {
					_, _ = parseTimestamp(ts)
				}
			}
		}
		_ = credentialsOf(q, "")
	})
}

// As apisonator's LimitHeaders: of limits leaving as many calls, the longer
// period's reset is sent, so a client waiting for it does not come back
// while the longer limit still refuses.
func TestServiceManagementLimitHeadersTieTakesTheLongerPeriod(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 30, 15, 0, time.UTC)
	minute, minuteEnd := composition.PeriodBounds("minute", now)
	day, dayEnd := composition.PeriodBounds("day", now)
	reports := []composition.UsageReport{
		{MetricID: 1, Metric: "hits", Period: "minute", Start: minute, End: minuteEnd, Max: 10, Current: 10, Usage: 1},
		{MetricID: 1, Metric: "hits", Period: "day", Start: day, End: dayEnd, Max: 100, Current: 100, Usage: 1},
	}
	usage := []composition.Hit{{MetricID: 1, Delta: 1}}
	remaining, reset, max, _ := limitHeaders(reports, usage, false, now)
	assert.EqualValues(t, 0, remaining)
	assert.EqualValues(t, int64(dayEnd.Sub(now)/time.Second), reset, "the day's reset, not the minute's")
	assert.EqualValues(t, 100, max)
	// in the other order too
	reports[0], reports[1] = reports[1], reports[0]
	remaining, reset, max, _ = limitHeaders(reports, usage, false, now)
	assert.EqualValues(t, 0, remaining)
	assert.EqualValues(t, int64(dayEnd.Sub(now)/time.Second), reset)
	assert.EqualValues(t, 100, max)
}
