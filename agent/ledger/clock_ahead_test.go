package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// An agent whose clock is ahead of home's counts its usage in a period home
// has not reached yet (home takes minutes up to an hour ahead of its clock:
// "agents' clocks drift", usage/batch.go); one whose clock is behind
// reports the usage of its minute once home has left it. Either way, once
// home acknowledged that usage the agent must still count it against the
// limit. README, "Overshoot bound": the overshoot "is at most (N − 1) ×
// (one agent's request rate for that application) × (report interval +
// round trip), and zero with one agent". Home's reply carried only the
// totals of its own current periods, so the agent dropped its acknowledged
// usage from pending and found no total for it: one agent let a minute's
// limit through again after every report, for as long as the clocks
// differed.
func TestAcknowledgedUsageStillCountsWhenTheAgentsClockDiffers(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home := co.Home(t)
	ctx := context.Background()
	m := newMeteredService(t, co, "drift")
	svc, metric, plan := m.svc, m.metric, m.plan
	co.Create(t, fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, metric), "period=minute&value=3")
	limit := &composition.UsageLimit{PlanID: plan, MetricID: metric, Period: "minute", Value: 3}
	calls := []composition.Hit{{MetricID: metric, Delta: 1}}

	for _, tc := range []struct {
		name  string
		drift time.Duration // the agent's clock against home's: never reaching home's minute while the test runs
	}{
		{"ahead", 2 * time.Minute},
		{"behind", -2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := m.app(t, tc.name)
			application := &composition.Application{ID: app, ServiceID: svc, PlanID: plan}
			id := "drift-" + tc.name
			l, err := New(t.TempDir(), id, func() int64 { return svc }, zerolog.Nop())
			require.NoError(t, err)
			agentNow := time.Now().Add(tc.drift)
			l.clock = func() time.Time { return agentNow }
			_, err = home.Register(ctx, id, &registry.Registration{Service: "drift", Address: "127.0.0.1", Port: 8080})
			require.NoError(t, err)

			minute, _ := composition.PeriodBounds("minute", agentNow)
			gateway := func(current composition.Counter) bool { // the gateway's check
				return !composition.ExceedsLimits([]*composition.UsageLimit{limit}, application, calls, current, agentNow)
			}
			for i := range 3 {
				require.NoError(t, l.Admit(app, calls, agentNow, gateway), "call %d is within the limit of 3 a minute", i+1)
			}
			require.ErrorIs(t, l.Admit(app, calls, agentNow, gateway), composition.ErrLimitsExceeded, "the 4th call of the minute is refused")

			l.cut()
			require.True(t, l.persistAll())
			require.NoError(t, l.flush(ctx, home))
			require.Equal(t, 0, l.spooled(), "home acknowledged the batch")
			assert.EqualValues(t, 3, statsTotal(t, co, app, "calls"), "home counted the 3 calls")

			assert.EqualValues(t, 3, l.Current(app, metric, "minute", minute),
				"the agent's minute still holds the 3 calls home acknowledged")
			assert.ErrorIs(t, l.Admit(app, calls, agentNow, gateway), composition.ErrLimitsExceeded,
				"a 4th call in the same minute is still refused after the report")
		})
	}
}
