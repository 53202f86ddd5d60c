package registry

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// benchFleet registers n instances of the news service of newWorld through
// the registry's public API, each as an agent would: its own id, address and
// hostname, two labels (a third of them picked by a placement), then one
// heartbeat with its check's output, decoded afresh as the HTTP handler
// does.
func benchFleet(b testing.TB, r *Registry, n int) {
	b.Helper()
	for i := range n {
		rg := Registration{
			Service: "news", Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 3000,
			Labels:   map[string]string{"pool": []string{"basic", "gold", "free"}[i%3], "zone": "a"},
			Hostname: fmt.Sprintf("news-%08x", i), AgentVersion: "bench", Check: "http GET http://127.0.0.1:3000/health",
		}
		id := fmt.Sprintf("news-host%06d-%08x", i, uint32(i)*2654435761)
		if _, err := r.Register(id, rg); err != nil {
			b.Fatal(err)
		}
		hb := Heartbeat{Status: string([]byte("passing")), Output: string([]byte("HTTP GET http://127.0.0.1:3000/health: 200 OK")), Revision: 1}
		if _, err := r.Heartbeat(id, hb); err != nil {
			b.Fatal(err)
		}
	}
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkRegistryMemory100k reports the heap the registry holds per live
// instance with 100,000 registered (bytes/instance): what one coordinator
// needs in memory for its fleet, connections apart.
func BenchmarkRegistryMemory100k(b *testing.B) {
	const n = 100_000
	_, store := newWorld(b)
	for range b.N {
		before := heapInUse()
		r, err := New(Config{Store: store, TTL: time.Hour, MaxInstances: n, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		benchFleet(b, r, n)
		after := heapInUse()
		b.ReportMetric(float64(after-before)/n, "bytes/instance")
		runtime.KeepAlive(r)
	}
}

// TestMemoryPerInstance holds the registry's heap per instance under the
// 1.5 KB per instance the coordinator may take for its fleet, with room for
// the garbage collector's headroom and the connections: 20,000 instances
// through the public API, at most 1,000 bytes each (590 when written).
func TestMemoryPerInstance(t *testing.T) {
	const n = 20_000
	_, store := newWorld(t)
	before := heapInUse()
	r, err := New(Config{Store: store, TTL: time.Hour, MaxInstances: n, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	benchFleet(t, r, n)
	after := heapInUse()
	runtime.KeepAlive(r)
	if per := float64(after-before) / n; per > 1000 {
		t.Errorf("the registry holds %.0f bytes per instance, more than 1,000", per)
	} else {
		t.Logf("%.0f bytes per instance", per)
	}
}
