package composition

import (
	"fmt"
	"net/url"
	"testing"
)

// ruleBenchPatterns returns 200 distinct patterns shaped like a real service's
// mapping rules; only rule 195 matches /api/v2/shipments/123.json.
func ruleBenchPatterns(b *testing.B) []*Pattern {
	resources := []string{
		"accounts", "users", "orders", "invoices", "payments", "products", "categories",
		"carts", "coupons", "reviews", "customers", "suppliers", "warehouses", "stock",
		"returns", "refunds", "subscriptions", "plans", "webhooks", "events", "reports",
		"tickets", "messages", "addresses", "shipments",
	}
	forms := []string{
		"/api/v1/%s$",
		"/api/v1/%s/{id}$",
		"/api/v1/%s/{id}/history",
		"/api/v2/%s/{id}.json$",
		"/api/v2/%s?page={page}&per_page={n}",
		"/api/v1/%s/search$?q={q}",
		"/api/v1/%s/{id}/export.{format}$",
		"/admin/%s/stats",
	}
	var ps []*Pattern
	for _, r := range resources {
		for _, f := range forms {
			p, err := ParsePattern(fmt.Sprintf(f, r))
			if err != nil {
				b.Fatal(err)
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func BenchmarkMatch200Rules(b *testing.B) {
	ps := ruleBenchPatterns(b)
	path := "/api/v2/shipments/123.json"
	query := url.Values{"fields": {"id,status"}}
	matched := -1
	for i, p := range ps {
		if p.Match(path, query) {
			if matched >= 0 {
				b.Fatalf("rules %d and %d both match", matched, i)
			}
			matched = i
		}
	}
	if len(ps) != 200 || matched != 195 {
		b.Fatalf("%d rules, match at %d", len(ps), matched)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		// APIcast evaluates every rule (each match counts usage), so scan them all.
		for _, p := range ps {
			if p.Match(path, query) {
				n++
			}
		}
	}
	b.StopTimer()
	if n == 0 {
		b.Fatal("no match")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ps)), "ns/rule")
}
