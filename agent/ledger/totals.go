package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
)

// Home's last totals across a restart. A partitioned agent enforces home's
// last totals plus its own usage; one restarted while home is away would
// otherwise know only its own spooled usage, and admit a limit home's
// totals had used up (by other agents, authrep, or its own acknowledged
// usage) all over again. So the totals home answered, plan counters and
// global rate limit windows, are kept in <cache-dir>/usage-totals.json (written
// atomically when a reply changed them, or the placement's service) and
// read back at start: only those of the periods and windows not ended, and
// not when the agent is placed in another service than they were answered
// for. They are what home answered this agent over its
// authenticated connection, kept in the agent's private cache dir as the
// batches are (beside the spool, not in it: the spool holds batches and
// their journals); home's next reply replaces them.

const (
	totalsFileName = "usage-totals.json" // in the cache dir, beside usageDir
	// maxTotalsBytes bounds the file read back: the most the ledger keeps
	// (counters of the applications it saw, maxGlobalKeys windows) is far less.
	maxTotalsBytes = 64 << 20
	// maxSavedTotals bounds the plan counters written, as maxGlobalKeys
	// bounds the windows.
	maxSavedTotals = 200_000
	// totalsEntriesPerSecond bounds how much of the file is written, on
	// average: one of N entries is written again at most every
	// N/totalsEntriesPerSecond seconds (a small ledger at every reply that
	// changed it, one of 200,000 entries, some 10 MB, every 200 s rather
	// than every second), so a restart finds totals that old at most.
	totalsEntriesPerSecond = 1000
)

// totalsFile is the totals file: home's last totals of a service.
type totalsFile struct {
	Service int64 `json:"service"`
	// Counters are [application, metric, period index, period start (unix), value].
	Counters [][5]int64              `json:"counters"`
	Limiters []registry.LimiterCount `json:"limiters"`
}

// snapshotTotalsLocked returns home's last totals as the totals file holds
// them, and clears totalsDirty.
func (l *Ledger) snapshotTotalsLocked(service int64) *totalsFile {
	l.totalsDirty = false
	// Sized as the last save's, or as a counter a period: growing the
	// slice under the lock would copy it again and again.
	f := &totalsFile{Service: service, Counters: make([][5]int64, 0, min(max(l.totalsEntries, len(l.counts)*numPeriods), maxSavedTotals)),
		Limiters: []registry.LimiterCount{}}
	for k, c := range l.counts {
		for p := range numPeriods {
			for _, pc := range c.home[p] {
				if len(f.Counters) < maxSavedTotals {
					f.Counters = append(f.Counters, [5]int64{k.app, k.metric, int64(p), pc.start, pc.n})
				}
			}
		}
	}
	for k, g := range l.globals {
		if g.home > 0 {
			f.Limiters = append(f.Limiters, registry.LimiterCount{Key: k.key, Start: k.start, Window: k.window, Value: g.home})
		}
	}
	return f
}

// saveTotals writes home's last totals to the cache dir when a reply
// changed them (a large ledger's at most every totalsEntriesPerSecond
// entries a second, on average). A failure is logged (once until a write succeeds), not
// fatal: the totals are kept in memory, and the next reply writes them again.
func (l *Ledger) saveTotals() {
	if l.dir == "" {
		return
	}
	service := l.service()
	now := l.now()
	l.mu.Lock()
	gap := time.Duration(l.totalsEntries/totalsEntriesPerSecond) * time.Second
	if service == 0 || service == l.totalsService && (!l.totalsDirty || now.Before(l.totalsSavedAt.Add(gap))) {
		l.mu.Unlock()
		return
	}
	f := l.snapshotTotalsLocked(service)
	l.totalsService, l.totalsSavedAt, l.totalsEntries = service, now, len(f.Counters)+len(f.Limiters)
	l.mu.Unlock()
	b, err := json.Marshal(f)
	if err == nil {
		err = atomicfile.Write(l.totalsPath(), b, 0o600)
	}
	l.mu.Lock()
	failing := l.totalsFailing
	l.totalsFailing = err != nil
	if err != nil {
		l.totalsDirty = true
	}
	l.mu.Unlock()
	switch {
	case err != nil && !failing: // once, not at every reply while the disk is full
		l.log.Warn().Err(err).Str("file", l.totalsPath()).Msg("home's last usage totals not kept in the cache dir, retrying: an agent restarted while home is away would not enforce them")
	case err == nil && failing:
		l.log.Info().Str("file", l.totalsPath()).Msg("home's last usage totals kept in the cache dir again")
	}
}

// loadTotalsLocked reads back the totals a previous run kept, for the
// service the agent is placed in now, those of periods and windows not
// ended by now.
func (l *Ledger) loadTotalsLocked(now time.Time) error {
	path := l.totalsPath()
	b, err := atomicfile.ReadBounded(path, maxTotalsBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var f totalsFile
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		return fmt.Errorf("read home's last usage totals %s: %w", path, err)
	}
	// Home learns the agent its placement only when it answers; until then
	// the gateway serves the cached composition, of the placement the
	// totals were answered for (both are rewritten from home's answers).
	if service := l.service(); f.Service == 0 || (service != 0 && f.Service != service) {
		return nil // another service's: home's next reply has the totals
	}
	l.totalsService = f.Service
	starts := periodStarts(now.Unix() / 60)
	for _, t := range f.Counters {
		app, metric, p, start, n := t[0], t[1], t[2], t[3], t[4]
		if p < 0 || p >= numPeriods || start < starts[p] || n <= 0 {
			continue
		}
		c := l.countersLocked(app, metric)
		if d := n - countOf(c.home[p], start); d > 0 {
			c.home[p] = addCount(c.home[p], start, d)
		}
	}
	l.mergeGlobalsLocked(f.Limiters, now)
	return nil
}

// totalsPath is the totals file's path: in the cache dir, beside the spool.
func (l *Ledger) totalsPath() string {
	return filepath.Join(filepath.Dir(l.dir), totalsFileName)
}
