package ledger

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

const (
	testApp   = 7
	testHits  = 1
	testOther = 2 // a method of hits
)

func newTestLedger(t *testing.T, dir, instance string) *Ledger {
	t.Helper()
	l, err := New(dir, instance, func() int64 { return 3 }, zerolog.Nop())
	require.NoError(t, err)
	return l
}

func admitN(t *testing.T, l *Ledger, n int, now time.Time, hits ...composition.Hit) {
	t.Helper()
	if len(hits) == 0 {
		hits = []composition.Hit{{MetricID: testHits, Delta: 1}}
	}
	for range n {
		require.NoError(t, l.Admit(testApp, hits, now, admitAny))
	}
}

func admitAny(composition.Counter) bool { return true }

func nothingPending(l *Ledger) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.counts {
		for p := range numPeriods {
			if len(c.pending[p]) > 0 {
				return false
			}
		}
	}
	return true
}

func minuteOf(t time.Time) time.Time { s, _ := composition.PeriodBounds("minute", t); return s }

// cutOne cuts the open batch and returns it, as the reporter does.
func cutOne(t *testing.T, l *Ledger) *spoolBatch {
	t.Helper()
	l.cut()
	require.True(t, l.persistAll())
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NotEmpty(t, l.spool)
	return l.spool[len(l.spool)-1]
}

func total(app, metric int64, period string, now time.Time, v int64) registry.UsageTotal {
	s, _ := composition.PeriodBounds(period, now)
	return registry.UsageTotal{ApplicationID: app, MetricID: metric, Period: period, Start: s, Value: v}
}

func TestUsageLedgerCurrentAroundAReply(t *testing.T) {
	l := newTestLedger(t, "", "i-1")
	now := time.Date(2026, 11, 27, 21, 0, 10, 0, time.UTC)
	minute := minuteOf(now)

	admitN(t, l, 3, now)
	assert.EqualValues(t, 3, l.Current(testApp, testHits, "minute", minute), "local usage counts before any reply")

	a := cutOne(t, l)
	assert.Len(t, a.batch.Entries, 1)
	admitN(t, l, 2, now) // admitted while batch a is in flight
	assert.EqualValues(t, 5, l.Current(testApp, testHits, "minute", minute))

	// Home counted a (3) and 10 requests of other agents.
	l.acked(a, []registry.UsageTotal{total(testApp, testHits, "minute", now, 13), total(testApp, testHits, "day", now, 40)}, now)
	assert.EqualValues(t, 15, l.Current(testApp, testHits, "minute", minute), "home's 13 (a included once) + 2 not yet reported")
	day, _ := composition.PeriodBounds("day", now)
	assert.EqualValues(t, 42, l.Current(testApp, testHits, "day", day))
	hour, _ := composition.PeriodBounds("hour", now)
	assert.EqualValues(t, 2, l.Current(testApp, testHits, "hour", hour), "no total from home for the hour: only what home has not seen")

	// A poll reply: nothing of ours acknowledged, home's total grew.
	l.acked(nil, []registry.UsageTotal{total(testApp, testHits, "minute", now, 20)}, now)
	assert.EqualValues(t, 22, l.Current(testApp, testHits, "minute", minute))
	// An older reply does not move a total back.
	l.acked(nil, []registry.UsageTotal{total(testApp, testHits, "minute", now, 14)}, now)
	assert.EqualValues(t, 22, l.Current(testApp, testHits, "minute", minute))

	b := cutOne(t, l)
	l.acked(b, []registry.UsageTotal{total(testApp, testHits, "minute", now, 22)}, now)
	assert.EqualValues(t, 22, l.Current(testApp, testHits, "minute", minute), "b's 2 are in home's 22 now, counted once")
	assert.True(t, nothingPending(l), "nothing pending is left behind")
	assert.EqualValues(t, 0, l.Current(testApp, testOther, "minute", minute))
	assert.EqualValues(t, 0, l.Current(testApp, testHits, "fortnight", minute), "an unknown period counts nothing")
}

