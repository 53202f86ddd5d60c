package usage

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// The totals of a usage reply stay within what an agent reads, whatever the
// number of applications with usage, and keep those of the batch's
// applications.
func TestUsageReplyTotalsAreBoundedAndKeepTheBatchsApplications(t *testing.T) {
	now := time.Now().UTC()
	// 45,000 applications with usage this month, on plans limiting a metric
	// by minute, hour, day and month: what LimitedTotals keeps.
	const apps, sender = 45000, 100000 + 45000
	limited := make([]registry.UsageTotal, 0, 4*apps)
	for a := int64(1); a <= apps; a++ {
		for _, p := range []string{"minute", "hour", "day", "month"} {
			start, _ := composition.PeriodBounds(p, now)
			limited = append(limited, registry.UsageTotal{ApplicationID: 100000 + a, MetricID: 5, Period: p, Start: start, Value: 1 << 40})
		}
	}
	batch := &registry.UsageBatch{ID: "agent-1-2", ServiceID: 7,
		Entries: []registry.UsageEntry{{ApplicationID: sender, MetricID: 5, Minute: now.Unix() / 60, Delta: 1}}}
	totals := ReplyTotals(limited, batch)
	b, err := json.Marshal(registry.UsageReply{Totals: totals, Limiters: []registry.LimiterCount{}})
	require.NoError(t, err)
	const agentReadsAtMost = 16 << 20 // registry/client.MaxReplyBytes
	require.LessOrEqual(t, len(b), agentReadsAtMost/4, "a reply of %d totals", len(totals))
	senders := 0
	for _, tot := range totals {
		if tot.ApplicationID == sender {
			senders++
		}
	}
	assert.Equal(t, 4, senders, "the totals of the batch's application, one a period, are in the reply")
}
