package ledger

import (
	"errors"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// Global rate limits: the gateway's rate_limit policy counts requests of its
// global fixed windows here (AddGlobal); each batch carries what this agent
// counted since the last one and home answers the cluster's counts of the
// windows not ended, as it does plan limits' totals. A count is thus home's
// last total plus this agent's requests home has not acknowledged: agents
// of one service stay within a limit but for the requests others admitted
// within one report interval.

// maxGlobalKeys bounds the windows the ledger keeps counts of.
const maxGlobalKeys = 100_000

// errGlobalFull is why a window beyond maxGlobalKeys is not counted.
var errGlobalFull = errors.New("too many rate limit keys counted cluster-wide at once; the limit cannot be checked")

type globalKey struct {
	key           string
	start, window int64
}

// globalCount is one window's count as this agent knows it.
type globalCount struct {
	home    int64 // home's last total
	pending int64 // this agent's, not yet in home's total
}

// AddGlobal adds delta to the count of key's window [start, start+window)
// and returns the cluster's count as far as this agent knows it: home's last
// total plus what this agent counted since. A negative delta takes back
// requests counted before (refused by another limit, or by this one).
// It implements the gateway policies' GlobalCounter.
func (l *Ledger) AddGlobal(key string, start time.Time, window time.Duration, delta int64) (int64, error) {
	k := globalKey{key, start.Unix(), int64(window / time.Second)}
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.globals[k]
	if g == nil {
		if delta <= 0 {
			return 0, nil
		}
		if len(l.globals) >= maxGlobalKeys {
			l.pruneGlobalsLocked(time.Now())
			if len(l.globals) >= maxGlobalKeys {
				return 0, errGlobalFull
			}
		}
	}
	open, inOpen := l.openGlobal[k]
	if !inOpen && delta != 0 {
		if err := l.limiterRoomLocked(key); err != nil {
			return 0, err
		}
	}
	if g == nil {
		g = &globalCount{}
		l.globals[k] = g
	}
	g.pending = composition.AddSaturating(g.pending, delta)
	switch d := composition.AddSaturating(open, delta); {
	case d == 0 && inOpen:
		delete(l.openGlobal, k)
		l.openLimiterBytes -= limiterJSON(key)
	case d != 0:
		l.openGlobal[k] = d
		if !inOpen {
			l.openLimiterBytes += limiterJSON(key)
		}
	}
	return max(composition.AddSaturating(g.home, g.pending), 0), nil
}

// limiterRoomLocked makes room in the open batch for a limiter count of
// key, cutting it early when it is full (bounds.go); it fails when the
// spool is full too.
func (l *Ledger) limiterRoomLocked(key string) error {
	if len(l.openGlobal) < maxOpenLimiters && l.fitsLocked(0, limiterJSON(key)) {
		return nil
	}
	if l.spoolFullLocked() {
		return errLedgerFull
	}
	l.cutLocked()
	l.Wake()
	return nil
}

// globalEntriesLocked returns the open limiter counts as batch entries and
// starts new ones.
func (l *Ledger) globalEntriesLocked() []registry.LimiterCount {
	if len(l.openGlobal) == 0 {
		return nil
	}
	out := make([]registry.LimiterCount, 0, len(l.openGlobal))
	for k, d := range l.openGlobal {
		out = append(out, registry.LimiterCount{Key: k.key, Start: k.start, Window: k.window, Value: d})
	}
	clear(l.openGlobal)
	return out
}

// unspoolGlobalsLocked: a batch's counts are in home's total now (or never
// will be), no longer pending.
func (l *Ledger) unspoolGlobalsLocked(counts []registry.LimiterCount) {
	for _, c := range counts {
		if g := l.globals[globalKey{c.Key, c.Start, c.Window}]; g != nil {
			g.pending = composition.AddSaturating(g.pending, -c.Value)
		}
	}
}

// addGlobalsPendingLocked counts the rate limit counts of a batch a previous
// run spooled as pending, as AddGlobal counted them in that run: when the
// batch leaves the spool (unspoolGlobalsLocked, dropOldLimiters) its counts
// are taken back, and without them this run's requests of the same window
// would be. Ended windows are left out, as pruning would forget them.
func (l *Ledger) addGlobalsPendingLocked(counts []registry.LimiterCount, now time.Time) {
	for _, c := range counts {
		k := globalKey{c.Key, c.Start, c.Window}
		g := l.globals[k]
		if g == nil {
			if c.Start+c.Window <= now.Unix() || len(l.globals) >= maxGlobalKeys {
				continue
			}
			g = &globalCount{}
			l.globals[k] = g
		}
		g.pending = composition.AddSaturating(g.pending, c.Value)
	}
}

// mergeGlobalsLocked takes home's counts (the newest reply is the newest
// state: replies come in order, one batch at a time) and forgets ended
// windows.
func (l *Ledger) mergeGlobalsLocked(counts []registry.LimiterCount, now time.Time) {
	for _, c := range counts {
		k := globalKey{c.Key, c.Start, c.Window}
		g := l.globals[k]
		if g == nil {
			if len(l.globals) >= maxGlobalKeys || c.Start+c.Window <= now.Unix() {
				continue
			}
			g = &globalCount{}
			l.globals[k] = g
		}
		if v := max(c.Value, 0); v != g.home {
			g.home = v
			l.totalsDirty = true
		}
	}
	l.pruneGlobalsLocked(now)
}

// pruneGlobalsLocked forgets the windows that have ended.
func (l *Ledger) pruneGlobalsLocked(now time.Time) {
	t := now.Unix()
	for k := range l.globals {
		if k.start+k.window <= t {
			delete(l.globals, k)
		}
	}
}

// addGlobalsHomeLocked adds a batch's counts to the totals: an agent without
// home is its own home.
func (l *Ledger) addGlobalsHomeLocked(counts []registry.LimiterCount) {
	for _, c := range counts {
		if g := l.globals[globalKey{c.Key, c.Start, c.Window}]; g != nil {
			g.home = max(composition.AddSaturating(g.home, c.Value), 0)
			l.totalsDirty = true
		}
	}
}
