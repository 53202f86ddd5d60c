package composition

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

// FuzzAuthorizeMatcher runs the whole Matcher (several rules, methods, last,
// a backend mounted under a prefix, query placeholders) on random methods,
// paths and query strings, then CheckLimits on what it matched: no panic, the
// same answer twice, usage only of the service's metrics, a method's usage
// always counted to hits too, and "no match" exactly when nothing is counted.
func FuzzAuthorizeMatcher(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/news/42", ""},
		{"GET", "/search", "q=cats&page=2"},
		{"POST", "/news", "a=1&a=2"},
		{"GET", "/api/v2/items/7", "x=%zz"},
		{"DELETE", "/", ""},
		{"GET", "/news/%2F/x", "q="},
	} {
		f.Add(s[0], s[1], s[2])
	}
	tx := NewTx(New(), testNow)
	svc := &Service{Name: "News", BackendVersion: "1"}
	if err := tx.Create(svc); err != nil {
		f.Fatal(err)
	}
	hits, _ := tx.View().Hits(OwnerService, svc.ID)
	mk := func(ownerType string, ownerID, parent int64, name string) *Metric {
		m := &Metric{OwnerType: ownerType, OwnerID: ownerID, ParentID: parent, FriendlyName: name, Unit: "hit"}
		if err := tx.Create(m); err != nil {
			f.Fatal(err)
		}
		return m
	}
	rule := func(ownerType string, ownerID, metric int64, method, pattern string, delta, pos int64, last bool) {
		if err := tx.Create(&MappingRule{OwnerType: ownerType, OwnerID: ownerID, MetricID: metric, HTTPMethod: method,
			Pattern: pattern, Delta: delta, Position: pos, Last: last}); err != nil {
			f.Fatal(err)
		}
	}
	getNews := mk(OwnerService, svc.ID, hits.ID, "Get news")
	search := mk(OwnerService, svc.ID, hits.ID, "Search")
	rule(OwnerService, svc.ID, getNews.ID, "GET", "/news/{id}", 1, 1, false)
	rule(OwnerService, svc.ID, search.ID, "GET", "/search?q={q}", 2, 2, true)
	rule(OwnerService, svc.ID, hits.ID, "ANY", "/", 1, 3, false)
	backend := &BackendAPI{Name: "Items", PrivateEndpoint: "http://items.internal"}
	if err := tx.Create(backend); err != nil {
		f.Fatal(err)
	}
	bhits, _ := tx.View().Hits(OwnerBackendAPI, backend.ID)
	rule(OwnerBackendAPI, backend.ID, bhits.ID, "GET", "/items/{id}$", 5, 1, false)
	if err := tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: backend.ID, Path: "/api/v2"}); err != nil {
		f.Fatal(err)
	}
	plan := &ApplicationPlan{ServiceID: svc.ID, Name: "Basic"}
	if err := tx.Create(plan); err != nil {
		f.Fatal(err)
	}
	acct := &Account{OrgName: "A"}
	if err := tx.Create(acct); err != nil {
		f.Fatal(err)
	}
	app := &Application{AccountID: acct.ID, PlanID: plan.ID, Name: "a"}
	if err := tx.Create(app); err != nil {
		f.Fatal(err)
	}
	for _, l := range []*UsageLimit{{PlanID: plan.ID, MetricID: hits.ID, Period: "minute", Value: 3},
		{PlanID: plan.ID, MetricID: search.ID, Period: "week", Value: 0}} {
		if err := tx.Create(l); err != nil {
			f.Fatal(err)
		}
	}
	c := tx.Result()
	m, err := NewMatcher(c, svc.ID)
	if err != nil {
		f.Fatal(err)
	}
	metrics := c.ServiceMetricIDs(svc.ID)
	zero := func(int64, int64, string, time.Time) int64 { return 0 }

	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		query, _ := url.ParseQuery(rawQuery)
		got, n := m.Match(nil, method, path, query)
		again, n2 := m.Match(nil, method, path, query)
		if n != n2 || !reflect.DeepEqual(got, again) {
			t.Fatalf("Match is not deterministic: %v/%d then %v/%d", got, n, again, n2)
		}
		if (n == 0) != (len(got) == 0) {
			t.Fatalf("%d rules matched but usage is %v", n, got)
		}
		byMetric := map[int64]int64{}
		for _, h := range got {
			if _, ok := metrics[h.MetricID]; !ok {
				t.Fatalf("usage of metric %d, not one of the service's", h.MetricID)
			}
			if h.Delta <= 0 {
				t.Fatalf("non-positive delta %v", h)
			}
			byMetric[h.MetricID] += h.Delta
		}
		if byMetric[hits.ID] < byMetric[getNews.ID]+byMetric[search.ID] {
			t.Fatalf("a method's usage is not counted to hits: %v", got)
		}
		reports, exceeded := c.CheckLimits(app, got, zero, testNow)
		if len(reports) != 2 {
			t.Fatalf("%d reports", len(reports))
		}
		wantExceeded := byMetric[hits.ID] > 3 || byMetric[search.ID] > 0
		if exceeded != wantExceeded {
			t.Fatalf("exceeded = %v for usage %v", exceeded, got)
		}
	})
}
