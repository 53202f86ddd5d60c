package ledger

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// An agent whose clock runs ahead of home's counts its usage in a period
// home has not reached yet (home takes minutes up to an hour ahead of its
// clock: "agents' clocks drift", usage/batch.go). Once home acknowledged
// that usage, the agent must still count it against the limit. README,
// "Overshoot bound": the overshoot "is at most (N − 1) × (one agent's
// request rate for that application) × (report interval + round trip), and
// zero with one agent". Home's reply carried only the totals of its own
// current periods, so the agent dropped its acknowledged usage from
// pending and found no total for it: one agent let through a minute's
// limit again after every report.
func TestUsageOfAPeriodHomeHasNotReachedStillCountsAfterItsReply(t *testing.T) {
	co := testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	svc := num(co.Create(t, "/admin/api/services.json", "name=Ahead&system_name=ahead"))
	metric := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
	plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=P"))
	co.Create(t, fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, metric), "period=minute&value=3")
	acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=Org&username=ann&email=ann@example.com&password=s3cret-pass&application_plan_id=%d", plan)))
	app := num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=ahead&plan_id=%d", plan)))
	limit := &composition.UsageLimit{PlanID: plan, MetricID: metric, Period: "minute", Value: 3}
	application := &composition.Application{ID: app, ServiceID: svc, PlanID: plan}

	l, err := New(t.TempDir(), "ahead-test", func() int64 { return svc }, zerolog.Nop())
	require.NoError(t, err)
	home := co.Home(t)
	ctx := context.Background()
	_, err = home.Register(ctx, "ahead-test", &registry.Registration{Service: "ahead", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)

	// The agent's clock: two minutes ahead of home's, so that home does not
	// reach the agent's minute while the test runs.
	agentNow := time.Now().Add(2 * time.Minute)
	minute, _ := composition.PeriodBounds("minute", agentNow)
	calls := []composition.Hit{{MetricID: metric, Delta: 1}}
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
}

// The other way round: an agent whose clock is behind home's reports the
// usage of its minute once home has left that minute. Home's reply carried
// only its own current minute, so the agent, still in its minute, dropped
// the acknowledged usage from pending and found no total for it: the same
// overshoot as above, for as long as the clocks differ at every period's
// end. README, "Overshoot bound": "zero with one agent".
func TestUsageOfAPeriodHomeHasLeftStillCountsAfterItsReply(t *testing.T) {
	co := testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	svc := num(co.Create(t, "/admin/api/services.json", "name=Behind&system_name=behind"))
	metric := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
	plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=P"))
	co.Create(t, fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, metric), "period=minute&value=3")
	acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=Org&username=bea&email=bea@example.com&password=s3cret-pass&application_plan_id=%d", plan)))
	app := num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=behind&plan_id=%d", plan)))
	limit := &composition.UsageLimit{PlanID: plan, MetricID: metric, Period: "minute", Value: 3}
	application := &composition.Application{ID: app, ServiceID: svc, PlanID: plan}

	l, err := New(t.TempDir(), "behind-test", func() int64 { return svc }, zerolog.Nop())
	require.NoError(t, err)
	// The agent's clock: two minutes behind home's.
	agentNow := time.Now().Add(-2 * time.Minute)
	l.clock = func() time.Time { return agentNow }
	home := co.Home(t)
	ctx := context.Background()
	_, err = home.Register(ctx, "behind-test", &registry.Registration{Service: "behind", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)

	minute, _ := composition.PeriodBounds("minute", agentNow)
	calls := []composition.Hit{{MetricID: metric, Delta: 1}}
	gateway := func(current composition.Counter) bool {
		return !composition.ExceedsLimits([]*composition.UsageLimit{limit}, application, calls, current, agentNow)
	}
	for i := range 3 {
		require.NoError(t, l.Admit(app, calls, agentNow, gateway), "call %d is within the limit of 3 a minute", i+1)
	}
	l.cut()
	require.True(t, l.persistAll())
	require.NoError(t, l.flush(ctx, home))
	require.Equal(t, 0, l.spooled(), "home acknowledged the batch")
	assert.EqualValues(t, 3, statsTotal(t, co, app, "calls"), "home counted the 3 calls")

	assert.EqualValues(t, 3, l.Current(app, metric, "minute", minute),
		"the agent's minute still holds the 3 calls home acknowledged")
	assert.ErrorIs(t, l.Admit(app, calls, agentNow, gateway), composition.ErrLimitsExceeded,
		"a 4th call in the same minute is still refused after the report")
}
