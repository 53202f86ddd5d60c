package threescale

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portolan/portolan/composition/boltstore"
)

// BenchmarkRouteLookup measures the Account Management API's route lookup
// (the ServeMux match of a path with its format suffix removed) for routes
// that existed before the families of issue 14, so that running it on an
// older commit and on today's shows what the new routes cost the old ones.
func BenchmarkRouteLookup(b *testing.B) {
	store, err := boltstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	a := New(store, NewTokenChecker("bench-token"))
	reqs := []*http.Request{
		httptest.NewRequest(http.MethodGet, "/admin/api/services", nil),
		httptest.NewRequest(http.MethodGet, "/admin/api/services/12/metrics/34", nil),
		httptest.NewRequest(http.MethodPut, "/admin/api/services/12/proxy/mapping_rules/56", nil),
		httptest.NewRequest(http.MethodGet, "/admin/api/application_plans/7/limits", nil),
		httptest.NewRequest(http.MethodGet, "/admin/api/accounts/3/applications/9", nil),
		httptest.NewRequest(http.MethodPost, "/admin/api/signup", nil),
		httptest.NewRequest(http.MethodGet, "/admin/api/backend_apis/4/mapping_rules", nil),
		httptest.NewRequest(http.MethodGet, "/admin/api/active_docs", nil),
	}
	for _, r := range reqs {
		if _, pattern := a.mux.Handler(r); pattern == "" {
			b.Fatalf("%s %s: no route", r.Method, r.URL.Path)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := reqs[i%len(reqs)]
		if _, pattern := a.mux.Handler(r); pattern == "" {
			b.Fatal("no route")
		}
	}
}
