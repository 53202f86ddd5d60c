package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
)

// Usage accounting: the gateway admits requests through a usageLedger, which
// counts their usage per application × metric × minute, cuts it into batches
// every report interval and sends them to home in order (usage_report.go).
//
// Durability with a cache dir (layout of <cache-dir>/usage/):
//
//	seq                  the next batch sequence number not yet handed out (reserved in blocks)
//	<seq>.journal        the open batch: a header line (batch id, instance), then one fixed-size
//	                     record per hit, appended with write(2) before Admit returns (kill -9
//	                     loses no record: the page cache keeps it; no fsync). The reporter
//	                     creates the next journal ahead of need, so a journal may hold no record.
//	<seq>.batch.json     a cut batch, written atomically before it is sent, removed when home
//	                     acknowledged it (applied or duplicate)
//	<seq>.rejected.json  a batch home refused for good (4xx): kept for an operator, logged loudly
//
// A journal whose batch file exists was cut already and is removed at start;
// any other journal becomes its batch. Batches keep their id across restarts,
// so home, which applies a batch id once, counts every request exactly once.
// Without a cache dir the same happens in memory: a restart loses what was
// not acknowledged yet.

const (
	usageDir        = "usage"
	seqFileName     = "seq"
	journalSuffix   = ".journal"
	batchSuffix     = ".batch.json"
	rejectedSuffix  = ".rejected.json"
	seqBlock        = 1024 // sequence numbers reserved per write of the seq file
	recordSize      = 40   // app, metric, minute, delta (int64 each), crc32, 4 zero bytes
	maxHeaderBytes  = 1024
	maxOpenEntries  = 8192 // distinct app × metric × minute in one batch: ≤ 1 MiB of JSON
	maxSpoolBatches = 10000
	maxSpoolBytes   = 64 << 20
	maxJournalBytes = 64 << 20
	fullLogEvery    = 10 * time.Second
)

// errLedgerFull is why Admit refuses usage it could not keep.
// errOverLimit is Admit's answer when the decision refused the usage.
var errOverLimit = errors.New("usage limit exceeded")

var errLedgerFull = errors.New("usage spool full: home has not acknowledged usage for too long; refusing requests rather than losing their usage")

// numPeriods is len(composition.Periods); a ledger keeps a counter per period.
const numPeriods = 7

type usageKey struct{ app, metric, minute int64 }

type appMetric struct{ app, metric int64 }

// periodCount is a count in the period starting at start (unix seconds; the
// zero time's for eternity).
type periodCount struct{ start, n int64 }

// counters are an application's metric's counts, per period: a few starts
// each at most (the current period, and recent ones while their usage is
// pending or home's totals for them are still current).
type counters struct {
	pending [numPeriods][]periodCount // usage in the open and spooled batches
	home    [numPeriods][]periodCount // home's last totals
}

func countOf(s []periodCount, start int64) int64 {
	for _, c := range s {
		if c.start == start {
			return c.n
		}
	}
	return 0
}

// addCount adds delta to the count of start, dropping it at zero.
func addCount(s []periodCount, start, delta int64) []periodCount {
	for i := range s {
		if s[i].start == start {
			if s[i].n += delta; s[i].n == 0 {
				s[i] = s[len(s)-1]
				s = s[:len(s)-1]
			}
			return s
		}
	}
	if delta == 0 {
		return s
	}
	return append(s, periodCount{start, delta})
}

func (c *counters) empty() bool {
	for p := range numPeriods {
		if len(c.pending[p]) > 0 || len(c.home[p]) > 0 {
			return false
		}
	}
	return true
}

// periodIndex returns the index of a period name in composition.Periods.
func periodIndex(name string) (uint8, bool) {
	switch name {
	case "minute":
		return 0, true
	case "hour":
		return 1, true
	case "day":
		return 2, true
	case "week":
		return 3, true
	case "month":
		return 4, true
	case "year":
		return 5, true
	case "eternity":
		return 6, true
	}
	return 0, false
}

// periodStarts returns the start of every period containing minute, in unix seconds.
func periodStarts(minute int64) (starts [numPeriods]int64) {
	t := time.Unix(minute*60, 0).UTC()
	for i, p := range composition.Periods[:numPeriods] {
		s, _ := composition.PeriodBounds(p, t)
		starts[i] = s.Unix()
	}
	return starts
}

