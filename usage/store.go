package usage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/boltguard"
)

// File is the usage store's file inside the data directory.
const File = "usage.db"

// Retention of the usage store: batch ids are remembered for BatchRetention,
// so an agent may re-send a batch up to then and it is still counted once;
// minute counters are kept for MinuteRetention (limits and analytics need no
// older ones); every longer period is kept forever.
const (
	BatchRetention  = 7 * 24 * time.Hour
	MinuteRetention = 48 * time.Hour
)

var errClosed = errors.New("usage store is closed")

// Store keeps usage counters per application × metric × period × period
// start, for all seven periods of 3scale, and per service for the
// analytics granularities. Writes are group-committed to a write-ahead log
// (usage.wal): concurrent callers share one append and one fdatasync, and
// usage.db gets the log's contents in the background (checkpoint). The
// counters of current periods are mirrored in memory, so limit checks and
// totals never read disk; reads of usage.db add the usage the log holds
// and usage.db does not yet (readCounters).
type Store struct {
	db  *bolt.DB
	log zerolog.Logger
	cfg walConfig
	wal *walLog // the writer's (run)

	reqs      chan *usageCommit // unbuffered: a send succeeds only while run receives
	rotateReq chan chan error   // the checkpointer's requests to rotate the log
	quit      chan struct{}
	done      chan struct{} // the writer and the syncers ended
	ckKick    chan struct{} // the syncers' hint: enough records pending
	ckStop    chan struct{}
	ckDone    chan struct{}
	ckMu      sync.Mutex // one checkpoint at a time
	closeOnce sync.Once
	closeErr  error
	failed    atomic.Pointer[error] // the log failed: every commit is refused
	handed    uint64                // groups the writer handed to the syncers

	ackMu      sync.Mutex  // orders the syncers' answers
	unanswered []*walGroup // handed over and not answered yet, in order (ackMu)

	ovMu sync.Mutex // guards what follows; never held across I/O
	// inflight: batch ids written to the log and not yet synced
	inflight map[string]struct{}
	// open gathers what the syncers made durable; sealed is what a
	// checkpoint is writing (or failed to write) into usage.db.
	open, sealed *pending

	mu      sync.Mutex // guards what follows; also orders Admit's decisions
	cur     map[int64]map[curKey]int64
	svcApps map[int64]map[int64]struct{}
	appSvc  map[int64]int64
	// cutoff[p]: memory holds exactly the counters of period p whose start
	// is at or after it (the start of the current period when last swept).
	cutoff [numPeriods]int64
	// changed: services whose counters changed since Sharing last took
	// them; nil when no Sharing runs.
	changed map[int64]struct{}
	// peers: the other coordinators' current counters (Sharing), added
	// to limit checks and totals; never written to usage.db.
	peers *peerUsage
}

// Increment is an increment of one application's metric at a minute.
type Increment struct {
	App, Metric int64
	Minute      int64 // unix seconds / 60
	Delta       int64
}

// Open opens (or creates) usage.db and usage.wal in dir, replays the log
// into usage.db and loads the counters of the current periods; Close stops
// it.
func Open(dir string, now time.Time, log zerolog.Logger) (*Store, error) {
	return open(dir, now, log, walConfig{checkpointEvery: checkpointInterval,
		checkpointRecords: checkpointRecords, rotateBytes: walRotateBytes})
}

// walConfig is when the log is checkpointed and rotated; tests take the
// timing in hand with it.
type walConfig struct {
	checkpointEvery   time.Duration
	checkpointRecords int
	rotateBytes       int64
	sync              func(*os.File) error // a group's fdatasync; nil: fdatasync
}

func open(dir string, now time.Time, log zerolog.Logger, cfg walConfig) (*Store, error) {
	path := filepath.Join(dir, File)
	// NoFreelistSync: a commit writes no freelist pages (bbolt rebuilds the
	// list when it opens the file), fewer pages behind every fsync. That
	// rebuild walks the file in a goroutine of bbolt's, where a damaged
	// page would crash the process: the file is checked whole first.
	var db *bolt.DB
	err := boltguard.Check(path)
	if err == nil {
		err = boltguard.Guard(func() (err error) {
			db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second,
				NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
			return err
		})
	}
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: locked by another process", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if cfg.sync == nil {
		cfg.sync = fdatasync
	}
	s := &Store{
		db: db, log: log, cfg: cfg, wal: &walLog{dir: dir},
		reqs: make(chan *usageCommit), rotateReq: make(chan chan error),
		quit: make(chan struct{}), done: make(chan struct{}),
		ckKick: make(chan struct{}, 1), ckStop: make(chan struct{}), ckDone: make(chan struct{}),
		inflight: map[string]struct{}{},
		cur:      map[int64]map[curKey]int64{}, svcApps: map[int64]map[int64]struct{}{}, appSvc: map[int64]int64{},
	}
	if err := s.start(now); err != nil {
		if s.wal.f != nil {
			_ = s.wal.f.Close()
		}
		_ = db.Close()
		return nil, fmt.Errorf("open the usage store in %s: %w", dir, err)
	}
	return s, nil
}

