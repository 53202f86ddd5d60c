package agent_test

import (
	"fmt"
	"sync"
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
	const services, appsPer, writers = 1000, 10, 8
	co := testenv.StartCoordinator(b)
	plans := make([]string, services)
	each := func(n int, f func(i int)) {
		var wg sync.WaitGroup
		next := make(chan int)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					f(i)
				}
			}()
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	start := time.Now()
	each(services, func(i int) {
		sid := co.Create(b, "/admin/api/services.json", fmt.Sprintf("name=S%d&system_name=svc%d", i, i))
		plans[i] = co.Create(b, "/admin/api/services/"+sid+"/application_plans.json", "name=Basic")
	})
	accounts := make([]string, appsPer)
	each(appsPer, func(j int) {
		accounts[j] = co.Create(b, "/admin/api/signup.json",
			fmt.Sprintf("org_name=Org%d&username=user%d&email=u%d@example.com&password=s3cret-pass&application_plan_id=%s", j, j, j, plans[0]))
	})
	each(services*appsPer, func(k int) {
		i, j := k/appsPer, k%appsPer
		if i == 0 {
			return // the signup made it
		}
		co.Create(b, "/admin/api/accounts/"+accounts[j]+"/applications.json",
			fmt.Sprintf("name=A%d-%d&plan_id=%s", i, j, plans[i]))
	})
	b.Logf("composition of %d services × %d applications made in %v", services, appsPer, time.Since(start))
	for i := 0; i < b.N; i++ {
		a := testenv.StartAgent(b, co, "--service", "svc500", "--gateway-listen", testenv.FreeAddr(b),
			"--upstream", "http://127.0.0.1:1", "--heartbeat", "1s", "--", "sleep", "60")
		a.ID()
		time.Sleep(5 * time.Second) // a few heartbeats, as BenchmarkIdleRSS
		b.ReportMetric(float64(rssKiB(b, a.PID())), "agent-RSS-KiB")
		a.Kill9()
	}
}
