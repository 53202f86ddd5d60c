package ledger

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
)

// Usage accounting: the gateway admits requests through a Ledger, which
// counts their usage per application × metric × minute, cuts it into batches
// every report interval and sends them to home in order (usage_report.go).
//
// Durability with a cache dir (layout of <cache-dir>/usage/):
//
//	seq                  the next batch sequence number not yet handed out (reserved in blocks)
//	<seq>.journal        the open batch: a header line (batch id, instance), then one fixed-size
//	                     record per hit, in the page cache before Admit returns (copied into
//	                     the mapped file, or written with write(2): journal_file.go), so kill -9
//	                     loses no record; no fsync. Zeros after the records are space reserved
//	                     for more. The reporter creates the next journal ahead of need, so a
//	                     journal may hold no record.
//	<seq>.batch.json     a cut batch, written atomically before it is sent, removed when home
//	                     acknowledged it (applied or duplicate); it keeps when it was cut (limiters_age.go)
//	<seq>.rejected.json  a batch home refused for good (4xx), or found damaged at start: kept for an
//	                     operator, logged loudly
//	<seq>.journal.damaged  a journal found unreadable at start (its header damaged): kept for an operator
//	sendswith            the id of the join token the agent sends with, for the batches of its journals (sentwith.go)
//
// A journal whose batch file exists was cut already and is removed at start;
// any other journal becomes its batch (a damaged record in it costs that
// record only). Numbering goes on past every file, set-aside ones too.
// Batches keep their id across restarts, so home, which applies a batch id
// once, counts every request exactly once.
// Home's last totals are kept beside the spool, in <cache-dir>/usage-totals.json (totals.go).
// Without a cache dir the same happens in memory: a restart loses what was
// not acknowledged yet.

const (
	usageDir        = "usage"
	seqFileName     = "seq"
	journalSuffix   = ".journal"
	batchSuffix     = ".batch.json"
	rejectedSuffix  = ".rejected.json"
	damagedSuffix   = ".journal.damaged"
	seqBlock        = 1024 // sequence numbers reserved per write of the seq file
	recordSize      = 40   // app, metric, minute, delta (int64 each), crc32, 4 zero bytes
	maxHeaderBytes  = 1024
	maxOpenEntries  = 8192 // entries of one batch (bounds.go): within registry.MaxUsageEntries
	maxSpoolBatches = 10000
	maxSpoolBytes   = 64 << 20
	maxJournalBytes = 64 << 20
	fullLogEvery    = 10 * time.Second
)

// errLedgerClosed is Admit's answer once the ledger is closed.
var errLedgerClosed = errors.New("usage ledger closed: the agent is stopping")

// errLedgerFull is why Admit refuses usage it could not keep.
var errLedgerFull = errors.New("usage spool full: home has not acknowledged usage for too long; refusing requests rather than losing their usage")

// spoolBatch is a cut batch home has not acknowledged yet.
type spoolBatch struct {
	seq     uint64
	batch   registry.UsageBatch
	size    int64        // bytes counted against maxSpoolBytes
	journal *journalFile // the open journal it was cut from; removed once the batch file is written
	written bool         // its batch file exists (always true without a cache dir)
	cut     time.Time    // when it was cut; for a batch of a previous run, when its file was last written
}

