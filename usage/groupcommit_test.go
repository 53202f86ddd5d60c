package usage

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Many concurrent callers share group commits: every acknowledged add is on
// disk after a reopen, every re-sent batch id counted once.
func TestUsageGroupCommitKeepsEveryAcknowledgedAdd(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openTestUsage(t, dir, now)
	ctx := context.Background()
	const callers, each = 48, 20
	var wg sync.WaitGroup
	var admitted, applied atomic.Int64
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := int64(10 + c%4)
			for i := range each {
				if c%2 == 0 {
					ok, err := s.Admit(ctx, 7, app, []composition.Hit{{MetricID: 100, Delta: 1}}, now,
						func(composition.Counter) bool { return true })
					if assert.NoError(t, err) && assert.True(t, ok) {
						admitted.Add(1)
					}
					continue
				}
				// callers 1 and 3 send the same batches, 5 and 7 too, …
				id := fmt.Sprintf("agent-%d-%d", c/4, i)
				dup, err := s.Apply(ctx, id, 7, []Increment{{App: int64(10 + c/4%4), Metric: 100, Minute: minuteOf(now), Delta: 2}}, now)
				if assert.NoError(t, err) && !dup {
					applied.Add(2)
				}
			}
		}()
	}
	wg.Wait()
	want := admitted.Load() + applied.Load()
	assert.EqualValues(t, callers/2*each+callers/4*each*2, want, "each distinct batch counted once")
	day, _ := composition.PeriodBounds("day", now)
	sum := func(s *Store) (total int64) {
		for app := int64(10); app < 14; app++ {
			total += s.Value(app, 100, "day", day)
		}
		return total
	}
	assert.Equal(t, want, sum(s))
	require.NoError(t, s.Close())

	s = openTestUsage(t, dir, now)
	defer s.Close()
	assert.Equal(t, want, sum(s), "every acknowledged add survives a reopen")
	vals, err := s.ServiceValues(7, 100, "day", []time.Time{day})
	require.NoError(t, err)
	assert.Equal(t, []int64{want}, vals, "and the service's counter adds them all")
}

// A group is staged in order: a batch id repeated within one group counts
// once, its record holds the others, and summing the group's increments per
// counter gives what adding them one by one gives.
func TestUsageGroupStagesInOrder(t *testing.T) {
	now := time.Now().UTC()
	s := openTestUsage(t, t.TempDir(), now)
	defer s.Close()
	inc := func(app, delta int64) []Increment {
		return []Increment{{App: app, Metric: 100, Minute: minuteOf(now), Delta: delta}}
	}
	group := []*usageCommit{
		{batchID: "b-1", service: 7, incs: inc(10, 1), at: now},
		{batchID: "b-1", service: 7, incs: inc(10, 100), at: now},
		{service: 7, incs: inc(10, 5), at: now},
		{batchID: "b-2", service: 7, incs: inc(11, 3), at: now},
	}
	st := &stagedGroup{rec: make([]byte, walHeaderLen)}
	for _, c := range group {
		c.done = make(chan error, 1)
		s.stage(st, c)
	}
	defer s.releaseBatches(group)
	assert.Equal(t, []bool{false, true, false, false}, []bool{group[0].dup, group[1].dup, group[2].dup, group[3].dup})
	assert.Equal(t, 3, st.written)
	sealRecord(st.rec, 1)
	rec, n, err := decodeRecord(st.rec)
	require.NoError(t, err)
	assert.Equal(t, len(st.rec), n)
	require.Len(t, rec.commits, 3, "the duplicate is not in the record")
	p := newPending(0)
	for _, c := range rec.commits {
		p.add(c)
	}
	p.upto = 1
	require.NoError(t, s.db.Update(p.write))
	hour, _ := composition.PeriodBounds("hour", now)
	vals, err := s.AppValues(10, 100, "hour", []time.Time{hour})
	require.NoError(t, err)
	assert.Equal(t, []int64{6}, vals)
	vals, err = s.ServiceValues(7, 100, "hour", []time.Time{hour})
	require.NoError(t, err)
	assert.Equal(t, []int64{9}, vals)
}

