package usage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/portolan/portolan/composition"
)

// openManual opens a store that checkpoints only when told (checkpoint,
// Close), so a test knows what usage.db holds.
func openManual(t *testing.T, dir string, now time.Time, log zerolog.Logger) *Store {
	t.Helper()
	s, err := open(dir, now, log, walConfig{checkpointEvery: time.Hour, checkpointRecords: math.MaxInt, rotateBytes: math.MaxInt64})
	require.NoError(t, err)
	return s
}

// crash stops s as a kill -9 right after its last fdatasync would: every
// commit handed over is answered, nothing more is checkpointed, the log is
// left as it is.
func crash(t *testing.T, s *Store) {
	t.Helper()
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.done
		close(s.ckStop)
		<-s.ckDone
		require.NoError(t, s.wal.f.Close())
		require.NoError(t, s.db.Close())
	})
}

// rawValue reads a counter from usage.db alone.
func rawValue(t *testing.T, s *Store, app int64, period string, start time.Time) int64 {
	t.Helper()
	var v int64
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAppCounters).Get(counterKey(periodIndex[period], periodStart(period, start), app, 100)); len(b) == 8 {
			v = int64(u64be(b))
		}
		return nil
	}))
	return v
}

func u64be(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// recordOffsets returns where each record of a log file starts.
func recordOffsets(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var offs []int
	for off := 0; off < len(data); {
		_, n, err := decodeRecord(data[off:])
		require.NoError(t, err)
		offs = append(offs, off)
		off += n
	}
	return offs
}

func applyN(t *testing.T, s *Store, now time.Time, ids ...string) {
	t.Helper()
	for _, id := range ids {
		dup, err := s.Apply(context.Background(), id, 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}, now)
		require.NoError(t, err)
		require.False(t, dup, id)
	}
}

func sameCommits(t *testing.T, want, got []*usageCommit) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].batchID, got[i].batchID)
		assert.Equal(t, want[i].service, got[i].service)
		assert.Equal(t, want[i].at.UnixNano(), got[i].at.UnixNano())
		assert.Equal(t, len(want[i].incs), len(got[i].incs))
		for j := range want[i].incs {
			assert.Equal(t, want[i].incs[j], got[i].incs[j])
		}
	}
}

// A record decodes to what was encoded; every prefix of it is torn, every
// flipped byte makes it torn or corrupt, never something else.
func TestWALRecordRoundTrips(t *testing.T) {
	at := time.Unix(1_780_000_000, 123456789)
	commits := []*usageCommit{
		{batchID: "agent-1-42", service: 7, at: at, incs: []Increment{
			{App: 10, Metric: 100, Minute: 29_666_666, Delta: 1},
			{App: math.MaxInt64, Metric: -1, Minute: 0, Delta: math.MaxInt64},
		}},
		{service: 8, at: at},
	}
	rec := encodeRecord(42, commits)
	got, n, err := decodeRecord(append(bytes.Clone(rec), 0xff, 0xff))
	require.NoError(t, err)
	assert.Equal(t, len(rec), n, "a record knows its end")
	assert.EqualValues(t, 42, got.seq)
	sameCommits(t, commits, got.commits)

	for cut := range len(rec) {
		_, _, err := decodeRecord(rec[:cut])
		assert.True(t, errors.Is(err, errTornRecord) || errors.Is(err, errCorruptRecord) && cut >= walHeaderLen,
			"a record cut at %d: %v", cut, err)
	}
	for i := range rec {
		bad := bytes.Clone(rec)
		bad[i] ^= 0x10
		_, _, err := decodeRecord(bad)
		assert.True(t, errors.Is(err, errTornRecord) || errors.Is(err, errCorruptRecord), "byte %d flipped: %v", i, err)
	}
	_, _, err = decodeRecord(make([]byte, 64))
	assert.ErrorIs(t, err, errCorruptRecord, "zeros (a preallocated or unwritten tail) are no record")
}

