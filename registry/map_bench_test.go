package registry

import (
	"encoding/json"
	"sync"
	"testing"
)

// The map's reads at 100,000 instances (issue 18, goal 6), beside the whole
// map as GET /v1/map served it before queries: each encodes its answer to
// JSON as serveMap does and reports its bytes.

const mapBenchFleet = 100_000

var (
	benchOnce sync.Once
	benchF    *fixture
)

// benchFleetOf registers the fleet once for all the map's benchmarks.
func benchFleetOf(b *testing.B) *fixture {
	benchOnce.Do(func() { benchF = mapFleet(b, mapBenchFleet) })
	return benchF
}

func encodeBench(b *testing.B, v any) int {
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return len(out)
}

func BenchmarkMapFull100k(b *testing.B) {
	f := benchFleetOf(b)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = encodeBench(b, f.r.Map())
	}
	b.ReportMetric(float64(n), "answer-bytes")
}

func BenchmarkMapSummary100k(b *testing.B) {
	f := benchFleetOf(b)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = encodeBench(b, f.r.MapSummary(MapQuery{}))
	}
	b.ReportMetric(float64(n), "answer-bytes")
}

func BenchmarkMapPage100k(b *testing.B) {
	f := benchFleetOf(b)
	q := MapQuery{Service: "news", Status: StatusPassing, Limit: 100}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		m := f.r.MapPage(q)
		n = encodeBench(b, m)
		q.Cursor = m.Next
	}
	b.ReportMetric(float64(n), "answer-bytes")
}

// BenchmarkMapDelta100k changes one instance's status, then answers a
// watcher current just before. The fleet outlives one run (-count), so
// the status set is always the other one than the instance has.
func BenchmarkMapDelta100k(b *testing.B) {
	f := benchFleetOf(b)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		at := f.r.Index()
		f.r.mu.Lock()
		next := StatusCritical
		if f.r.instances["in-000002"].status == codeCritical {
			next = StatusWarning
		}
		f.r.mu.Unlock()
		if _, err := f.r.Heartbeat("in-000002", Heartbeat{Status: next}); err != nil {
			b.Fatal(err)
		}
		d := f.r.MapDelta(MapQuery{}, at)
		if d.Full != nil || len(d.Changed) != 1 {
			b.Fatalf("want a delta of one instance, got full=%v changed=%d", d.Full != nil, len(d.Changed))
		}
		n = encodeBench(b, d)
	}
	b.ReportMetric(float64(n), "answer-bytes")
}