// start replays the log, opens it emptied for appending, loads the
// counters and starts the writer and the checkpointer.
func (s *Store) start(now time.Time) error {
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketBatches, bucketBatchTimes, bucketAppCounters, bucketServiceCounters, bucketAppService, bucketWAL} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("create the buckets of %s: %w", File, err)
	}
	next, err := s.replayWAL()
	if err != nil {
		return err
	}
	if err := s.wal.openLive(); err != nil {
		return err
	}
	if err := s.wal.empty(); err != nil { // usage.db holds every record it had
		return err
	}
	s.wal.next = next
	s.open = newPending(next - 1)
	if err := s.load(now); err != nil {
		return fmt.Errorf("load %s: %w", File, err)
	}
	go s.run()
	go s.checkpointLoop(s.ckStop, s.ckDone)
	return nil
}

func (s *Store) load(now time.Time) error {
	return s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketAppService).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != 8 {
				return fmt.Errorf("app_service: malformed entry")
			}
			s.linkLocked(int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(k)))
			return nil
		}); err != nil {
			return err
		}
		c := tx.Bucket(bucketAppCounters).Cursor()
		for i, p := range composition.Periods {
			s.cutoff[i] = periodStart(p, now)
			seek := counterKey(byte(i), s.cutoff[i], 0, 0)
			for k, v := c.Seek(seek); k != nil && k[0] == byte(i); k, v = c.Next() {
				if len(k) != 25 || len(v) != 8 {
					return fmt.Errorf("app_counters: malformed entry")
				}
				app := int64(binary.BigEndian.Uint64(k[9:17]))
				key := curKey{metric: int64(binary.BigEndian.Uint64(k[17:25])), period: byte(i),
					start: int64(binary.BigEndian.Uint64(k[1:9]))}
				s.appCounters(app)[key] = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
}

// Close stops the writer once every commit handed over is answered,
// checkpoints the log into usage.db, empties it and closes both files.
// Closing again returns what the first Close did.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.done
		close(s.ckStop)
		<-s.ckDone
		s.closeErr = s.closeLog()
		if err := s.db.Close(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("close %s: %w", File, err)
		}
	})
	return s.closeErr
}

// closeLog checkpoints what the log holds and empties it, then closes it.
// After a failure the log is left as it is: the next Open replays it.
func (s *Store) closeLog() error {
	err := s.checkpoint(false)
	if err == nil {
		err = s.checkpoint(false) // when the first wrote what an earlier one failed to
	}
	s.ovMu.Lock()
	all := s.sealed == nil && s.open.records == 0
	s.ovMu.Unlock()
	if err == nil && all && s.failure() == nil {
		if err = s.wal.empty(); err == nil {
			err = removeSegments(s.wal.dir, s.wal.next-1)
		}
	}
	if cerr := s.wal.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", s.wal.livePath(), cerr)
	}
	return err
}

// Admit calls decide with the current counters, under the store's lock so
// concurrent decisions see each other's usage; when it returns true the
// usage is added, durably, before Admit returns.
func (s *Store) Admit(ctx context.Context, serviceID, appID int64, usage []composition.Hit, now time.Time,
	decide func(current composition.Counter) bool) (bool, error) {
	incs := make([]Increment, 0, len(usage))
	minute := now.Unix() / 60
	for _, h := range usage {
		if h.Delta != 0 {
			incs = append(incs, Increment{App: appID, Metric: h.MetricID, Minute: minute, Delta: h.Delta})
		}
	}
	s.mu.Lock()
	s.sweepLocked(now)
	if !decide(s.valueLocked) {
		s.mu.Unlock()
		return false, nil
	}
	lost := s.addLocked(serviceID, incs, 1)
	s.mu.Unlock()
	if len(incs) == 0 {
		return true, nil
	}
	c := &usageCommit{service: serviceID, incs: incs, at: now}
	if err := s.commit(ctx, c); err != nil {
		s.mu.Lock()
		s.undoLocked(serviceID, incs, lost)
		s.mu.Unlock()
		return false, err
	}
	return true, nil
}

// Add adds usage unconditionally, durably (the Service Management API's
// report).
func (s *Store) Add(ctx context.Context, serviceID int64, incs []Increment) error {
	_, err := s.Apply(ctx, "", serviceID, incs, time.Now())
	return err
}

// Apply commits increments, with a batch id when batchID is not empty:
// a batch id seen before adds nothing and reports duplicate.
func (s *Store) Apply(ctx context.Context, batchID string, serviceID int64, incs []Increment, now time.Time) (duplicate bool, err error) {
	c := &usageCommit{batchID: batchID, service: serviceID, incs: incs, at: now}
	if err := s.commit(ctx, c); err != nil {
		return false, err
	}
	if !c.dup {
		s.mu.Lock()
		s.sweepLocked(now)
		s.addLocked(serviceID, incs, 1)
		s.mu.Unlock()
	}
	return c.dup, nil
}
