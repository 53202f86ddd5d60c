package coordinator

import (
	"context"
	"time"
)

// Home's usage memory follows the composition: the usage store holds the
// counters of the current periods of every application with usage, and
// eternity's never end, so each application deleted would stay in memory
// for good (and be loaded again at each start). retainUsage drops them
// when they leave the composition (usage.Store.Retain).
const (
	// retainUsageGap is the least time between two passes: a burst of
	// composition writes (an import) costs one pass a second at most.
	retainUsageGap = time.Second
	// retainUsageEvery is a pass without a new revision: an application's
	// usage applied just after its pass (a batch checked against the
	// snapshot before the deletion) leaves at the next one.
	retainUsageEvery = 5 * time.Minute
)

// startUsageRetain runs retainUsage until stop is called.
func (c *Coordinator) startUsageRetain() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.retainUsage(ctx) }()
	return func() { cancel(); <-done }
}

// retainUsage drops from the usage store's memory the applications the
// composition no longer has: at start (usage.db holds those deleted
// before), at each new revision and every retainUsageEvery.
func (c *Coordinator) retainUsage(ctx context.Context) {
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		snap := c.store.Snapshot()
		if n := c.usage.Retain(func(app int64) bool { _, ok := snap.Applications.Get(app); return ok }); n > 0 {
			c.cfg.Logger.Debug().Int("applications", n).Uint64("revision", snap.Revision).
				Msg("usage counters of deleted applications dropped from memory")
		}
		wctx, cancel := context.WithTimeout(ctx, retainUsageEvery)
		_, _ = c.store.Wait(wctx, snap.Revision) // a newer revision, or the periodic pass
		cancel()
		gap.Reset(retainUsageGap)
		select {
		case <-ctx.Done():
			return
		case <-gap.C:
		}
	}
}
