package testenv

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"
)

// composeWriters is how many Admin API writes ComposeLarge sends at once.
const composeWriters = 8

// ComposeLarge makes a large provider's composition on c through the
// Admin API: services named name(i) (system names svc0000, svc0001, …),
// each with a plan "basic", and appsPer accounts each holding one
// application of every service. It returns the services' ids.
func (c *Coordinator) ComposeLarge(t testing.TB, services, appsPer int, name func(i int) string) []string {
	t.Helper()
	sids, plans := make([]string, services), make([]string, services)
	start := time.Now()
	InParallel(services, func(i int) {
		sids[i] = c.Create(t, "/admin/api/services.json", "name="+url.QueryEscape(name(i))+fmt.Sprintf("&system_name=svc%04d", i))
		plans[i] = c.Create(t, "/admin/api/services/"+sids[i]+"/application_plans.json", "name=Basic&system_name=basic")
	})
	accounts := make([]string, appsPer)
	InParallel(appsPer, func(j int) {
		accounts[j] = c.Create(t, "/admin/api/signup.json",
			fmt.Sprintf("org_name=Org%d&username=user%d&email=u%d@example.com&password=s3cret-pass&application_plan_id=%s", j, j, j, plans[0]))
	})
	InParallel(services*appsPer, func(k int) {
		i, j := k/appsPer, k%appsPer
		if i == 0 {
			return // the signup made it
		}
		c.Create(t, "/admin/api/accounts/"+accounts[j]+"/applications.json", fmt.Sprintf("name=A%d-%d&plan_id=%s", i, j, plans[i]))
	})
	t.Logf("composition of %d services × %d applications made in %v", services, appsPer, time.Since(start))
	return sids
}

// InParallel runs f(0..n-1) on composeWriters goroutines.
func InParallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range composeWriters {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