// spoolBatch is a cut batch home has not acknowledged yet.
type spoolBatch struct {
	seq     uint64
	batch   registry.UsageBatch
	size    int64    // bytes counted against maxSpoolBytes
	journal *os.File // the open journal it was cut from; removed once the batch file is written
	written bool     // its batch file exists (always true without a cache dir)
}

// usageLedger counts usage locally, reports it in batches and keeps
// unacknowledged batches on disk. Admit is safe for concurrent use; the
// reporting methods are for one goroutine (run).
type usageLedger struct {
	dir      string // <cache-dir>/usage; "" keeps batches in memory only
	instance string
	service  func() int64 // the service id of the instance's placement; 0 while unknown
	log      zerolog.Logger
	counter  composition.Counter // l.current, bound once
	kick     chan struct{}       // wakes the reporter: a batch Admit cut early, or a new placement

	// Bounds; the max* constants but in tests.
	maxOpen, maxSpool      int
	maxSpoolBytes, maxJour int64

	mu         sync.Mutex
	open       map[usageKey]int64 // the open batch
	openSeq    uint64             // its sequence number; 0 until its journal exists
	journal    *os.File           // its journal; nil until its first record
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
}

// newUsageLedger opens the ledger; with a cache dir it recovers the batches
// and journals a previous run left, to be sent first.
func newUsageLedger(cacheDir, instance string, service func() int64, log zerolog.Logger) (*usageLedger, error) {
	l := &usageLedger{
		instance: instance, service: service, log: log, kick: make(chan struct{}, 1),
		open: map[usageKey]int64{}, counts: map[appMetric]*counters{},
		seq: 1, minute: -1,
		maxOpen: maxOpenEntries, maxSpool: maxSpoolBatches, maxSpoolBytes: maxSpoolBytes, maxJour: maxJournalBytes,
	}
	l.counter = l.current
	if cacheDir == "" {
		return l, nil
	}
	l.dir = filepath.Join(cacheDir, usageDir)
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("usage spool: create %s: %w", l.dir, err)
	}
	if err := l.recover(); err != nil {
		return nil, fmt.Errorf("usage spool %s: %w", l.dir, err)
	}
	l.prepare()
	return l, nil
}

// Admit calls decide under the ledger's lock with a Counter = home's last
// totals + usage not yet in them; when decide returns true it records hits
// (in the journal before it returns) and returns nil. It returns errOverLimit
// when decide says no, and another error, without calling decide, when the
// usage cannot be kept: the spool is full because home has been unreachable
// for long, or the journal cannot be written.
func (l *usageLedger) Admit(appID int64, hits []composition.Hit, now time.Time, decide func(current composition.Counter) bool) error {
	minute := now.Unix() / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.roomLocked(appID, hits, minute); err != nil {
		l.logFullLocked(err)
		return err
	}
	if !decide(l.counter) {
		return errOverLimit
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
		l.open[usageKey{appID, h.MetricID, minute}] += h.Delta
		l.addLocked(appID, h.MetricID, &l.starts, h.Delta)
	}
	return nil
}

// Current is Admit's Counter, for callers outside Admit.
func (l *usageLedger) Current(appID, metricID int64, period string, start time.Time) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current(appID, metricID, period, start)
}

// current is home's last total for the period plus the usage not in it.
func (l *usageLedger) current(appID, metricID int64, period string, start time.Time) int64 {
	p, ok := periodIndex(period)
	if !ok {
		return 0
	}
	c := l.counts[appMetric{appID, metricID}]
	if c == nil {
		return 0
	}
	s := start.Unix()
	return countOf(c.home[p], s) + countOf(c.pending[p], s)
}

// countersLocked returns the counters of an application's metric, creating them.
func (l *usageLedger) countersLocked(app, metric int64) *counters {
	k := appMetric{app, metric}
	c := l.counts[k]
	if c == nil {
		c = &counters{}
		l.counts[k] = c
	}
	return c
}

func (l *usageLedger) addLocked(app, metric int64, starts *[numPeriods]int64, delta int64) {
	c := l.countersLocked(app, metric)
	for p := range numPeriods {
		c.pending[p] = addCount(c.pending[p], starts[p], delta)
	}
}

// roomLocked makes room for hits in the open batch, cutting it early when it
// is large; it fails when the spool is full too.
func (l *usageLedger) roomLocked(app int64, hits []composition.Hit, minute int64) error {
	n := len(hits)
	if !l.broken && l.journalLen+int64(n*recordSize) <= l.maxJour {
		if len(l.open)+n <= l.maxOpen {
			return nil
		}
		added := 0 // near the bound: count the entries the hits would add
		for _, h := range hits {
			if _, ok := l.open[usageKey{app, h.MetricID, minute}]; !ok {
				added++
			}
		}
		if len(l.open)+added <= l.maxOpen {
			return nil
		}
	}
	if l.spoolFullLocked() {
		return errLedgerFull
	}
	l.cutLocked()
	l.wake()
	return nil
}

