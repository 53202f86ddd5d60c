package ledger

import (
	"os"
	"slices"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// cutLocked moves the open batch to the spool; the reporter writes its file.
func (l *Ledger) cutLocked() {
	l.broken = false
	if len(l.open) == 0 && len(l.openGlobal) == 0 {
		if l.journal != nil { // a journal whose only write failed
			l.journal.Close()
			os.Remove(l.journal.Name())
			l.journal = nil
		}
		return
	}
	seq := l.openSeq
	if seq == 0 {
		// No error without a cache dir, and with one the journal has it, but
		// for a batch of rate limit counts only: those wait for the next cut.
		var err error
		if seq, err = l.nextSeqLocked(); err != nil {
			return
		}
	}
	sb := &spoolBatch{seq: seq, journal: l.journal, written: l.dir == "", cut: l.now(),
		batch: registry.UsageBatch{ID: l.batchID(seq), Instance: l.instance, Entries: entriesOf(l.open),
			Limiters: l.globalEntriesLocked(), SentWith: l.sentWithLocked()}}
	sb.size = estimateSize(len(sb.batch.Entries), l.openLimiterBytes)
	l.spool = append(l.spool, sb)
	l.spoolBytes += sb.size
	l.open = make(map[usageKey]int64, len(l.open))
	l.openPieces, l.openLimiterBytes = 0, 0
	l.journal, l.openSeq, l.journalLen = nil, 0, 0
}

// estimateSize is a batch's JSON size before it is written, as the spool's
// byte bound counts it: its entries and limiter counts at their most, its
// own fields as they usually are (batchJSONTypical). The body bound is
// checked with the most those fields could be (fitsLocked): charging every
// spooled batch that much would fill the spool's bytes long before its
// count of batches.
func estimateSize(entries int, limiterBytes int64) int64 {
	return batchJSONTypical + int64(entries)*entryJSONMax + limiterBytes
}

// entriesOf returns usage as batch entries, oldest minute first. A count
// over composition.MaxUsageDelta, the most home takes in one entry, is
// sent as several entries of the same key: home adds them up.
func entriesOf(m map[usageKey]int64) []registry.UsageEntry {
	out := make([]registry.UsageEntry, 0, len(m))
	for k, d := range m {
		for ; d > composition.MaxUsageDelta; d -= composition.MaxUsageDelta {
			out = append(out, registry.UsageEntry{ApplicationID: k.app, MetricID: k.metric, Minute: k.minute, Delta: composition.MaxUsageDelta})
		}
		out = append(out, registry.UsageEntry{ApplicationID: k.app, MetricID: k.metric, Minute: k.minute, Delta: d})
	}
	slices.SortFunc(out, func(a, b registry.UsageEntry) int {
		if a.Minute != b.Minute {
			return cmpInt(a.Minute, b.Minute)
		}
		if a.ApplicationID != b.ApplicationID {
			return cmpInt(a.ApplicationID, b.ApplicationID)
		}
		return cmpInt(a.MetricID, b.MetricID)
	})
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// unspoolLocked forgets the oldest batch (acknowledged or rejected by home):
// its usage is no longer pending.
func (l *Ledger) unspoolLocked(sb *spoolBatch) {
	if len(l.spool) == 0 || l.spool[0] != sb {
		return
	}
	l.spool[0] = nil
	l.spool = l.spool[1:]
	l.spoolBytes -= sb.size
	l.unspoolGlobalsLocked(sb.batch.Limiters)
	for _, e := range sb.batch.Entries {
		starts := periodStarts(e.Minute)
		l.addLocked(e.ApplicationID, e.MetricID, &starts, -e.Delta)
	}
}

// acked takes home's answer to a batch (nil for a poll): the batch's usage
// is in home's totals now, so it stops counting as pending, in one step.
func (l *Ledger) acked(sb *spoolBatch, totals []registry.UsageTotal, now time.Time) {
	l.ackedWith(sb, totals, nil, now)
}

// ackedWith is acked with home's counts of rate limit windows too; nil
// limiters is a home that does not count them (older than them): this
// agent's counts are then the totals, as without home.
func (l *Ledger) ackedWith(sb *spoolBatch, totals []registry.UsageTotal, limiters []registry.LimiterCount, now time.Time) {
	l.mu.Lock()
	if sb != nil {
		l.unspoolLocked(sb)
		if limiters == nil {
			l.addGlobalsHomeLocked(sb.batch.Limiters)
		}
	}
	l.mergeTotalsLocked(totals, now)
	l.mergeGlobalsLocked(limiters, now)
	l.mu.Unlock()
	if sb != nil {
		l.forget(sb)
	}
	l.saveTotals()
}

// mergeTotalsLocked takes home's totals: a total only grows, and one of a
// period that has ended by now is dropped.
func (l *Ledger) mergeTotalsLocked(totals []registry.UsageTotal, now time.Time) {
	for _, t := range totals {
		p, ok := periodIndex(t.Period)
		if !ok {
			continue
		}
		c, start := l.countersLocked(t.ApplicationID, t.MetricID), t.Start.Unix()
		if d := t.Value - countOf(c.home[p], start); d > 0 {
			c.home[p] = addCount(c.home[p], start, d)
			l.totalsDirty = true
		}
	}
	starts := periodStarts(now.Unix() / 60)
	for k, c := range l.counts {
		for p := range numPeriods {
			h := c.home[p][:0]
			for _, pc := range c.home[p] {
				if pc.start >= starts[p] {
					h = append(h, pc)
				}
			}
			c.home[p] = h
		}
		if c.empty() {
			delete(l.counts, k)
		}
	}
}

// spooled returns the number of unacknowledged batches (cut, not acknowledged).
func (l *Ledger) spooled() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.spool)
}

// Backlog is how far behind home the usage reports are: the batches cut
// and not acknowledged yet, and how long ago the oldest of them was cut (0
// when home has all the usage cut so far).
func (l *Ledger) Backlog(now time.Time) (batches int, oldest time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.spool) == 0 {
		return 0, 0
	}
	return len(l.spool), max(now.Sub(l.spool[0].cut), 0)
}