// Every usage acknowledged before a crash is there after it, from the log
// alone: usage.db was never checkpointed. Batch ids too.
func TestWALReplaysAcknowledgedUsageAfterACrash(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openManual(t, dir, now, zerolog.Nop())
	ctx := context.Background()
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if c%2 == 0 {
					ok, err := s.Admit(ctx, 7, 10, []composition.Hit{{MetricID: 100, Delta: 1}}, now,
						func(composition.Counter) bool { return true })
					assert.NoError(t, err)
					assert.True(t, ok)
					continue
				}
				_, err := s.Apply(ctx, fmt.Sprintf("b-%d-%d", c, i), 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 2}}, now)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	const want = 8*10 + 8*10*2
	day, _ := composition.PeriodBounds("day", now)
	assert.EqualValues(t, want, s.Value(10, 100, "day", day))
	assert.Zero(t, rawValue(t, s, 10, "day", day), "nothing checkpointed yet")
	crash(t, s)

	s = openManual(t, dir, now, zerolog.Nop())
	defer s.Close()
	assert.EqualValues(t, want, s.Value(10, 100, "day", day), "every acknowledged add is replayed")
	assert.EqualValues(t, want, rawValue(t, s, 10, "day", day), "into usage.db")
	vals, err := s.ServiceSums(7, 100, []time.Time{day, day.Add(24 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []int64{want}, vals)
	fi, err := os.Stat(filepath.Join(dir, WALFile))
	require.NoError(t, err)
	assert.Zero(t, fi.Size(), "the log is emptied once replayed")
	dup, err := s.Apply(ctx, "b-1-0", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 2}}, now)
	require.NoError(t, err)
	assert.True(t, dup, "a batch id from the log is known after the replay")
}

// A torn record at the end of the log, a write a crash cut before its
// fdatasync, is dropped at Open: it was never acknowledged.
func TestWALTornTailIsDroppedOnOpen(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openManual(t, dir, now, zerolog.Nop())
	applyN(t, s, now, "a", "b", "c")
	crash(t, s)
	path := filepath.Join(dir, WALFile)
	torn := encodeRecord(4, []*usageCommit{{batchID: "d", service: 7, at: now,
		incs: []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1000}}}})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(torn[:len(torn)-3])
	require.NoError(t, err)
	require.NoError(t, f.Close())

	var logged bytes.Buffer
	s = openManual(t, dir, now, zerolog.New(&logged))
	defer s.Close()
	day, _ := composition.PeriodBounds("day", now)
	assert.EqualValues(t, 3, s.Value(10, 100, "day", day), "the three acknowledged adds, not the torn one")
	assert.Contains(t, logged.String(), "dropped a torn record")
	applyN(t, s, now, "d")
	assert.EqualValues(t, 4, s.Value(10, 100, "day", day), "the torn batch was never applied")
}

// A corrupt record with whole ones after it is damage, not a crash's torn
// write: Open fails and names the file and both offsets.
func TestWALCorruptRecordFollowedByWholeOnesIsAnError(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openManual(t, dir, now, zerolog.Nop())
	applyN(t, s, now, "a", "b", "c")
	crash(t, s)
	path := filepath.Join(dir, WALFile)
	offs := recordOffsets(t, path)
	require.Len(t, offs, 3)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[offs[1]+walHeaderLen+2] ^= 0x01
	require.NoError(t, os.WriteFile(path, data, 0o600))

	_, err = openWithErr(dir, now)
	require.Error(t, err)
	assert.ErrorContains(t, err, path)
	assert.ErrorContains(t, err, fmt.Sprintf("record at offset %d", offs[1]))
	assert.ErrorContains(t, err, fmt.Sprintf("a whole record follows at offset %d", offs[2]))
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, after, "a damaged log is left as it is")
}

func openWithErr(dir string, now time.Time) (*Store, error) {
	s, err := open(dir, now, zerolog.Nop(), walConfig{checkpointEvery: time.Hour, checkpointRecords: math.MaxInt, rotateBytes: math.MaxInt64})
	if err == nil {
		_ = s.Close()
	}
	return s, err
}

// Replaying a log twice counts it once: records up to the one usage.db
// holds are skipped by their sequence number, and a later record with a
// batch id usage.db has is skipped by its batch id.
func TestWALReplayIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openManual(t, dir, now, zerolog.Nop())
	applyN(t, s, now, "a", "b", "c")
	crash(t, s)
	path := filepath.Join(dir, WALFile)
	log, err := os.ReadFile(path)
	require.NoError(t, err)

	s = openManual(t, dir, now, zerolog.Nop())
	require.NoError(t, s.Close())
	// as if the crash came after the replay's transaction, before the
	// log was emptied; with two records written after it
	inc := func(id string, delta int64) *usageCommit {
		return &usageCommit{batchID: id, service: 7, at: now, incs: []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: delta}}}
	}
	log = append(log, encodeRecord(4, []*usageCommit{inc("a", 100)})...)
	log = append(log, encodeRecord(5, []*usageCommit{inc("e", 10), inc("", 20)})...)
	require.NoError(t, os.WriteFile(path, log, 0o600))

	s = openManual(t, dir, now, zerolog.Nop())
	defer s.Close()
	day, _ := composition.PeriodBounds("day", now)
	assert.EqualValues(t, 3+10+20, s.Value(10, 100, "day", day), "a, b and c once, a's re-send not at all")
	applyN(t, s, now, "f")
	assert.EqualValues(t, 34, s.Value(10, 100, "day", day), "the sequence goes on after the replayed records")
}

