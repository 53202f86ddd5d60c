package composition

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// A service with 200 mapping rules on 20 methods; the request matches a rule
// near the end, so the matcher scans them all, as the gateway does per request.
func BenchmarkMatcher200Rules(b *testing.B) {
	h := NewHead(New(), func(context.Context, []Change, *Composition) error { return nil }, time.Now)
	var svcID int64
	_, err := h.Update(context.Background(), func(tx *Tx) error {
		svc := &Service{Name: "bench"}
		if err := tx.Create(svc); err != nil {
			return err
		}
		svcID = svc.ID
		hits, _ := tx.View().Hits(OwnerService, svc.ID)
		verbs := []string{"GET", "POST", "PUT", "DELETE"}
		for m := 0; m < 20; m++ {
			method := &Metric{OwnerType: OwnerService, OwnerID: svc.ID, ParentID: hits.ID, FriendlyName: fmt.Sprintf("m%d", m)}
			if err := tx.Create(method); err != nil {
				return err
			}
			for r := 0; r < 10; r++ {
				pattern := fmt.Sprintf("/v%d/resource%d/{id}/sub%d$", r%3, m, r)
				if r%4 == 0 {
					pattern = fmt.Sprintf("/v1/resource%d/{id}?fields={f}&r=%d", m, r)
				}
				if err := tx.Create(&MappingRule{OwnerType: OwnerService, OwnerID: svc.ID, MetricID: method.ID,
					HTTPMethod: verbs[r%4], Pattern: pattern, Delta: 1}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewMatcher(h.Snapshot(), svcID)
	if err != nil {
		b.Fatal(err)
	}
	if m.Len() != 200 {
		b.Fatalf("%d rules", m.Len())
	}
	path, query := "/v0/resource19/42/sub9", url.Values{}
	hits := make([]Hit, 0, 4)
	if _, n := m.Match(hits, "POST", path, query); n != 1 {
		b.Fatalf("want one match, got %d", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hits, _ = m.Match(hits[:0], "POST", path, query)
	}
}
