package ledger

import (
	"time"

	"github.com/portolan/portolan/registry"
)

// Rate limit counts of an old batch. Home applies a batch id once, but
// remembers it a week (usage.BatchRetention, and usage.MaxFutureMinute more),
// while a global rate limit window may last a year (policy.MaxHomeWindow).
// A batch's usage is safe past the week: home refuses minutes older than
// it. Its rate limit counts carry no time of their own: a batch home
// applied, whose reply was lost, sent again more than a week later would
// add them again to a window still open. So a batch cut longer ago than
// maxLimiterResendAge is sent without them. Remembering ids as long as
// the longest window instead would cost home a year of ids, a batch a
// second for each agent; dropping them costs the counts of requests a
// week old in windows longer than a week, and only those of a batch home
// did not take within that week (home's counts, in memory, are lost at
// its restart in any case): the limit then errs on letting requests
// through, never on refusing them for requests counted twice.

// maxLimiterResendAge is the oldest a batch may be cut and still carry its
// rate limit counts: home's memory of batch ids. The agent's clock reads
// both ends, and home keeps ids an hour longer than this after it applied
// them (after the cut): that hour is the margin.
const maxLimiterResendAge = 7 * 24 * time.Hour

// spoolFile is a batch as its spool file holds it: the batch as sent, and
// when it was cut (unix seconds), which rewrites of the file (markSentWith)
// must not move. Older agents read the batch and ignore the rest.
type spoolFile struct {
	registry.UsageBatch
	Cut int64 `json:"spool_cut,omitempty"`
}

// cutOf is when a batch read from its spool file was cut: the time the
// file records, or, when it records none (an older agent), or a later one
// than the file's last write, that last write.
func cutOf(f *spoolFile, written time.Time) time.Time {
	if f.Cut > 0 && f.Cut < written.Unix() {
		return time.Unix(f.Cut, 0)
	}
	return written
}

// dropOldLimiters takes the rate limit counts out of a batch cut longer
// than maxLimiterResendAge ago, before it is sent: they stop counting as
// pending here too.
func (l *Ledger) dropOldLimiters(sb *spoolBatch) {
	l.mu.Lock()
	n := len(sb.batch.Limiters)
	if n == 0 || l.now().Sub(sb.cut) < maxLimiterResendAge {
		l.mu.Unlock()
		return
	}
	l.unspoolGlobalsLocked(sb.batch.Limiters)
	sb.batch.Limiters = nil
	l.mu.Unlock()
	l.log.Warn().Str("batch", sb.batch.ID).Int("rate_limit_counts", n).Time("cut", sb.cut).
		Msg("usage batch older than home's memory of batch ids: sent without its rate limit counts, which home could count twice")
}

// now is the reporter's clock.
func (l *Ledger) now() time.Time {
	if l.clock == nil {
		return time.Now()
	}
	return l.clock()
}