// Ledger counts usage locally, reports it in batches and keeps
// unacknowledged batches on disk. Admit is safe for concurrent use; the
// reporting methods are for one goroutine (run).
type Ledger struct {
	dir      string // <cache-dir>/usage; "" keeps batches in memory only
	instance string
	service  func() int64 // the service id of the instance's placement; 0 while unknown
	log      zerolog.Logger
	counter  composition.Counter // l.current, bound once
	kick     chan struct{}       // wakes the reporter: a batch Admit cut early, or a new placement
	clock    func() time.Time    // when batches are cut and sent (limiters_age.go); time.Now but in tests

	// Bounds; the max* constants but in tests.
	maxOpen, maxSpool      int
	maxSpoolBytes, maxJour int64

	mu         sync.Mutex
	open       map[usageKey]int64 // the open batch
	openSeq    uint64             // its sequence number; 0 until its journal exists
	journal    *journalFile       // its journal; nil until its first record
	spare      spareJournal       // the next journal, prepared by the reporter
	journalLen int64
	broken     bool   // the journal could not be repaired after a failed write: refuse until the cut
	buf        []byte // journal records of one Admit
	counts     map[appMetric]*counters
	spool      []*spoolBatch // oldest first
	spoolBytes int64
	seq, seqHi uint64 // next sequence number; persisted reservation
	minute     int64  // minute of starts
	starts     [numPeriods]int64
	fullLogged time.Time
	globals    map[globalKey]*globalCount // rate limit windows counted cluster-wide (global.go)
	openGlobal map[globalKey]int64        // their counts in the open batch
	token      string                     // the join token the agent sends with (sentwith.go)
	tokenKnown bool                       // SendsWith was called

	// The token the previous incarnation sent with, from the spool: its
	// journals' usage was admitted under it (sentwith.go).
	journalToken      string
	journalTokenKnown bool

	// The most the open batch encodes to (bounds.go).
	openPieces       int   // its entries: pieces of its counts
	openLimiterBytes int64 // the JSON of its limiter counts (limiterJSON)

	totalsDirty   bool      // home's totals changed since they were last saved (totals.go)
	totalsService int64     // the service they were last saved or read back for
	totalsFailing bool      // the last save failed (logged once)
	totalsSavedAt time.Time // when they were last written
	totalsEntries int       // how many entries that write held

	closed bool // Close was called: Admit refuses
}

// New opens the ledger; with a cache dir it recovers the batches
// and journals a previous run left, to be sent first.
func New(cacheDir, instance string, service func() int64, log zerolog.Logger) (*Ledger, error) {
	l := &Ledger{
		instance: instance, service: service, log: log, kick: make(chan struct{}, 1),
		open: map[usageKey]int64{}, counts: map[appMetric]*counters{},
		globals: map[globalKey]*globalCount{}, openGlobal: map[globalKey]int64{},
		seq: 1, minute: -1,
		maxOpen: maxOpenEntries, maxSpool: maxSpoolBatches, maxSpoolBytes: maxSpoolBytes, maxJour: maxJournalBytes,
	}
	l.counter = l.current
	if cacheDir == "" {
		return l, nil
	}
	l.dir = filepath.Join(cacheDir, usageDir)
	// The spool's batches are reported home as this agent's usage: a
	// directory others may write into (made before, open) is refused
	// unless it can be made 0700.
	if err := atomicfile.PrivateDir(l.dir); err != nil {
		return nil, fmt.Errorf("usage spool: %w", err)
	}
	if err := l.recover(); err != nil {
		return nil, fmt.Errorf("usage spool %s: %w", l.dir, err)
	}
	if err := l.loadTotalsLocked(time.Now()); err != nil { // not fatal: home's next reply has them
		l.log.Error().Err(err).Msg("home's last usage totals ignored: until home answers, limits count this agent's usage alone")
	}
	l.totalsDirty = false
	l.prepare()
	return l, nil
}

// Admit calls decide under the ledger's lock with a Counter = home's last
// totals + usage not yet in them; when decide returns true it records hits
// (in the journal before it returns) and returns nil. It returns composition.ErrLimitsExceeded
// when decide says no, and another error, without calling decide, when the
// usage cannot be kept: the spool is full because home has been unreachable
// for long, the journal cannot be written, or a hit's delta is over
// composition.MaxUsageDelta (home would refuse it).
func (l *Ledger) Admit(appID int64, hits []composition.Hit, now time.Time, decide func(current composition.Counter) bool) error {
	for _, h := range hits {
		if h.Delta > composition.MaxUsageDelta {
			return errDeltaOverBound
		}
	}
	minute := now.Unix() / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errLedgerClosed
	}
	if err := l.roomLocked(appID, hits, minute); err != nil {
		l.logFullLocked(err)
		return err
	}
	if !decide(l.counter) {
		return composition.ErrLimitsExceeded
	}
	if err := l.journalLocked(appID, hits, minute); err != nil {
		l.logFullLocked(err)
		return fmt.Errorf("usage journal: %w", err)
	}
	if minute != l.minute {
		l.minute, l.starts = minute, periodStarts(minute)
	}
	for _, h := range hits {
		if h.Delta <= 0 {
			continue
		}
		k := usageKey{appID, h.MetricID, minute}
		old := l.open[k]
		l.open[k] = composition.AddSaturating(old, h.Delta)
		l.openPieces += pieces(l.open[k]) - pieces(old)
		l.addLocked(appID, h.MetricID, &l.starts, h.Delta)
	}
	return nil
}

