package ledger

import (
	"context"
	"fmt"
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

// homeWithApp is a coordinator with a service, a metric, a plan and an
// application, and a ledger of a registered instance placed in the service.
func homeWithApp(t *testing.T) (co *testenv.Coordinator, l *Ledger, home Reporter, metric, app int64, dir string) {
	t.Helper()
	co = testenv.StartCoordinator(t)
	num := func(s string) int64 { n, err := strconv.ParseInt(s, 10, 64); require.NoError(t, err); return n }
	svc := num(co.Create(t, "/admin/api/services.json", "name=Rev&system_name=rev"))
	metric = num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/metrics.json", svc), "friendly_name=Calls&system_name=calls&unit=call"))
	plan := num(co.Create(t, fmt.Sprintf("/admin/api/services/%d/application_plans.json", svc), "name=P"))
	acct := num(co.Create(t, "/admin/api/signup.json", fmt.Sprintf("org_name=Org&username=rev&email=rev@example.com&password=s3cret-pass&application_plan_id=%d", plan)))
	app = num(co.Create(t, fmt.Sprintf("/admin/api/accounts/%d/applications.json", acct), fmt.Sprintf("name=rev&plan_id=%d", plan)))
	dir = t.TempDir()
	var err error
	l, err = New(dir, "bounds-test", func() int64 { return svc }, zerolog.Nop())
	require.NoError(t, err)
	h := co.Home(t)
	_, err = h.Register(context.Background(), "bounds-test", &registry.Registration{Service: "rev", Address: "127.0.0.1", Port: 8080})
	require.NoError(t, err)
	return co, l, h, metric, app, dir
}

// A minute's usage of one application's metric over home's bound of one
// entry's delta (2^40) is counted whole at home.
func TestUsageOverOneEntrysDeltaBoundIsCountedAtHome(t *testing.T) {
	co, l, home, metric, app, dir := homeWithApp(t)
	now := time.Now()
	const perRequest, requests = int64(1) << 30, 1025
	for range requests {
		require.NoError(t, l.Admit(app, []composition.Hit{{MetricID: metric, Delta: perRequest}}, now, admitAny))
	}
	l.cut()
	require.True(t, l.persistAll())
	_, err := home.PostUsage(context.Background(), &l.spool[0].batch)
	t.Logf("home answers the batch: HTTP %d: %v", client.StatusCode(err), err)
	require.NoError(t, l.flush(context.Background(), home))
	rejected, _ := filepath.Glob(filepath.Join(dir, usageDir, "*"+rejectedSuffix))
	assert.Empty(t, rejected, "a batch of admitted usage set aside as rejected")
	assert.EqualValues(t, perRequest*requests, statsTotal(t, co, app, "calls"), "usage the gateway admitted is counted at home")
}

// Many global rate limit windows counted in one report interval are cut
// into batches home takes, with the plan usage beside them.
func TestUsageManyGlobalWindowsMakeBatchesHomeTakes(t *testing.T) {
	co, l, home, metric, app, dir := homeWithApp(t)
	now := time.Now()
	require.NoError(t, l.Admit(app, []composition.Hit{{MetricID: metric, Delta: 1}}, now, admitAny))
	start := now.Truncate(time.Minute)
	for i := range 12000 {
		_, err := l.AddGlobal(fmt.Sprintf("rate-limit/per-client/%040d", i), start, time.Minute, 1)
		require.NoError(t, err)
	}
	l.cut()
	require.True(t, l.persistAll())
	_, err := home.PostUsage(context.Background(), &l.spool[0].batch)
	t.Logf("home answers the batch: HTTP %d: %v", client.StatusCode(err), err)
	require.NoError(t, l.flush(context.Background(), home))
	rejected, _ := filepath.Glob(filepath.Join(dir, usageDir, "*"+rejectedSuffix))
	assert.Empty(t, rejected, "a batch of admitted usage set aside as rejected")
	assert.EqualValues(t, 1, statsTotal(t, co, app, "calls"), "the request the gateway admitted is counted at home")
}

// Close releases the journals; the usage they hold is a batch at the next
// start, and Admit refuses after it.
func TestUsageLedgerCloseKeepsTheJournalsUsage(t *testing.T) {
	dir := t.TempDir()
	l := newTestLedger(t, dir, "i-1")
	l.prepare()
	admitN(t, l, 3, time.Now())
	require.NoError(t, l.Close())
	require.ErrorIs(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, time.Now(), admitAny), errLedgerClosed)
	l2 := newTestLedger(t, dir, "i-2")
	require.Equal(t, 1, l2.spooled(), "the journal's usage is a batch")
	assert.EqualValues(t, 3, l2.spool[0].batch.Entries[0].Delta)
	require.NoError(t, l2.Close())
}

// The spool holds maxSpoolBatches small batches (one entry, one a report
// interval while home is away): its byte bound counts what they hold.
func TestSpoolHoldsItsCountOfSmallBatches(t *testing.T) {
	l := newTestLedger(t, "", "i")
	now := time.Now()
	for i := range maxSpoolBatches {
		admitN(t, l, 1, now)
		l.cut()
		if got := l.spooled(); got != i+1 {
			l.mu.Lock()
			bytes := l.spoolBytes
			l.mu.Unlock()
			t.Fatalf("spool full at %d one-entry batches (spoolBytes %d of %d), want room for %d: the spool is full (no more cuts; the open batch grows until the gateway refuses with 503) about 1,900 seconds of partition earlier than documented",
				got, bytes, int64(maxSpoolBytes), maxSpoolBatches)
		}
	}
	assert.Equal(t, maxSpoolBatches, l.spooled())
}