func TestUsageLedgerPeriodRollover(t *testing.T) {
	l := newTestLedger(t, "", "i-1")
	t0 := time.Date(2026, 11, 29, 23, 59, 50, 0, time.UTC) // Sunday, last minute of the week
	t1 := t0.Add(20 * time.Second)                         // Monday 00:00:10: new minute, hour, day and week; same month
	admitN(t, l, 4, t0)
	admitN(t, l, 1, t1)
	for _, c := range []struct {
		period string
		at     time.Time
		want   int64
	}{
		{"minute", t0, 4}, {"minute", t1, 1}, {"hour", t0, 4}, {"hour", t1, 1}, {"day", t0, 4}, {"day", t1, 1},
		{"week", t0, 4}, {"week", t1, 1}, {"month", t1, 5}, {"year", t1, 5}, {"eternity", t1, 5},
	} {
		start, _ := composition.PeriodBounds(c.period, c.at)
		assert.EqualValues(t, c.want, l.Current(testApp, testHits, c.period, start), "%s of %s", c.period, c.at)
	}

	// Home's totals of the week before are dropped once the week is over;
	// the new week's start differs, so they never count for it.
	a := cutOne(t, l)
	l.acked(a, []registry.UsageTotal{total(testApp, testHits, "week", t0, 100), total(testApp, testHits, "week", t1, 1)}, t1)
	w0, _ := composition.PeriodBounds("week", t0)
	w1, _ := composition.PeriodBounds("week", t1)
	assert.EqualValues(t, 1, l.Current(testApp, testHits, "week", w1))
	assert.EqualValues(t, 0, l.Current(testApp, testHits, "week", w0))
	c := l.counts[appMetric{testApp, testHits}]
	require.NotNil(t, c)
	assert.Equal(t, []periodCount{{w1.Unix(), 1}}, c.home[3], "home's week totals")
}

func TestUsageLedgerAdmitDecidesUnderTheLock(t *testing.T) {
	l := newTestLedger(t, t.TempDir(), "i-1")
	now := time.Now()
	minute := minuteOf(now)
	const limit = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				err := l.Admit(testApp, []composition.Hit{{MetricID: testOther, Delta: 1}, {MetricID: testHits, Delta: 1}}, now,
					func(cur composition.Counter) bool { return cur(testApp, testHits, "minute", minute)+1 <= limit })
				if err == nil {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, limit, admitted, "200 concurrent requests against a limit of 50")
	assert.EqualValues(t, limit, l.Current(testApp, testHits, "minute", minute))
	assert.EqualValues(t, limit, l.Current(testApp, testOther, "minute", minute))
	assert.ErrorIs(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now, func(composition.Counter) bool { return false }), composition.ErrLimitsExceeded)
	assert.EqualValues(t, limit, l.Current(testApp, testHits, "minute", minute), "a refused request records nothing")
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, usageDir))
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), journalSuffix) {
			if _, _, usage, err := readJournal(filepath.Join(dir, usageDir, de.Name())); err == nil && len(usage) == 0 {
				continue // a spare journal, prepared ahead
			}
		}
		names = append(names, de.Name())
	}
	sort.Strings(names)
	return names
}

func spoolTotal(l *Ledger) (n int64, ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sb := range l.spool {
		ids = append(ids, sb.batch.ID)
		for _, e := range sb.batch.Entries {
			n += e.Delta
		}
	}
	return n, ids
}

func TestUsageJournalSurvivesACrash(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a := newTestLedger(t, dir, "i-a")
	admitN(t, a, 5, now)
	sb := cutOne(t, a) // written as a batch file
	admitN(t, a, 7, now, composition.Hit{MetricID: testOther, Delta: 1}, composition.Hit{MetricID: testHits, Delta: 2})
	// kill -9: a is abandoned as it is; only its files remain.
	assert.Equal(t, []string{"0000000000000001.batch.json", "0000000000000002.journal", "seq"}, spoolFiles(t, dir))

	b := newTestLedger(t, dir, "i-b")
	n, ids := spoolTotal(b)
	assert.EqualValues(t, 5+7*3, n, "the batch file and the journal, each once")
	assert.Equal(t, []string{sb.batch.ID, "i-a-2"}, ids, "a's batches keep a's ids, in order")
	assert.EqualValues(t, 5+14, b.Current(testApp, testHits, "minute", minuteOf(now)), "recovered usage is pending")
	assert.Equal(t, []string{"0000000000000001.batch.json", "0000000000000002.batch.json", "seq"}, spoolFiles(t, dir))

	// A crash after the batch file was written but before its journal was
	// removed: the journal is not counted again.
	admitN(t, b, 4, now)
	b.mu.Lock()
	journal := b.journal.Name()
	b.mu.Unlock()
	j, err := os.ReadFile(journal)
	require.NoError(t, err)
	cutOne(t, b)
	require.NoError(t, os.WriteFile(journal, j, 0o600))
	// and a torn record at the end of another journal is ignored.
	admitN(t, b, 2, now)
	b.mu.Lock()
	err = b.journal.Append([]byte("torn-rec"))
	b.mu.Unlock()
	require.NoError(t, err)

	c := newTestLedger(t, dir, "i-c")
	n, ids = spoolTotal(c)
	assert.EqualValues(t, 5+21+4+2, n)
	assert.Len(t, ids, 4)
	assert.Equal(t, "i-b-", ids[3][:4])

	// Acknowledged batches leave the spool and the disk.
	c.mu.Lock()
	spool := append([]*spoolBatch(nil), c.spool...)
	c.mu.Unlock()
	for _, sb := range spool {
		c.acked(sb, nil, now)
	}
	assert.Equal(t, []string{"seq"}, spoolFiles(t, dir))
	assert.True(t, nothingPending(c))
}

func TestUsageSequenceIncreasesAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]bool{}
	last := uint64(0)
	for i := range 3 {
		l := newTestLedger(t, dir, "i")
		for range 3 {
			admitN(t, l, 1, time.Now())
			sb := cutOne(t, l)
			assert.Greater(t, sb.seq, last, "restart %d", i)
			assert.False(t, seen[sb.seq])
			seen[sb.seq], last = true, sb.seq
			l.acked(sb, nil, time.Now())
		}
	}
	assert.Equal(t, []string{"seq"}, spoolFiles(t, dir))
}

func TestUsageSpoolFullRefusesRatherThanLoses(t *testing.T) {
	l := newTestLedger(t, t.TempDir(), "i")
	l.maxSpool, l.maxOpen = 2, 3
	now := time.Now()
	for m := range 3 { // three minutes: three entries in the open batch
		admitN(t, l, 1, now.Add(time.Duration(m)*time.Minute))
	}
	l.cut()
	admitN(t, l, 1, now)
	l.cut()
	assert.Equal(t, 2, l.spooled())
	admitN(t, l, 2, now)
	l.cut() // full: the open batch stays open, in its journal
	assert.Equal(t, 2, l.spooled())
	for m := range 2 {
		admitN(t, l, 1, now.Add(time.Duration(m+1)*time.Minute))
	}
	called := false
	assert.ErrorIs(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now.Add(5*time.Minute),
		func(composition.Counter) bool { called = true; return true }), errLedgerFull, "no room for a fourth entry: refused")
	assert.False(t, called, "refused before deciding")
	assert.NoError(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now, admitAny), "an existing entry still has room")

	require.True(t, l.persistAll())
	l.mu.Lock()
	first := l.spool[0]
	l.mu.Unlock()
	l.acked(first, nil, now)
	assert.NoError(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 1}}, now.Add(5*time.Minute), admitAny),
		"room again once home acknowledged a batch: the open batch is cut early")
	n, _ := spoolTotal(l)
	assert.EqualValues(t, 1+5, n, "batch 2, then the open batch cut early; the new record opens the next one")
}

func TestUsageJournalRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x"+journalSuffix)
	b := []byte("portolan-usage-journal 1 \"inst-9\" \"inst\"\n")
	header := len(b)
	b = appendRecord(b, 1<<40, 2, 29000000, 3)
	b = appendRecord(b, 1<<40, 2, 29000000, 4)
	b = appendRecord(b, 5, 6, 29000001, 1)
	require.Len(t, b, header+3*recordSize)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	id, inst, usage, err := readJournal(path)
	require.NoError(t, err)
	assert.Equal(t, "inst-9", id)
	assert.Equal(t, "inst", inst)
	assert.Equal(t, map[usageKey]int64{{1 << 40, 2, 29000000}: 7, {5, 6, 29000001}: 1}, usage)

	b[header+recordSize] ^= 0xff // the second record's application id
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, _, usage, err = readJournal(path)
	assert.Error(t, err, "a damaged record is an error")
	assert.Equal(t, map[usageKey]int64{{1 << 40, 2, 29000000}: 3, {5, 6, 29000001}: 1}, usage, "only the damaged record is lost")
}

func TestUsagePeriodIndexFollowsComposition(t *testing.T) {
	require.Len(t, composition.Periods, numPeriods)
	for i, p := range composition.Periods {
		idx, ok := periodIndex(p)
		assert.True(t, ok, p)
		assert.EqualValues(t, i, idx, p)
	}
}

// Counts saturate instead of wrapping negative, which would lift every limit.
func TestLedgerCountsSaturate(t *testing.T) {
	l, err := New("", "inst", func() int64 { return 1 }, zerolog.Nop())
	require.NoError(t, err)
	now := time.Now()
	start, _ := composition.PeriodBounds("minute", now)
	l.acked(nil, []registry.UsageTotal{total(testApp, testHits, "minute", now, math.MaxInt64-1)}, now)
	require.NoError(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: 2}}, now, admitAny))
	assert.EqualValues(t, int64(math.MaxInt64), l.Current(testApp, testHits, "minute", start))
}

// A request whose usage of one metric is over home's bound of one report
// (composition.MaxUsageDelta) is refused, as home's authrep refuses it.
func TestLedgerRefusesOneRequestsUsageOverHomesBound(t *testing.T) {
	l, err := New("", "inst", func() int64 { return 1 }, zerolog.Nop())
	require.NoError(t, err)
	now := time.Now()
	err = l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: composition.MaxUsageDelta + 1}}, now, admitAny)
	require.ErrorIs(t, err, errDeltaOverBound)
	require.NoError(t, l.Admit(testApp, []composition.Hit{{MetricID: testHits, Delta: composition.MaxUsageDelta}}, now, admitAny))
}
