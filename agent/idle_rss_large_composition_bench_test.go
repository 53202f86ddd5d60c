package agent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/portolan/portolan/internal/testenv"
)

// BenchmarkIdleRSSLargeComposition reports the resident memory of an idle
// agent (gateway on, command sleep) in a composition of 1,000 services of
// 10 applications each, the size of a large 3scale provider, for
// BENCHMARKS.md. No assertion: a figure to compare with the 64 MiB a small
// container gives.
func BenchmarkIdleRSSLargeComposition(b *testing.B) {
	co := testenv.StartCoordinator(b)
	co.ComposeLarge(b, 1000, 10, func(i int) string { return fmt.Sprintf("S%d", i) })
	for i := 0; i < b.N; i++ {
		a := testenv.StartAgent(b, co, "--service", "svc0500", "--gateway-listen", testenv.FreeAddr(b),
			"--upstream", "http://127.0.0.1:1", "--heartbeat", "1s", "--", "sleep", "60")
		a.ID()
		time.Sleep(5 * time.Second) // a few heartbeats, as BenchmarkIdleRSS
		b.ReportMetric(float64(rssKiB(b, a.PID())), "agent-RSS-KiB")
		a.Kill9()
	}
}
