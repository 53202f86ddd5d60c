package composition

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchService creates a service with rules mapping rules and returns the
// snapshot, the service, its hits and a plain metric.
func benchService(b *testing.B, rules int) (*Snapshot, *Service, *Metric, *Metric) {
	b.Helper()
	h := newTestHead()
	var svc *Service
	var hits, metric *Metric
	mustUpdate(b, h, func(tx *Tx) error {
		svc, hits = createService(b, tx, "Bench", "1")
		metric = createMetric(b, tx, OwnerService, svc.ID, 0, "Bytes")
		createPlan(b, tx, svc.ID, "Basic", true)
		for i := range rules {
			target := hits
			if i%2 == 1 {
				target = metric
			}
			createRule(b, tx, OwnerService, svc.ID, target.ID, "GET", fmt.Sprintf("/api/r%d/{id}", i), 1, 0, false)
		}
		return nil
	})
	return h.Snapshot(), svc, hits, metric
}

// BenchmarkSnapshotReadUnderWrites measures readers (Snapshot, entity lookups,
// listing a service's mapping rules) while one writer commits revisions as fast
// as it can, updating one metric and creating (and deleting the previous) another.
func BenchmarkSnapshotReadUnderWrites(b *testing.B) {
	base, svc, _, metric := benchService(b, 50)
	h := NewHead(base, nopPersist, nil)
	plan := base.PlansOf(svc.ID)[0]

	var writes atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var prev int64
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := h.Update(context.Background(), func(tx *Tx) error {
				m, _ := tx.View().Metrics.Get(metric.ID)
				n := *m
				n.Description = strconv.Itoa(i)
				if err := tx.Update(&n); err != nil {
					return err
				}
				fresh := &Metric{OwnerType: OwnerService, OwnerID: svc.ID, FriendlyName: "w" + strconv.Itoa(i), Unit: "unit"}
				if err := tx.Create(fresh); err != nil {
					return err
				}
				if prev != 0 {
					if err := tx.Delete(KindMetric, prev); err != nil {
						return err
					}
				}
				prev = fresh.ID
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
			writes.Add(1)
		}
	}()

	b.ReportAllocs()
	b.ResetTimer()
	w0 := writes.Load()
	b.RunParallel(readSnapshots(b, h, svc, metric, plan))
	b.StopTimer()
	w := writes.Load() - w0
	close(stop)
	<-done
	b.ReportMetric(float64(w)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkSnapshotReadIdle is the baseline of BenchmarkSnapshotReadUnderWrites:
// the same readers with no writer.
func BenchmarkSnapshotReadIdle(b *testing.B) {
	base, svc, _, metric := benchService(b, 50)
	h := NewHead(base, nopPersist, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(readSnapshots(b, h, svc, metric, base.PlansOf(svc.ID)[0]))
}

// readSnapshots is what a reader does: take the snapshot, look entities up and
// list a service's mapping rules.
func readSnapshots(b *testing.B, h *Head, svc *Service, metric *Metric, plan *ApplicationPlan) func(*testing.PB) {
	return func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			s := h.Snapshot()
			sv, ok1 := s.Services.Get(svc.ID)
			m, ok2 := s.Metrics.Get(metric.ID)
			p, ok3 := s.ApplicationPlans.Get(plan.ID)
			if !ok1 || !ok2 || !ok3 {
				b.Error("entity missing from snapshot")
				return
			}
			rules := s.MappingRulesOf(OwnerService, sv.ID)
			if len(rules) != 50 {
				b.Errorf("%d rules", len(rules))
				return
			}
			n += len(m.Description) + len(p.Name)
		}
		_ = n
	}
}

// BenchmarkTxCreateMappingRule measures one Update that creates a mapping rule
// on a service that already has 200 (no-op persist): the domain-level cost of
// a write, validation and copy-on-write included.
func BenchmarkTxCreateMappingRule(b *testing.B) {
	base, svc, hits, _ := benchService(b, 200)
	now := func() time.Time { return testNow }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h := NewHead(base, nopPersist, now) // each op writes on top of the same 200 rules
		s, err := h.Update(ctx, func(tx *Tx) error {
			return tx.Create(&MappingRule{OwnerType: OwnerService, OwnerID: svc.ID, MetricID: hits.ID,
				HTTPMethod: "POST", Pattern: "/api/new/{id}", Delta: 1})
		})
		if err != nil {
			b.Fatal(err)
		}
		if s.MappingRules.Len() != 201 {
			b.Fatalf("%d rules", s.MappingRules.Len())
		}
	}
}
