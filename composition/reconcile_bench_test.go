package composition

import (
	"fmt"
	"testing"
)

// benchComposition builds a composition of about n entities: services with
// metrics, methods, mapping rules and plans with limits and pricing rules, a
// used backend, accounts with users and applications.
func benchComposition(b *testing.B, n int) *Composition {
	b.Helper()
	return built(b, func(tx *Tx) {
		backend, backendHits := createBackend(b, tx, "Shared backend")
		for s := 0; tx.View().Count() < n; s++ {
			svc, hits := createService(b, tx, fmt.Sprintf("Service %d", s), "1")
			if err := tx.Create(&BackendUsage{ServiceID: svc.ID, BackendAPIID: backend.ID, Path: "/shared"}); err != nil {
				b.Fatal(err)
			}
			metrics := []*Metric{hits, backendHits}
			for m := range 10 {
				metrics = append(metrics, createMetric(b, tx, OwnerService, svc.ID, hits.ID, fmt.Sprintf("Method %d", m)))
			}
			for r, m := range metrics[2:] {
				createRule(b, tx, OwnerService, svc.ID, m.ID, "GET", fmt.Sprintf("/v1/r%d/{id}", r), 1, 0, false)
				createRule(b, tx, OwnerService, svc.ID, m.ID, "POST", fmt.Sprintf("/v1/r%d", r), 1, 0, false)
			}
			for p := range 4 {
				plan := createPlan(b, tx, svc.ID, fmt.Sprintf("Plan %d", p), p == 0)
				for i, m := range metrics {
					if err := tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: m.ID, Period: Periods[i%len(Periods)], Value: int64(100 * (i + 1))}); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Create(&PricingRule{PlanID: plan.ID, MetricID: hits.ID, CostPerUnit: "0.01", Min: 1}); err != nil {
					b.Fatal(err)
				}
			}
			acc := createAccount(b, tx, fmt.Sprintf("Org %d", s))
			if err := tx.Create(&User{AccountID: acc.ID, Username: fmt.Sprintf("user%d", s)}); err != nil {
				b.Fatal(err)
			}
			createApp(b, tx, acc.ID, tx.View().PlansOf(svc.ID)[0].ID, "app")
		}
	})
}

// BenchmarkReconcile applies a 1,000-entity composition into an empty one
// and again onto itself (a diff, no write), beside a plain Import of the same
// document, the baseline, and ImportByName of it into the home holding it.
func BenchmarkReconcile(b *testing.B) {
	src := benchComposition(b, 1000)
	doc := Export(src, true, testNow)
	desired := renumbered(b, src)
	b.Logf("%d entities", src.Count())

	b.Run("import", func(b *testing.B) {
		for b.Loop() {
			tx := NewTx(New(), testNow)
			if _, err := Import(tx, doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-apply", func(b *testing.B) {
		for b.Loop() {
			tx := NewTx(New(), testNow)
			if _, err := Reconcile(tx, desired, DiffOptions{Secrets: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("no-change-apply", func(b *testing.B) {
		tx := NewTx(New(), testNow)
		if _, err := Reconcile(tx, desired, DiffOptions{Secrets: true}); err != nil {
			b.Fatal(err)
		}
		current := tx.Result()
		for b.Loop() {
			tx := NewTx(current, testNow)
			if _, err := Reconcile(tx, desired, DiffOptions{Secrets: true, Prune: true}); err != nil {
				b.Fatal(err)
			}
			if n := len(tx.Changes()); n != 0 {
				b.Fatalf("a no-change apply wrote %d entities", n)
			}
		}
	})
	b.Run("import-by-name-again", func(b *testing.B) {
		for b.Loop() {
			tx := NewTx(src, testNow)
			if _, err := ImportByName(tx, doc); err != nil {
				b.Fatal(err)
			}
			if n := len(tx.Changes()); n != 0 {
				b.Fatalf("a second import wrote %d entities", n)
			}
		}
	})
}
