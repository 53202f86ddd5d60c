package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// The reporter against a real home: usage is counted once even when a batch
// is sent twice (a lost reply), home's totals come back into the ledger, and
// a batch home refuses for good is set aside on disk instead of blocking the
// ones after it.
func TestUsageReporterAgainstHome(t *testing.T) {
	co := testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	svc := num(co.Create(t, "/admin/api/services.json", "name=Rep&system_name=rep"))
	metric := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
	plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=P"))
	co.Create(t, fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits.json", plan, metric), "period=hour&value=1000")
	acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=Org&username=bob&email=bob@example.com&password=s3cret-pass&application_plan_id=%d", plan)))
	app := num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=second&plan_id=%d", plan)))
	// An application of another service: usage home refuses for good.
	otherSvc := num(co.Create(t, "/admin/api/services.json", "name=Other&system_name=other"))
	otherPlan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", otherSvc), "name=P"))
	otherApp := num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=other&plan_id=%d", otherPlan)))

	dir := t.TempDir()
	l, err := New(dir, "rep-test", func() int64 { return svc }, zerolog.Nop())
	require.NoError(t, err)
	home := co.Home(t)
	ctx := context.Background()
	// home takes usage only from a registered instance of the service
	_, err = home.Register(ctx, "rep-test", &registry.Registration{Service: "rep", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	now := time.Now()
	hour, _ := composition.PeriodBounds("hour", now)
	calls := func(n int64) composition.Hit { return composition.Hit{MetricID: metric, Delta: n} }

	require.NoError(t, l.Admit(app, []composition.Hit{calls(3)}, now, admitAny))
	require.NoError(t, l.Admit(otherApp, []composition.Hit{calls(1)}, now, admitAny))
	l.cut()
	require.NoError(t, l.Admit(app, []composition.Hit{calls(4)}, now, admitAny))
	l.cut()
	require.True(t, l.persistAll())
	_, err = home.PostUsage(ctx, &l.spool[0].batch)
	require.Error(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, client.StatusCode(err), "another service's application: refused for good")

	require.NoError(t, l.flush(ctx, home))
	assert.Equal(t, 0, l.spooled(), "the refused batch is set aside, the next one is sent")
	rejected, _ := filepath.Glob(filepath.Join(dir, usageDir, "*"+rejectedSuffix))
	assert.Len(t, rejected, 1, "never silently dropped")
	assert.EqualValues(t, 4, l.Current(app, metric, "hour", hour), "home's total")
	assert.EqualValues(t, 4, statsTotal(t, co, app, "calls"))

	// A batch sent again after a lost reply is counted once.
	require.NoError(t, l.Admit(app, []composition.Hit{calls(5)}, now, admitAny))
	l.cut()
	require.True(t, l.persistAll())
	reply, err := home.PostUsage(ctx, &l.spool[0].batch)
	require.NoError(t, err)
	assert.False(t, reply.Duplicate)
	require.NoError(t, l.flush(ctx, home)) // the reporter never saw that reply
	assert.EqualValues(t, 9, statsTotal(t, co, app, "calls"))
	assert.EqualValues(t, 9, l.Current(app, metric, "hour", hour), "counted once here too")
	left, _ := filepath.Glob(filepath.Join(dir, usageDir, "*"+batchSuffix))
	assert.Empty(t, left, "acknowledged batches are removed")
}

func statsTotal(t *testing.T, co *testenv.Coordinator, app int64, metric string) int64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/stats/applications/%d/usage.json?metric_name=%s&period=eternity&access_token=%s", co.URL, app, metric, co.Token))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var u struct{ Total int64 }
	require.NoError(t, json.Unmarshal(b, &u))
	return u.Total
}

// A spooled batch of a service the instance is no longer placed in is set
// aside, and the batches behind it reach home.
func TestUsageBatchOfAnotherServiceIsSetAside(t *testing.T) {
	co := testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	mk := func(name string) (svc, metric, app int64) {
		svc = num(co.Create(t, "/admin/api/services.json", "name="+name+"&system_name="+name))
		metric = num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
		plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=P"))
		acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=%s&username=%s&email=%s@example.com&password=s3cret-pass&application_plan_id=%d", name, name, name, plan)))
		app = num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=%s&plan_id=%d", name, plan)))
		return svc, metric, app
	}
	svcA, metricA, appA := mk("reva")
	svcB, metricB, appB := mk("revb")
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Now()

	// The first incarnation, placed in service A, cuts and spools a batch
	// and stops before home acknowledged it.
	la, err := New(dir, "rev-a", func() int64 { return svcA }, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, la.Admit(appA, []composition.Hit{{MetricID: metricA, Delta: 1}}, now, admitAny))
	la.cut()
	require.True(t, la.persistAll())

	// The next one on the same cache dir is placed in service B.
	lb, err := New(dir, "rev-b", func() int64 { return svcB }, zerolog.Nop())
	require.NoError(t, err)
	home := co.Home(t)
	_, err = home.Register(ctx, "rev-b", &registry.Registration{Service: "revb", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	require.NoError(t, lb.Admit(appB, []composition.Hit{{MetricID: metricB, Delta: 1}}, now, admitAny))
	lb.cut()
	require.True(t, lb.persistAll())
	for range 3 { // three report intervals
		err := lb.flush(ctx, home)
		t.Logf("report: HTTP %d: %v", client.StatusCode(err), err)
	}
	assert.Equal(t, 0, lb.spooled(), "the spool drains")
	assert.EqualValues(t, 1, statsTotal(t, co, appB, "calls"), "service B's usage reaches home")
}