// Counters saturate at the int64 maximum, in memory and on disk, whether
// the adds share a group commit or not: they never wrap negative.
func TestUsageGroupCommitSaturates(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openTestUsage(t, dir, now)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Apply(ctx, fmt.Sprintf("big-%d", i), 7,
				[]Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: math.MaxInt64 / 8}}, now)
			assert.NoError(t, err)
			ok, err := s.Admit(ctx, 7, 10, []composition.Hit{{MetricID: 100, Delta: math.MaxInt64 - 1}}, now,
				func(composition.Counter) bool { return true })
			assert.NoError(t, err)
			assert.True(t, ok)
		}()
	}
	wg.Wait()
	month, _ := composition.PeriodBounds("month", now)
	check := func(s *Store, what string) {
		for _, p := range []string{"minute", "month", "eternity"} {
			start, _ := composition.PeriodBounds(p, now)
			assert.EqualValues(t, int64(math.MaxInt64), s.Value(10, 100, p, start), "%s: %s in memory", what, p)
			vals, err := s.AppValues(10, 100, p, []time.Time{start})
			require.NoError(t, err)
			assert.Equal(t, []int64{math.MaxInt64}, vals, "%s: %s on disk", what, p)
		}
		vals, err := s.ServiceValues(7, 100, "month", []time.Time{month})
		require.NoError(t, err)
		assert.Equal(t, []int64{math.MaxInt64}, vals, "%s: the service's month", what)
	}
	check(s, "open")
	require.NoError(t, s.Close())
	s = openTestUsage(t, dir, now)
	defer s.Close()
	check(s, "reopened")
}

// A commit that fails answers an error and takes its reservation back: a
// decision never counts what was not stored.
func TestUsageAdmitRollsBackAFailedCommit(t *testing.T) {
	now := time.Now().UTC()
	dir := t.TempDir()
	s := openTestUsage(t, dir, now)
	ctx := context.Background()
	ok, err := s.Admit(ctx, 7, 10, []composition.Hit{{MetricID: 100, Delta: 4}}, now, func(composition.Counter) bool { return true })
	require.NoError(t, err)
	require.True(t, ok)
	// every later append fails: the log is swapped for a read-only file
	ro, err := os.Open(s.wal.livePath())
	require.NoError(t, err)
	live := s.wal.f
	defer live.Close()
	s.wal.f = ro
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Admit(ctx, 7, 10, []composition.Hit{{MetricID: 100, Delta: 1}}, now, func(composition.Counter) bool { return true })
			assert.Error(t, err)
			assert.False(t, ok)
		}()
	}
	wg.Wait()
	minute, _ := composition.PeriodBounds("minute", now)
	assert.EqualValues(t, 4, s.Value(10, 100, "minute", minute), "only the stored add counts")
	_, err = s.Apply(ctx, "", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}, now)
	assert.ErrorContains(t, err, "usage log failed earlier", "the log refuses every commit after a failure")
	assert.NoError(t, s.Close(), "the acknowledged usage is checkpointed")
	s = openTestUsage(t, dir, now)
	defer s.Close()
	assert.EqualValues(t, 4, s.Value(10, 100, "minute", minute), "and only it is there after a reopen")
}

// A failed commit takes its add back exactly, also from a counter it
// saturated: the counter is where it was before the decision.
func TestUsageAdmitRollsBackASaturatedCounterExactly(t *testing.T) {
	now := time.Now().UTC()
	s := openTestUsage(t, t.TempDir(), now)
	defer s.Close()
	ctx := context.Background()
	const before = math.MaxInt64 - 2
	_, err := s.Apply(ctx, "", 7, []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: before}}, now)
	require.NoError(t, err)
	ro, err := os.Open(s.wal.livePath()) // every later append fails
	require.NoError(t, err)
	live := s.wal.f
	defer live.Close()
	s.wal.f = ro
	ok, err := s.Admit(ctx, 7, 10, []composition.Hit{{MetricID: 100, Delta: 5}}, now, func(composition.Counter) bool { return true })
	require.Error(t, err)
	require.False(t, ok)
	minute, _ := composition.PeriodBounds("minute", now)
	assert.EqualValues(t, int64(before), s.Value(10, 100, "minute", minute), "the counter as it was before the failed commit")
}

// openHeldSync opens a store whose first group's fdatasync does not begin
// until release is closed (held is closed when it is reached); every later
// group's is later's.
func openHeldSync(t *testing.T, now time.Time, later func(*os.File) error) (s *Store, held, release chan struct{}) {
	t.Helper()
	held, release = make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	s, err := open(t.TempDir(), now, zerolog.Nop(), walConfig{checkpointEvery: time.Hour, checkpointRecords: checkpointRecords,
		rotateBytes: walRotateBytes, sync: func(f *os.File) error {
			if calls.Add(1) > 1 {
				return later(f)
			}
			close(held)
			<-release
			return fdatasync(f)
		}})
	require.NoError(t, err)
	return s, held, release
}