func (l *usageLedger) spoolFullLocked() bool {
	return len(l.spool) >= l.maxSpool || l.spoolBytes >= l.maxSpoolBytes
}

func (l *usageLedger) logFullLocked(err error) {
	if now := time.Now(); now.Sub(l.fullLogged) >= fullLogEvery {
		l.fullLogged = now
		l.log.Error().Err(err).Int("spooled_batches", len(l.spool)).Int64("spooled_bytes", l.spoolBytes).
			Msg("usage not recorded: request refused")
	}
}

// journalLocked appends one record per hit to the open batch's journal with
// one write(2), creating the journal first if needed.
func (l *usageLedger) journalLocked(app int64, hits []composition.Hit, minute int64) error {
	if l.dir == "" {
		return nil
	}
	if l.journal == nil {
		if err := l.createJournalLocked(); err != nil {
			return err
		}
	}
	l.buf = l.buf[:0]
	for _, h := range hits {
		if h.Delta > 0 {
			l.buf = appendRecord(l.buf, app, h.MetricID, minute, h.Delta)
		}
	}
	if len(l.buf) == 0 {
		return nil
	}
	if _, err := l.journal.Write(l.buf); err != nil {
		// Cut a partial record off, or the records after it would be misread.
		if terr := l.journal.Truncate(l.journalLen); terr != nil {
			l.broken = true
		}
		return fmt.Errorf("usage journal %s: %w", l.journal.Name(), err)
	}
	l.journalLen += int64(len(l.buf))
	return nil
}

// createJournalLocked opens the open batch's journal: the spare the reporter
// prepared, or a new one.
func (l *usageLedger) createJournalLocked() error {
	if l.spare.f != nil {
		l.journal, l.openSeq, l.journalLen = l.spare.f, l.spare.seq, l.spare.n
		l.spare = spareJournal{}
		return nil
	}
	seq, err := l.nextSeqLocked()
	if err != nil {
		return err
	}
	j, err := l.newJournal(seq)
	if err != nil {
		return err
	}
	l.journal, l.openSeq, l.journalLen = j.f, j.seq, j.n
	return nil
}

// spareJournal is a journal created ahead of need, with its header.
type spareJournal struct {
	f   *os.File
	seq uint64
	n   int64 // header bytes
}

// newJournal creates the journal of batch seq and writes its header.
func (l *usageLedger) newJournal(seq uint64) (spareJournal, error) {
	path := filepath.Join(l.dir, seqName(seq)+journalSuffix)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return spareJournal{}, fmt.Errorf("usage journal: %w", err)
	}
	header := strconv.AppendQuote([]byte("portolan-usage-journal 1 "), l.batchID(seq))
	header = append(strconv.AppendQuote(append(header, ' '), l.instance), '\n')
	if _, err := f.Write(header); err != nil {
		f.Close()
		os.Remove(path)
		return spareJournal{}, fmt.Errorf("usage journal %s: %w", path, err)
	}
	return spareJournal{f: f, seq: seq, n: int64(len(header))}, nil
}