// A log with records missing before the ones usage.db lacks cannot be
// replayed: Open says so rather than count part of it.
func TestWALMissingRecordsAreAnError(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	require.NoError(t, openManual(t, dir, now, zerolog.Nop()).Close())
	c := &usageCommit{service: 7, at: now, incs: []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}}
	require.NoError(t, os.WriteFile(filepath.Join(dir, WALFile), encodeRecord(3, []*usageCommit{c}), 0o600))
	_, err := openWithErr(dir, now)
	assert.ErrorContains(t, err, "the log starts at record 3, usage.db holds up to 0: records are missing")

	log := append(encodeRecord(1, []*usageCommit{c}), encodeRecord(3, []*usageCommit{c})...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, WALFile), log, 0o600))
	_, err = openWithErr(dir, now)
	assert.ErrorContains(t, err, "record 3 follows record 1: records are missing")
}

// Reads see acknowledged usage before the checkpoint puts it in usage.db,
// and the same after; a checkpoint removes the rotated segments it covers,
// and Close leaves an empty log.
func TestWALCheckpointRotatesAndReadsSeeThePendingUsage(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openManual(t, dir, now, zerolog.Nop())
	applyN(t, s, now, "a", "b")
	require.NoError(t, s.rotateLog())
	seg := segmentPath(dir, 2)
	assert.FileExists(t, seg, "the rotated segment is named by its last record")
	applyN(t, s, now, "c")

	hour, _ := composition.PeriodBounds("hour", now)
	past := now.Add(2 * time.Hour) // the hour is past for Value: read from usage.db and the log
	read := func(what string) {
		t.Helper()
		vals, err := s.AppValues(10, 100, "hour", []time.Time{hour})
		require.NoError(t, err)
		assert.Equal(t, []int64{3}, vals, "%s: AppValues", what)
		vals, err = s.ServiceValues(7, 100, "hour", []time.Time{hour})
		require.NoError(t, err)
		assert.Equal(t, []int64{3}, vals, "%s: ServiceValues", what)
		vals, err = s.AppSums(10, 100, []time.Time{hour, hour.Add(time.Hour), hour.Add(2 * time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, []int64{3, 0}, vals, "%s: AppSums", what)
		s.mu.Lock()
		s.sweepLocked(past)
		v := s.valueLocked(10, 100, "hour", hour)
		s.mu.Unlock()
		assert.EqualValues(t, 3, v, "%s: a past period's Value", what)
	}
	read("before the checkpoint")
	assert.Zero(t, rawValue(t, s, 10, "hour", hour))

	require.NoError(t, s.checkpoint(false))
	assert.EqualValues(t, 3, rawValue(t, s, 10, "hour", hour), "the checkpoint wrote the log into usage.db")
	assert.NoFileExists(t, seg, "and removed the segment it covers")
	read("after the checkpoint")

	s.cfg.rotateBytes = 1 // the checkpointer is idle for an hour: no race
	applyN(t, s, now, "d")
	require.NoError(t, s.checkpoint(true))
	segs, err := closedSegments(dir)
	require.NoError(t, err)
	assert.Empty(t, segs, "a rotation in a checkpoint removes its segment at once")
	assert.EqualValues(t, 4, rawValue(t, s, 10, "hour", hour))

	applyN(t, s, now, "e")
	require.NoError(t, s.Close())
	fi, err := os.Stat(filepath.Join(dir, WALFile))
	require.NoError(t, err)
	assert.Zero(t, fi.Size(), "Close checkpoints and empties the log")
	s = openManual(t, dir, now, zerolog.Nop())
	defer s.Close()
	assert.EqualValues(t, 5, rawValue(t, s, 10, "hour", hour))
}
