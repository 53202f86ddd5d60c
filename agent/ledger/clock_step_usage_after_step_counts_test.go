package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
)

// A Raspberry Pi has no RTC: its agent starts with the clock at 1970 (or at
// the last shutdown) and NTP steps it forward minutes later, while the
// gateway already serves. The usage it counted before the step carries
// minutes outside home's window (usage/batch.go: a week behind, an hour
// ahead), and the open batch mixes them with minutes counted after the
// step. Home refused the whole batch (422), so the agent set it aside: the
// calls made right after the step were never counted either. Oracle:
// apisonator counts no transaction outside its window
// (lib/3scale/backend/transaction.rb, ensure_on_time!, TooOld/TooNew), and
// home cannot tell such an entry from a batch older than the ids it
// remembers (counting it could count it twice); the entries beside it in
// the batch are usage like any other, and count.
func TestUsageCountedAfterAClockStepCountsBesideEntriesOutOfWindow(t *testing.T) {
	co := testenv.StartCoordinator(t)
	home := co.Home(t)
	ctx := context.Background()
	m := newMeteredService(t, co, "pi")
	svc, metric := m.svc, m.metric

	for _, tc := range []struct {
		name  string
		early time.Time // the agent's clock before NTP answers
	}{
		{"booted at 1970", time.Unix(5*60, 0)},
		{"a VM resumed eight days later", time.Now().Add(-8 * 24 * time.Hour)},
		{"stepped back from two hours ahead", time.Now().Add(2 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := m.app(t, fmt.Sprintf("app%d", time.Now().UnixNano()))
			id := fmt.Sprintf("pi-%d", time.Now().UnixNano())
			dir := t.TempDir()
			l, err := New(dir, id, func() int64 { return svc }, zerolog.Nop())
			require.NoError(t, err)
			_, err = home.Register(ctx, id, &registry.Registration{Service: "pi", Address: "127.0.0.1", Port: 8080})
			require.NoError(t, err)
			calls := func(n int64) []composition.Hit { return []composition.Hit{{MetricID: metric, Delta: n}} }

			clock := tc.early
			l.clock = func() time.Time { return clock }
			require.NoError(t, l.Admit(app, calls(2), clock, admitAny), "served before NTP answered")
			clock = time.Now() // NTP steps the clock within the report interval
			require.NoError(t, l.Admit(app, calls(3), clock, admitAny), "served after the step")
			l.cut()
			require.NoError(t, l.Admit(app, calls(4), clock, admitAny), "the next batch")
			l.cut()
			require.True(t, l.persistAll())
			require.NoError(t, l.flush(ctx, home))
			assert.Equal(t, 0, l.spooled(), "home acknowledged both batches")
			rejected, _ := filepath.Glob(filepath.Join(dir, usageDir, "*"+rejectedSuffix))
			assert.Empty(t, rejected, "no batch set aside for its agent's clock")
			assert.EqualValues(t, 7, statsTotal(t, co, app, "calls"), "every call counted after the step, once")
		})
	}
}