// prepare keeps Admit's path free of file creation and fsync: it reserves
// sequence numbers ahead and creates the next journal before it is needed.
func (l *usageLedger) prepare() {
	if l.dir == "" {
		return
	}
	l.mu.Lock()
	hi, reserve := l.seq+seqBlock, l.seqHi-l.seq < seqBlock/2
	l.mu.Unlock()
	if reserve {
		if err := l.writeSeq(hi); err != nil {
			l.log.Warn().Err(err).Msg("reserve usage batch numbers")
		} else {
			l.mu.Lock()
			l.seqHi = max(l.seqHi, hi)
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	if l.spare.f != nil {
		l.mu.Unlock()
		return
	}
	seq, err := l.nextSeqLocked()
	l.mu.Unlock()
	if err != nil {
		l.log.Warn().Err(err).Msg("prepare usage journal")
		return
	}
	j, err := l.newJournal(seq)
	if err != nil {
		l.log.Warn().Err(err).Msg("prepare usage journal")
		return
	}
	l.mu.Lock()
	if l.spare.f == nil {
		l.spare = j
		j.f = nil
	}
	l.mu.Unlock()
	if j.f != nil { // cannot happen with one reporter; never leak it
		j.f.Close()
		os.Remove(j.f.Name())
	}
}

func (l *usageLedger) writeSeq(hi uint64) error {
	if err := atomicfile.Write(filepath.Join(l.dir, seqFileName), strconv.AppendUint(nil, hi, 10), 0o600); err != nil {
		return fmt.Errorf("usage sequence: %w", err)
	}
	return nil
}

// nextSeqLocked hands out a batch sequence number, reserving a block in the
// seq file first when the reservation is used up, so that numbers increase
// across restarts.
func (l *usageLedger) nextSeqLocked() (uint64, error) {
	if l.dir != "" && l.seq >= l.seqHi { // the reporter reserves ahead; this is the fallback
		hi := l.seq + seqBlock
		if err := l.writeSeq(hi); err != nil {
			return 0, err
		}
		l.seqHi = hi
	}
	s := l.seq
	l.seq++
	return s, nil
}

func (l *usageLedger) batchID(seq uint64) string {
	return l.instance + "-" + strconv.FormatUint(seq, 10)
}

// seqName names a sequence number's files; they sort in sequence order.
func seqName(seq uint64) string { return fmt.Sprintf("%016x", seq) }

func appendRecord(b []byte, app, metric, minute, delta int64) []byte {
	n := len(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(app))
	b = binary.LittleEndian.AppendUint64(b, uint64(metric))
	b = binary.LittleEndian.AppendUint64(b, uint64(minute))
	b = binary.LittleEndian.AppendUint64(b, uint64(delta))
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[n:]))
	return append(b, 0, 0, 0, 0)
}

// cutLocked moves the open batch to the spool; the reporter writes its file.
func (l *usageLedger) cutLocked() {
	l.broken = false
	if len(l.open) == 0 {
		if l.journal != nil { // a journal whose only write failed
			l.journal.Close()
			os.Remove(l.journal.Name())
			l.journal = nil
		}
		return
	}
	seq := l.openSeq
	if seq == 0 {
		seq, _ = l.nextSeqLocked() // no error without a cache dir, and with one the journal has it
	}
	sb := &spoolBatch{seq: seq, journal: l.journal, written: l.dir == "",
		batch: registry.UsageBatch{ID: l.batchID(seq), Instance: l.instance, Entries: entriesOf(l.open)}}
	sb.size = estimateSize(len(sb.batch.Entries))
	l.spool = append(l.spool, sb)
	l.spoolBytes += sb.size
	l.open = make(map[usageKey]int64, len(l.open))
	l.journal, l.openSeq, l.journalLen = nil, 0, 0
}

// estimateSize is a batch's JSON size before it is written.
func estimateSize(entries int) int64 { return 256 + int64(entries)*96 }

// entriesOf returns usage as batch entries, oldest minute first.
func entriesOf(m map[usageKey]int64) []registry.UsageEntry {
	out := make([]registry.UsageEntry, 0, len(m))
	for k, d := range m {
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
func (l *usageLedger) unspoolLocked(sb *spoolBatch) {
	if len(l.spool) == 0 || l.spool[0] != sb {
		return
	}
	l.spool[0] = nil
	l.spool = l.spool[1:]
	l.spoolBytes -= sb.size
	for _, e := range sb.batch.Entries {
		starts := periodStarts(e.Minute)
		l.addLocked(e.ApplicationID, e.MetricID, &starts, -e.Delta)
	}
}

// acked takes home's answer to a batch (nil for a poll): the batch's usage
// is in home's totals now, so it stops counting as pending, in one step.
func (l *usageLedger) acked(sb *spoolBatch, totals []registry.UsageTotal, now time.Time) {
	l.mu.Lock()
	if sb != nil {
		l.unspoolLocked(sb)
	}
	l.mergeTotalsLocked(totals, now)
	l.mu.Unlock()
	if sb != nil {
		l.forget(sb)
	}
}

// mergeTotalsLocked takes home's totals: a total only grows, and one of a
// period that has ended by now is dropped.
func (l *usageLedger) mergeTotalsLocked(totals []registry.UsageTotal, now time.Time) {
	for _, t := range totals {
		p, ok := periodIndex(t.Period)
		if !ok {
			continue
		}
		c, start := l.countersLocked(t.ApplicationID, t.MetricID), t.Start.Unix()
		if d := t.Value - countOf(c.home[p], start); d > 0 {
			c.home[p] = addCount(c.home[p], start, d)
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
func (l *usageLedger) spooled() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.spool)
}
