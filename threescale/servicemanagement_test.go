package threescale

import (
	"net/http"
	"net/http/httptest"
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
		hits, _, e := usageOf(snap, sid, q, "usage", false, true)
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
				a, _ := strconv.ParseUint(idx[i-1], 10, 63)
				b, _ := strconv.ParseUint(idx[i], 10, 63)
				if b < a || b == a && idx[i] <= idx[i-1] {
					t.Fatalf("indexes not increasing: %v", idx)
				}
			}
			for _, i := range idx {
				_, _, _ = usageOf(snap, sid, q, "transactions["+i+"][usage]", false, false)
				if ts := q.Get("transactions[" + i + "][timestamp]"); ts != "" {
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

// A read-only access token (permission ro) answers authorize, but cannot
// add usage: authrep and report refuse it.
func TestReadOnlyTokenCannotAddUsage(t *testing.T) {
	const ro = "mem-read-only-token"
	_, counters := newMemSM(t, "1")
	sm := newMemSMWithToken(t, &composition.AccessToken{ID: 90, Name: "dashboard",
		Scopes: []string{composition.ScopeAccountManagement}, Permission: composition.PermissionRO,
		Digest: composition.TokenDigest(ro)}, counters)
	q := url.Values{"service_token": {ro}, "service_id": {"10"}, "user_key": {memUserKey}, "usage[hits]": {"1"}}
	w := memGet(sm, "/transactions/authorize.xml", q)
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	w = memGet(sm, "/transactions/authrep.xml", q)
	assert.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	assert.Equal(t, "service_token_invalid", smErrorCode(w.Body.Bytes()))
	assert.Contains(t, w.Body.String(), "read-only")
	w = memPost(sm, url.Values{"service_token": {ro}, "service_id": {"10"},
		"transactions[0][user_key]": {memUserKey}, "transactions[0][usage][hits]": {"1099511627776"}}.Encode())
	assert.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	assert.Equal(t, "service_token_invalid", smErrorCode(w.Body.Bytes()))
	w = memPost(sm, url.Values{"provider_key": {ro}, "service_id": {"10"},
		"transactions[0][user_key]": {memUserKey}, "transactions[0][usage][hits]": {"1"}}.Encode())
	assert.Equal(t, "provider_key_invalid", smErrorCode(w.Body.Bytes()), "%s", w.Body)
	assert.Empty(t, counters.adds, "no usage stored")
	assert.Zero(t, counters.Value(memApp, memHits, "eternity", time.Time{}), "no usage admitted")
}

// Error statuses are apisonator's error classes': ServiceIdMissing is
// Invalid (422); ServiceTokenInvalid, ServiceIdInvalid and
// UsageValueInvalid are plain Errors (403), never 404.
func TestErrorStatusesFollowApisonator(t *testing.T) {
	sm, _ := newMemSM(t, "1")
	for _, tc := range []struct {
		name   string
		q      url.Values
		status int
		code   string
	}{
		{"service_token without service_id", url.Values{"service_token": {memToken}, "user_key": {memUserKey}},
			422, "service_id_missing"},
		{"service_token with an unknown service_id", url.Values{"service_token": {memToken}, "service_id": {"999"}, "user_key": {memUserKey}},
			403, "service_token_invalid"},
		{"provider_key with an unknown service_id", url.Values{"provider_key": {memToken}, "service_id": {"999"}, "user_key": {memUserKey}},
			403, "service_id_invalid"},
		{"invalid usage value", url.Values{"service_token": {memToken}, "service_id": {"10"}, "user_key": {memUserKey}, "usage[hits]": {"x"}},
			403, "usage_value_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := memGet(sm, "/transactions/authorize.xml", tc.q)
			if w.Code != tc.status || smErrorCode(w.Body.Bytes()) != tc.code {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
}

// An empty service_token beside a valid provider_key is as if absent: the
// provider_key identifies the caller, and service_id may be left out.
func TestEmptyServiceTokenBesideProviderKey(t *testing.T) {
	sm, _ := newMemSM(t, "1")
	w := memGet(sm, "/transactions/authorize.xml", url.Values{"service_token": {""}, "provider_key": {memToken},
		"user_key": {memUserKey}})
	assert.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
}

// A metric name two backends of a product share resolves as the gateway
// resolves it: the product's own first, then the backends in the order of
// their backend usages; the same call always gets the same answer.
func TestSharedBackendMetricNameResolvesAsTheGateway(t *testing.T) {
	sm, _ := newMemSM(t, "1")
	seen := map[int64]bool{}
	snap := sm.snapshot()
	for range 200 {
		hits, _, e := usageOf(snap, memService, url.Values{"usage[search]": {"1"}}, "usage", false, false)
		require.Nil(t, e)
		for _, h := range hits {
			if h.MetricID == memSearchA || h.MetricID == memSearchB {
				seen[h.MetricID] = true
			}
		}
	}
	assert.Equal(t, map[int64]bool{memSearchA: true}, seen, "backend A's usage comes first")
	codes := map[int]int{}
	q := url.Values{"service_token": {memToken}, "service_id": {"10"}, "user_key": {memUserKey}, "usage[search]": {"1"}}
	for range 100 {
		codes[memGet(sm, "/transactions/authorize.xml", q).Code]++
	}
	assert.Len(t, codes, 1, "100 identical authorize calls answered %v", codes)
}

// On an OAuth/OIDC service (backend_version oauth or oidc), authorize.xml
// and authrep.xml run apisonator's OIDC validators: the app_id is enough,
// an app_key is checked only when given, and no <application> is answered.
func TestOIDCAuthorizationNeedsNoAppKey(t *testing.T) {
	for _, bv := range []string{"oauth", "oidc"} {
		t.Run(bv, func(t *testing.T) {
			sm, counters := newMemSM(t, bv)
			q := url.Values{"service_token": {memToken}, "service_id": {"10"}, "app_id": {memAppID}, "usage[hits]": {"1"}}
			w := memGet(sm, "/transactions/authrep.xml", q)
			require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
			assert.NotContains(t, w.Body.String(), "<application>")
			assert.EqualValues(t, 1, counters.Value(memApp, memHits, "eternity", time.Time{}))
			w = memGet(sm, "/transactions/authorize.xml", q)
			assert.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
			q.Set("app_key", "wrong")
			w = memGet(sm, "/transactions/authorize.xml", q)
			assert.Equal(t, http.StatusConflict, w.Code, "%s", w.Body)
			assert.Contains(t, w.Body.String(), "application key is invalid")
			q.Set("app_key", memAppKey)
			w = memGet(sm, "/transactions/authorize.xml", q)
			assert.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
		})
	}
	// a service that is neither still needs the key
	sm, _ := newMemSM(t, "2")
	w := memGet(sm, "/transactions/authrep.xml", url.Values{"service_token": {memToken}, "service_id": {"10"}, "app_id": {memAppID}})
	assert.Equal(t, http.StatusConflict, w.Code, "%s", w.Body)
	assert.Contains(t, w.Body.String(), "application key is missing")
}

// A set value (usage[m]=#n) is apisonator's /\A\s*#?\d+\s*\z/: authorize
// checks whether a counter of n would be within the limits; authrep and
// report refuse it, saying set values are not supported on reports.
func TestSetUsageValueIsAuthorizedNotReported(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	authorize := func(v string) *httptest.ResponseRecorder {
		return memGet(sm, "/transactions/authorize.xml", url.Values{"service_token": {memToken}, "service_id": {"10"},
			"user_key": {memUserKey}, "usage[search]": {v}})
	}
	w := authorize("#0")
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	// backend A's search is limited to 1 a day: a counter of 1 fits, 2 does not
	require.NoError(t, counters.Add(t.Context(), memService, []UsageIncrement{
		{ApplicationID: memApp, MetricID: memSearchA, At: time.Now(), Delta: 1}}))
	assert.Equal(t, http.StatusConflict, authorize(" 1 ").Code, "current 1 plus 1 is over the limit")
	w = authorize(" #1\t")
	assert.Equal(t, http.StatusOK, w.Code, "a counter of 1 is within the limit: %s", w.Body)
	assert.Contains(t, w.Body.String(), "<current_value>1</current_value>")
	w = authorize("#2")
	assert.Equal(t, http.StatusConflict, w.Code, "%s", w.Body)
	assert.Contains(t, w.Body.String(), "<current_value>1</current_value>", "refused: the stored value")
	for _, bad := range []string{"+5", "-0", "# 1", "#", "1 2", "#-1"} {
		w = authorize(bad)
		assert.Equal(t, http.StatusForbidden, w.Code, "%q: %s", bad, w.Body)
		assert.Equal(t, "usage_value_invalid", smErrorCode(w.Body.Bytes()), bad)
	}

	w = memGet(sm, "/transactions/authrep.xml", url.Values{"service_token": {memToken}, "service_id": {"10"},
		"user_key": {memUserKey}, "usage[hits]": {"#0"}})
	assert.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	assert.Equal(t, "usage_value_invalid", smErrorCode(w.Body.Bytes()))
	assert.Contains(t, w.Body.String(), "set values are supported by authorize only, not on reports")
	w = memPost(sm, url.Values{"service_token": {memToken}, "service_id": {"10"},
		"transactions[0][user_key]": {memUserKey}, "transactions[0][usage][hits]": {"#5"}}.Encode())
	assert.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	assert.Contains(t, w.Body.String(), "set values are supported by authorize only, not on reports")
	assert.Len(t, counters.adds, 1, "only the test's own increment")
}

// An authorize with #N decides on N, and the document still marks a counter
// stored over its limit exceeded, as apisonator's UsageReport does.
func TestSetValueAuthorizeShowsTheStoredValueExceeded(t *testing.T) {
	sm, counters := newMemSM(t, "1")
	// backend A's search is limited to 1 a day; 3 are stored
	require.NoError(t, counters.Add(t.Context(), memService, []UsageIncrement{
		{ApplicationID: memApp, MetricID: memSearchA, At: time.Now(), Delta: 3}}))
	q := url.Values{"service_token": {memToken}, "service_id": {"10"}, "user_key": {memUserKey}}

	w := memGet(sm, "/transactions/authorize.xml", q)
	require.Equal(t, http.StatusConflict, w.Code, "%s", w.Body)
	require.Contains(t, w.Body.String(), `period="day" exceeded="true"`, "without usage: %s", w.Body)

	q.Set("usage[search]", "#1") // a counter of 1 is within the limit
	w = memGet(sm, "/transactions/authorize.xml", q)
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	assert.Contains(t, w.Body.String(), `period="day" exceeded="true"`,
		"the stored 3 is over the limit of 1, as apisonator marks it: %s", w.Body)
}