// Current is Admit's Counter, for callers outside Admit.
func (l *Ledger) Current(appID, metricID int64, period string, start time.Time) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current(appID, metricID, period, start)
}

// current is home's last total for the period plus the usage not in it.
func (l *Ledger) current(appID, metricID int64, period string, start time.Time) int64 {
	p, ok := periodIndex(period)
	if !ok {
		return 0
	}
	c := l.counts[appMetric{appID, metricID}]
	if c == nil {
		return 0
	}
	s := start.Unix()
	return composition.AddSaturating(countOf(c.home[p], s), countOf(c.pending[p], s))
}

// countersLocked returns the counters of an application's metric, creating them.
func (l *Ledger) countersLocked(app, metric int64) *counters {
	k := appMetric{app, metric}
	c := l.counts[k]
	if c == nil {
		c = &counters{}
		l.counts[k] = c
	}
	return c
}

func (l *Ledger) addLocked(app, metric int64, starts *[numPeriods]int64, delta int64) {
	c := l.countersLocked(app, metric)
	for p := range numPeriods {
		c.pending[p] = addCount(c.pending[p], starts[p], delta)
	}
}

// roomLocked makes room for hits in the open batch, cutting it early when it
// is large (bounds.go); it fails when the spool is full too. A hit adds at
// most one entry, its delta being at most composition.MaxUsageDelta.
func (l *Ledger) roomLocked(app int64, hits []composition.Hit, minute int64) error {
	n := len(hits)
	if !l.broken && l.journalLen+int64(n*recordSize) <= l.maxJour {
		if l.fitsLocked(n, 0) {
			return nil
		}
		added := 0 // near the bound: count the entries the hits would add
		for _, h := range hits {
			if old := l.open[usageKey{app, h.MetricID, minute}]; h.Delta > 0 {
				added += pieces(composition.AddSaturating(old, h.Delta)) - pieces(old)
			}
		}
		if l.fitsLocked(added, 0) {
			return nil
		}
	}
	if l.spoolFullLocked() {
		return errLedgerFull
	}
	l.cutLocked()
	l.Wake()
	return nil
}

func (l *Ledger) spoolFullLocked() bool {
	return len(l.spool) >= l.maxSpool || l.spoolBytes >= l.maxSpoolBytes
}

func (l *Ledger) logFullLocked(err error) {
	if now := time.Now(); now.Sub(l.fullLogged) >= fullLogEvery {
		l.fullLogged = now
		l.log.Error().Err(err).Int("spooled_batches", len(l.spool)).Int64("spooled_bytes", l.spoolBytes).
			Msg("usage not recorded: request refused")
	}
}

// Close unmaps and closes the journals the ledger holds open (each maps
// maxJournalBytes of address space): the open batch's, the spare, and
// those of batches cut and not written yet. Call it once Run has returned
// and the gateway admits no more: Admit refuses usage after it. The
// journals stay on disk, and the next start makes their usage batches.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var errs []error
	closeJournal := func(j **journalFile) {
		if *j != nil {
			if err := (*j).Close(); err != nil {
				errs = append(errs, fmt.Errorf("close usage journal %s: %w", (*j).Name(), err))
			}
			*j = nil
		}
	}
	closeJournal(&l.journal)
	closeJournal(&l.spare.f)
	for _, sb := range l.spool {
		closeJournal(&sb.journal)
	}
	return errors.Join(errs...)
}
