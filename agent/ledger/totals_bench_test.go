package ledger

import (
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// What keeping home's last totals costs a ledger of many applications:
// the snapshot taken under the ledger's lock (what Admit waits behind) and
// the whole save (snapshot, JSON, an atomic write with its fsyncs), for
// 1,000 and 28,000 applications of one metric in every period (7,000 and
// 196,000 entries, the latter near maxSavedTotals).
func BenchmarkTotalsSave(b *testing.B) {
	for _, apps := range []int{1000, 28000} {
		l, err := New(b.TempDir(), "bench", func() int64 { return 1 }, zerolog.Nop())
		require.NoError(b, err)
		now := time.Now()
		var totals []registry.UsageTotal
		for app := range apps {
			for _, p := range composition.Periods {
				start, _ := composition.PeriodBounds(p, now)
				totals = append(totals, registry.UsageTotal{ApplicationID: int64(app + 1), MetricID: 1, Period: p, Start: start, Value: 5})
			}
		}
		l.mu.Lock()
		l.mergeTotalsLocked(totals, now)
		l.mu.Unlock()
		b.Run("snapshot/"+strconv.Itoa(apps), func(b *testing.B) {
			for b.Loop() {
				l.mu.Lock()
				l.snapshotTotalsLocked(1)
				l.mu.Unlock()
			}
		})
		b.Run("save/"+strconv.Itoa(apps), func(b *testing.B) {
			for b.Loop() {
				l.mu.Lock()
				l.totalsDirty, l.totalsEntries = true, 0 // no gap: write every time
				l.mu.Unlock()
				l.saveTotals()
			}
		})
	}
}
