package composition

import (
	"strconv"
	"testing"
	"time"
)

// authBench is a service with n user_key applications on one plan that limits
// hits by the minute and the day.
func authBench(b *testing.B, n int) (*Composition, int64, []string, int64) {
	b.Helper()
	tx := NewTx(New(), testNow)
	svc, hits := createService(b, tx, "S", "1")
	plan := createPlan(b, tx, svc.ID, "Basic", true)
	acct := createAccount(b, tx, "A")
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		if err := tx.Create(&Application{AccountID: acct.ID, PlanID: plan.ID, Name: keys[i], UserKey: keys[i]}); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range []string{"minute", "day"} {
		if err := tx.Create(&UsageLimit{PlanID: plan.ID, MetricID: hits.ID, Period: p, Value: 1 << 40}); err != nil {
			b.Fatal(err)
		}
	}
	return tx.Result(), svc.ID, keys, hits.ID
}

// Authenticate + CheckLimits, the decision the gateway and authorize make,
// with the scan (Composition.Authenticate) and with an AppIndex, for 10 and
// 10 000 applications.
func BenchmarkAuthorizeDecision(b *testing.B) {
	zero := func(int64, int64, string, time.Time) int64 { return 0 }
	for _, n := range []int{10, 10000} {
		c, sid, keys, hits := authBench(b, n)
		usage := []Hit{{MetricID: hits, Delta: 1}}
		ix := NewAppIndex(c, sid)
		for _, mode := range []string{"scan", "index"} {
			b.Run(mode+"/apps="+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				now := time.Now()
				for i := 0; b.Loop(); i++ {
					cred := Credentials{UserKey: keys[i%len(keys)]}
					var app *Application
					var d *Denial
					if mode == "scan" {
						app, _, d = c.Authenticate(sid, cred)
					} else {
						app, _, d = ix.Authenticate(cred)
					}
					if d != nil {
						b.Fatal(d.Reason)
					}
					if _, exceeded := c.CheckLimits(app, usage, zero, now); exceeded {
						b.Fatal("exceeded")
					}
				}
			})
		}
	}
}
