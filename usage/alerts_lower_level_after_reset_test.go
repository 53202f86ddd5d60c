package usage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A level of its own is quiet for 24 hours, not every level below the
// highest: apisonator's Alerts.update_utilization
// (3scale/apisonator lib/3scale/backend/alerts.rb) keeps one
// "…/app_id:A/<discrete>/already_notified" key per discrete level, with
// ALERT_TTL, and raises a level whenever its own key is absent. So an
// application that hit 100 % of its daily limit late on one day and 50 %
// early the next is alerted at 50 % the next day, though the 100 % alert
// is less than 24 hours old.
func TestAlertsRaiseALowerLevelWhileTheHighestIsQuiet(t *testing.T) {
	evening := time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC)
	f := newAlertsFixture(t, "day", []int{50, 100}, 0, evening)
	f.use(t, f.app, 10, evening) // 100 % of the day's 10
	assert.Equal(t, []int{100}, levels(f.alerts.Events()))

	morning := evening.Add(2 * time.Hour) // the next UTC day: its counter starts over
	f.use(t, f.app, 5, morning)           // 50 % of the new day's 10
	assert.Equal(t, []int{100, 50}, levels(f.alerts.Events()),
		"50 %% was never notified: apisonator raises it though 100 %% is still quiet")

	f.use(t, f.app, 1, morning.Add(time.Minute)) // 60 %: still 50, notified now
	assert.Equal(t, []int{100, 50}, levels(f.alerts.Events()))
	f.use(t, f.app, 4, morning.Add(2*time.Minute)) // 100 %: quiet until 23:00
	assert.Equal(t, []int{100, 50}, levels(f.alerts.Events()), "100 %% is quiet for 24 h from its alert")
}
