package usage

import (
	"testing"
	"time"
)

// BenchmarkAlertCheck is what Counted adds to each count once an
// application's traffic of the day is known: without alert limits, with
// alert limits its utilization has not reached (the utilization is read
// every time, as apisonator does), and with its highest alert limit already
// notified.
func BenchmarkAlertCheck(b *testing.B) {
	now := time.Now().UTC()
	for _, c := range []struct {
		name   string
		limits []int
		usage  int64
	}{
		{"no_alert_limits", nil, 1},
		{"alert_limits_below", []int{50, 100}, 1},
		{"alert_limits_notified", []int{50, 100}, 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := newAlertsFixture(b, "day", c.limits, 0, now)
			f.use(b, f.app, c.usage, now)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				f.alerts.Counted(f.svc.ID, f.app, now)
			}
		})
	}
}