// A group whose own fdatasync is slow is answered as soon as a later
// group's ends: that fdatasync began after the slow group's record was
// written to the same file, so it made that record durable too.
func TestUsageGroupAnsweredByALaterFdatasync(t *testing.T) {
	now := time.Now().UTC()
	s, held, release := openHeldSync(t, now, fdatasync)
	defer s.Close()
	defer close(release)
	incs := []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}
	first := make(chan error, 1)
	go func() { _, err := s.Apply(context.Background(), "first", 7, incs, now); first <- err }()
	<-held // the first group is in its fdatasync, which does not end
	second := make(chan error, 1)
	go func() { _, err := s.Apply(context.Background(), "second", 7, incs, now); second <- err }()
	for _, c := range []chan error{first, second} {
		select {
		case err := <-c:
			require.NoError(t, err, "answered: durable by the second fdatasync")
		case <-time.After(5 * time.Second):
			t.Fatal("the first group waited for its own fdatasync, and the second for the first")
		}
	}
	assert.EqualValues(t, 2, s.Value(10, 100, "minute", time.Unix(minuteOf(now)*60, 0)))
}

// A failed fdatasync fails the log: a group written before it whose own
// fdatasync has not ended is answered with the failure (no later
// fdatasync vouches for it), and so is every commit after.
func TestUsageFailedFdatasyncFailsTheGroupsNotDurable(t *testing.T) {
	now := time.Now().UTC()
	s, held, release := openHeldSync(t, now, func(*os.File) error { return syscall.EIO })
	defer s.Close()
	incs := []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}
	first := make(chan error, 1)
	go func() { _, err := s.Apply(context.Background(), "first", 7, incs, now); first <- err }()
	<-held
	_, err := s.Apply(context.Background(), "second", 7, incs, now)
	require.ErrorIs(t, err, syscall.EIO)
	select {
	case err := <-first:
		require.ErrorIs(t, err, syscall.EIO, "not durable when the log failed")
	case <-time.After(5 * time.Second):
		t.Fatal("the first group was not answered when the log failed")
	}
	close(release)
	_, err = s.Apply(context.Background(), "third", 7, incs, now)
	assert.ErrorIs(t, err, syscall.EIO)
	assert.EqualValues(t, 0, s.Value(10, 100, "minute", time.Unix(minuteOf(now)*60, 0)), "nothing counted")
}

// A commit staged while every syncer is busy is written and answered after a
// log rotation that waited for every syncer.
func TestUsageCommitStagedDuringARotationIsAnswered(t *testing.T) {
	now := time.Now().UTC()
	gate := make(chan struct{})
	entered := make(chan struct{}, 64)
	s, err := open(t.TempDir(), now, zerolog.Nop(), walConfig{checkpointEvery: time.Hour, checkpointRecords: checkpointRecords,
		rotateBytes: walRotateBytes, sync: func(f *os.File) error {
			entered <- struct{}{}
			<-gate
			return fdatasync(f)
		}})
	require.NoError(t, err)
	defer s.Close()
	incs := []Increment{{App: 10, Metric: 100, Minute: minuteOf(now), Delta: 1}}
	done := make(chan error, 8)
	apply := func(id string) {
		go func() { _, err := s.Apply(context.Background(), id, 7, incs, now); done <- err }()
	}
	for i := range walSyncers { // one group per syncer, each held in its fdatasync
		apply(fmt.Sprintf("busy-%d", i))
		<-entered
	}
	apply("staged") // every syncer busy: staged
	require.Eventually(t, func() bool {
		s.ovMu.Lock()
		defer s.ovMu.Unlock()
		_, ok := s.inflight["staged"]
		return ok
	}, 2*time.Second, time.Millisecond)
	reply := make(chan error, 1)
	s.rotateReq <- reply // what checkpoint's rotateLog sends: the writer now waits for its syncers
	close(gate)
	require.NoError(t, <-reply)
	for i := 0; i < walSyncers+1; i++ {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(3 * time.Second):
			t.Fatalf("%d of %d commits answered; the commit staged before the rotation is never written (no idle token left to wake the writer)", i, walSyncers+1)
		}
	}
}
