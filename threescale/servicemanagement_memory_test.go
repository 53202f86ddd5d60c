package threescale

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portolan/portolan/composition"
)

// An in-memory composition store and usage counters, to test the Service
// Management API without a coordinator.

// memStore is a composition.Store over one sealed composition: read-only.
type memStore struct{ snap *composition.Snapshot }

func (s memStore) Snapshot() *composition.Snapshot { return s.snap }
func (s memStore) Update(context.Context, func(*composition.Tx) error) (*composition.Snapshot, error) {
	return nil, errors.New("read-only")
}
func (s memStore) Wait(context.Context, uint64) (*composition.Snapshot, error) { return s.snap, nil }
func (s memStore) Close() error                                                { return nil }

// memCounterKey names one counter: an application's metric in one period.
type memCounterKey struct {
	app, metric int64
	period      string
	start       time.Time
}

// memCounters is a minimal UsageCounters: per app, metric, period start;
// adds keeps every increment Add was given.
type memCounters struct {
	mu   sync.Mutex
	vals map[memCounterKey]int64
	adds []UsageIncrement
}

func (c *memCounters) Value(appID, metricID int64, period string, start time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[memCounterKey{appID, metricID, period, start}]
}

func (c *memCounters) addLocked(appID int64, hits []composition.Hit, now time.Time) {
	if c.vals == nil {
		c.vals = map[memCounterKey]int64{}
	}
	for _, h := range hits {
		for _, p := range composition.Periods {
			start, _ := composition.PeriodBounds(p, now)
			k := memCounterKey{appID, h.MetricID, p, start}
			c.vals[k] = composition.AddSaturating(c.vals[k], h.Delta)
		}
	}
}

func (c *memCounters) Admit(_ context.Context, _, appID int64, usage []composition.Hit, now time.Time,
	decide func(current composition.Counter) bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := func(a, m int64, p string, s time.Time) int64 { return c.vals[memCounterKey{a, m, p, s}] }
	if !decide(cur) {
		return false, nil
	}
	c.addLocked(appID, usage, now)
	return true, nil
}

func (c *memCounters) Add(_ context.Context, _ int64, usage []UsageIncrement) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.adds = append(c.adds, usage...)
	for _, u := range usage {
		c.addLocked(u.ApplicationID, []composition.Hit{{MetricID: u.MetricID, Delta: u.Delta}}, u.At)
	}
	return nil
}

func (c *memCounters) Values(Scope, int64, int64, string, []time.Time) ([]int64, error) {
	return nil, nil
}
func (c *memCounters) AppSums(int64, int64, []time.Time) ([]int64, error)     { return nil, nil }
func (c *memCounters) ServiceSums(int64, int64, []time.Time) ([]int64, error) { return nil, nil }

const (
	memToken   = "mem-service-token"
	memService = int64(10)
	memHits    = int64(11)
	memBackA   = int64(20)
	memBackB   = int64(30)
	memSearchA = int64(22) // backend A's method "search"
	memSearchB = int64(32) // backend B's method "search"
	memPlan    = int64(50)
	memApp     = int64(70)
	memUserKey = "mem-user-key"
	memAppID   = "mem-app-id"
	memAppKey  = "mem-app-key"
)

// newMemSM serves the Service Management API, with memToken, on an
// in-memory composition: service 10 (backend_version given) uses backends A and B,
// both with a method "search" under their hits; plan 50 limits backend A's
// search to 1 a day and disables (0) backend B's search; application 70 has
// a user_key, an app_id and one key.
func newMemSM(t *testing.T, backendVersion string) (*ServiceManagement, *memCounters) {
	t.Helper()
	c := composition.New()
	c.Restore(composition.KindService, &composition.Service{ID: memService, Name: "S", SystemName: "s",
		State: "incomplete", BackendVersion: backendVersion})
	c.Restore(composition.KindMetric, &composition.Metric{ID: memHits, OwnerType: composition.OwnerService,
		OwnerID: memService, SystemName: "hits", Name: "hits"})
	for _, b := range []struct{ backend, hits, search int64 }{{memBackA, 21, memSearchA}, {memBackB, 31, memSearchB}} {
		c.Restore(composition.KindMetric, &composition.Metric{ID: b.hits, OwnerType: composition.OwnerBackendAPI,
			OwnerID: b.backend, SystemName: "hits", Name: "hits"})
		c.Restore(composition.KindMetric, &composition.Metric{ID: b.search, OwnerType: composition.OwnerBackendAPI,
			OwnerID: b.backend, ParentID: b.hits, SystemName: "search", Name: "search"})
		c.Restore(composition.KindBackendUsage, &composition.BackendUsage{ID: b.backend + 5, ServiceID: memService,
			BackendAPIID: b.backend, Path: "/"})
	}
	c.Restore(composition.KindApplicationPlan, &composition.ApplicationPlan{ID: memPlan, ServiceID: memService, Name: "Basic"})
	c.Restore(composition.KindUsageLimit, &composition.UsageLimit{ID: 51, PlanID: memPlan, MetricID: memSearchA, Period: "day", Value: 1})
	c.Restore(composition.KindUsageLimit, &composition.UsageLimit{ID: 52, PlanID: memPlan, MetricID: memSearchB, Period: "day", Value: 0})
	c.Restore(composition.KindApplication, &composition.Application{ID: memApp, ServiceID: memService, PlanID: memPlan,
		State: composition.AppLive, Name: "A", UserKey: memUserKey, AppID: memAppID, AppKeys: []string{memAppKey}})
	c.Seal()
	counters := &memCounters{}
	return NewServiceManagement(memStore{c}, NewTokenChecker(memToken), counters), counters
}

// memGet answers GET path?q.
func memGet(sm *ServiceManagement, path string, q url.Values) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	sm.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil))
	return w
}

// memPost answers a form-encoded POST /transactions.xml of body.
func memPost(sm *ServiceManagement, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/transactions.xml", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sm.ServeHTTP(w, r)
	return w
}

// smErrorCode is the code of an apisonator error document, or "".
func smErrorCode(body []byte) string {
	var e struct {
		Code string `xml:"code,attr"`
	}
	_ = xml.Unmarshal(body, &e)
	return e.Code
}

// newMemSMWithToken is newMemSM's composition with token stored, served
// with stored tokens and counters.
func newMemSMWithToken(t *testing.T, token *composition.AccessToken, counters *memCounters) *ServiceManagement {
	t.Helper()
	base, _ := newMemSM(t, "1")
	snap := base.snapshot()
	c := composition.New()
	for _, k := range []composition.Kind{composition.KindService, composition.KindMetric, composition.KindBackendUsage,
		composition.KindApplicationPlan, composition.KindUsageLimit, composition.KindApplication} {
		snap.Each(k, func(e composition.Entity) { c.Restore(k, e) })
	}
	c.Restore(composition.KindAccessToken, token)
	c.Seal()
	store := memStore{c}
	return NewServiceManagement(store, NewStoreTokenChecker(store.Snapshot), counters)
}
