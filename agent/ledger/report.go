package ledger

import (
	"context"
	"net/http"
	"time"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// DefaultReportInterval is how often the agent reports usage to home.
const DefaultReportInterval = time.Second

// maxSendsPerTick bounds how many spooled batches one tick sends, so that
// cutting keeps its pace while a long spool drains after a partition.
const maxSendsPerTick = 1000

// finalFlushTimeout bounds the last report when the agent stops.
const finalFlushTimeout = 2 * time.Second

// Reporter sends a usage batch to home and answers with home's totals:
// registry/client's Client. An error carrying home's HTTP status (as
// client.StatusCode reads it) of 400, 413 or 422 refuses the batch for good.
type Reporter interface {
	PostUsage(ctx context.Context, batch *registry.UsageBatch) (*registry.UsageReply, error)
}

// Run reports usage every interval until ctx ends: to home through r, or,
// with a nil r (an agent without home), locally, its own usage being the
// total. interval defaults to DefaultReportInterval.
func (l *Ledger) Run(ctx context.Context, r Reporter, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultReportInterval
	}
	if r == nil {
		l.runLocal(ctx, interval)
		return
	}
	l.run(ctx, r, interval)
}

// run cuts a batch every interval, writes it to the spool and sends the
// spool to home in order, one batch at a time; while home fails it retries
// with backoff. When ctx ends it cuts and persists what is left and tries
// one last send.
func (l *Ledger) run(ctx context.Context, home Reporter, interval time.Duration) {
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: max(5*interval, time.Second)}
	t := time.NewTicker(interval)
	defer t.Stop()
	var notBefore time.Time
	down := false
	for {
		select {
		case <-ctx.Done():
			l.cut()
			if l.persistAll() {
				fctx, cancel := context.WithTimeout(context.Background(), finalFlushTimeout)
				if err := l.flush(fctx, home); err != nil {
					l.log.Warn().Err(err).Int("spooled_batches", l.spooled()).Msg("usage not all reported at stop; the spool keeps it for the next start")
				}
				cancel()
			}
			return
		case <-t.C:
			l.cut()
		case <-l.kick:
		}
		l.prepare()
		if !l.persistAll() || time.Now().Before(notBefore) {
			continue
		}
		if err := l.flush(ctx, home); err != nil {
			if ctx.Err() != nil {
				continue
			}
			if !down {
				l.log.Warn().Err(err).Msg("usage report failed; spooling usage and retrying")
			}
			down = true
			notBefore = time.Now().Add(retry.Next())
			continue
		}
		if down {
			l.log.Info().Msg("usage reported again")
		}
		down = false
		retry.Reset()
		notBefore = time.Time{}
	}
}

// runLocal is the reporter of an agent without home: its own usage is the
// total, so each batch goes straight into the totals.
func (l *Ledger) runLocal(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.kick:
		}
		now := time.Now()
		l.mu.Lock()
		l.cutLocked()
		for len(l.spool) > 0 {
			sb := l.spool[0]
			l.unspoolLocked(sb)
			l.addGlobalsHomeLocked(sb.batch.Limiters)
			for _, e := range sb.batch.Entries {
				starts, c := periodStarts(e.Minute), l.countersLocked(e.ApplicationID, e.MetricID)
				for p := range numPeriods {
					c.home[p] = addCount(c.home[p], starts[p], e.Delta)
				}
			}
		}
		l.mergeTotalsLocked(nil, now)
		l.pruneGlobalsLocked(now)
		l.mu.Unlock()
	}
}

// cut moves the open batch to the spool, unless the spool is full: then the
// open batch keeps growing (its journal keeps it) until Admit has to refuse.
func (l *Ledger) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.open) > 0 && l.spoolFullLocked() {
		l.logFullLocked(errLedgerFull)
		return
	}
	l.cutLocked()
}

// persistAll writes the file of every batch cut since the last call, in
// order, and reports whether all are written.
func (l *Ledger) persistAll() bool {
	l.mu.Lock()
	var unwritten []*spoolBatch
	for i := len(l.spool) - 1; i >= 0 && !l.spool[i].written; i-- {
		unwritten = append(unwritten, l.spool[i])
	}
	l.mu.Unlock()
	for i := len(unwritten) - 1; i >= 0; i-- {
		sb := unwritten[i]
		if sb.batch.ServiceID == 0 {
			sb.batch.ServiceID = l.service()
		}
		if err := l.persist(sb); err != nil {
			l.log.Error().Err(err).Msg("usage batch not spooled; its journal keeps it, retrying")
			return false
		}
	}
	return true
}

// flush sends spooled batches, oldest first, until the spool is empty or a
// send fails; with nothing spooled it polls home's totals with an empty batch.
func (l *Ledger) flush(ctx context.Context, home Reporter) error {
	service := l.service()
	if service == 0 {
		return nil // no placement yet: nothing to ask home about
	}
	for i := range maxSendsPerTick {
		l.mu.Lock()
		var sb *spoolBatch
		if len(l.spool) > 0 {
			sb = l.spool[0]
		}
		var poll registry.UsageBatch
		if sb == nil {
			if i > 0 {
				l.mu.Unlock()
				return nil
			}
			seq, err := l.nextSeqLocked()
			if err != nil {
				l.mu.Unlock()
				return err
			}
			poll = registry.UsageBatch{ID: l.batchID(seq), Instance: l.instance, ServiceID: service, Entries: []registry.UsageEntry{}}
		}
		l.mu.Unlock()
		batch := &poll
		if sb != nil {
			if sb.batch.ServiceID == 0 {
				sb.batch.ServiceID = service
			}
			if err := l.persist(sb); err != nil { // cut by Admit since persistAll
				return err
			}
			if sb.batch.ServiceID != service {
				l.setAsideOtherService(sb, service)
				continue
			}
			l.dropOldLimiters(sb)
			if err := l.markSentWith(sb); err != nil {
				return err
			}
			batch = &sb.batch
		}
		reply, err := home.PostUsage(ctx, batch)
		status := client.StatusCode(err)
		switch {
		case err == nil:
			l.ackedWith(sb, reply.Totals, reply.Limiters, l.now())
		case sb != nil && (status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity):
			l.mu.Lock()
			l.unspoolLocked(sb)
			l.mu.Unlock()
			l.reject(sb, err)
		default:
			return err
		}
	}
	return nil
}

// setAsideOtherService sets aside a spooled batch of a service the instance
// is not placed in now (cut before the placement changed, or by an earlier
// incarnation on the same cache dir): home counts a batch for the sender's
// own service only and would refuse it (403) each time, holding every batch
// behind it.
func (l *Ledger) setAsideOtherService(sb *spoolBatch, placedIn int64) {
	l.mu.Lock()
	l.unspoolLocked(sb)
	l.mu.Unlock()
	l.setAside(sb, l.log.Warn().Int64("batch_service", sb.batch.ServiceID).Int64("placed_in", placedIn),
		"usage batch of a service this instance is no longer placed in")
}

// Wake makes the reporter send (or poll home's totals) now rather than at
// the next interval: the agent calls it when its placement is new.
func (l *Ledger) Wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}
