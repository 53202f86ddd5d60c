package coordinator

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// UsageFile is the usage store's file inside the data directory.
const UsageFile = "usage.db"

// Retention of the usage store: batch ids are remembered for BatchRetention,
// so an agent may re-send a batch up to then and it is still counted once;
// minute counters are kept for MinuteRetention (limits and analytics need no
// older ones); every longer period is kept forever.
const (
	BatchRetention  = 7 * 24 * time.Hour
	MinuteRetention = 48 * time.Hour
)

const (
	maxGroup        = 256   // commits folded into one bbolt transaction
	maxPruneDeletes = 20000 // keys one prune pass deletes, to bound its transaction
)

var (
	// batch id → applied-at (unix nanoseconds)
	bucketBatches = []byte("batches")
	// applied-at (8) + batch id → nothing, for pruning in time order
	bucketBatchTimes = []byte("batch_times")
	// period (1) + start (8) + application (8) + metric (8) → value (8)
	bucketAppCounters = []byte("app_counters")
	// period (1) + start (8) + service (8) + metric (8) → value (8)
	bucketServiceCounters = []byte("service_counters")
	// application (8) → service (8)
	bucketAppService = []byte("app_service")
)

var errUsageClosed = errors.New("usage store is closed")

// usageStore keeps usage counters per application × metric × period × period
// start, for all seven periods of 3scale, and per service for the
// analytics granularities, in bbolt (usage.db). Writes are group-committed:
// concurrent callers share one fsynced transaction. The counters of current
// periods are mirrored in memory, so limit checks and totals never read disk.
type usageStore struct {
	db  *bolt.DB
	log zerolog.Logger

	reqs chan *usageCommit // unbuffered: a send succeeds only while run receives
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex // guards what follows; also orders Admit's decisions
	cur     map[int64]map[curKey]int64
	svcApps map[int64]map[int64]struct{}
	appSvc  map[int64]int64
	// cutoff[p]: memory holds exactly the counters of period p whose start
	// is at or after it (the start of the current period when last swept).
	cutoff [numPeriods]int64
	// changed: services whose counters changed since usageShare last took
	// them; nil when no usageShare runs.
	changed map[int64]struct{}
	// peers: the other coordinators' current counters (usageShare), added
	// to limit checks and totals; never written to usage.db.
	peers *peerUsage
}

const numPeriods = 7

// periods in composition.Periods order; the index is the key's first byte.
var periodIndex = func() map[string]byte {
	m := map[string]byte{}
	for i, p := range composition.Periods {
		m[p] = byte(i)
	}
	return m
}()

// analyticsPeriods are the periods kept per service too.
var analyticsPeriods = []string{"hour", "day", "month", "eternity"}

type curKey struct {
	metric int64
	period byte
	start  int64 // unix seconds; 0 for eternity
}

// usageInc is an increment of one application's metric at a minute.
type usageInc struct {
	app, metric int64
	minute      int64 // unix seconds / 60
	delta       int64
}

// usageCommit is one unit of the group commit: an optional batch id and the
// increments applied with it.
type usageCommit struct {
	batchID string
	service int64
	incs    []usageInc
	at      time.Time
	dup     bool // set by run: the batch id was already there
	done    chan error
}

// openUsageStore opens (or creates) usage.db in dir and loads the counters of
// the current periods; Close stops it.
func openUsageStore(dir string, now time.Time, log zerolog.Logger) (*usageStore, error) {
	path := filepath.Join(dir, UsageFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: locked by another process", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &usageStore{
		db: db, log: log,
		reqs: make(chan *usageCommit), quit: make(chan struct{}), done: make(chan struct{}),
		cur: map[int64]map[curKey]int64{}, svcApps: map[int64]map[int64]struct{}{}, appSvc: map[int64]int64{},
	}
	if err := s.load(now); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	go s.run()
	return s, nil
}

func (s *usageStore) load(now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketBatches, bucketBatchTimes, bucketAppCounters, bucketServiceCounters, bucketAppService} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
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

// Close stops the committer and closes the file.
func (s *usageStore) Close() error {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
	return s.db.Close()
}

// periodStart is the key of the period of p containing t: unix seconds of its
// start, 0 for eternity.
func periodStart(p string, t time.Time) int64 {
	start, _ := composition.PeriodBounds(p, t)
	if start.IsZero() {
		return 0
	}
	return start.Unix()
}

func startTime(start int64) time.Time {
	if start == 0 {
		return time.Time{}
	}
	return time.Unix(start, 0).UTC()
}

func counterKey(period byte, start, owner, metric int64) []byte {
	k := make([]byte, 25)
	k[0] = period
	binary.BigEndian.PutUint64(k[1:9], uint64(start))
	binary.BigEndian.PutUint64(k[9:17], uint64(owner))
	binary.BigEndian.PutUint64(k[17:25], uint64(metric))
	return k
}

func (s *usageStore) appCounters(app int64) map[curKey]int64 {
	m := s.cur[app]
	if m == nil {
		m = map[curKey]int64{}
		s.cur[app] = m
	}
	return m
}

func (s *usageStore) linkLocked(service, app int64) {
	if s.appSvc[app] == service {
		return
	}
	if old, ok := s.appSvc[app]; ok {
		delete(s.svcApps[old], app)
	}
	s.appSvc[app] = service
	apps := s.svcApps[service]
	if apps == nil {
		apps = map[int64]struct{}{}
		s.svcApps[service] = apps
	}
	apps[app] = struct{}{}
}

// addLocked adds increments to the counters in memory (those of current or
// later periods); sign -1 takes them back.
func (s *usageStore) addLocked(service int64, incs []usageInc, sign int64) {
	if s.changed != nil && len(incs) > 0 {
		s.changed[service] = struct{}{}
	}
	for _, in := range incs {
		s.linkLocked(service, in.app)
		at := time.Unix(in.minute*60, 0)
		counters := s.appCounters(in.app)
		for i, p := range composition.Periods {
			start := periodStart(p, at)
			if start < s.cutoff[i] {
				continue
			}
			key := curKey{metric: in.metric, period: byte(i), start: start}
			if v := counters[key] + sign*in.delta; v != 0 {
				counters[key] = v
			} else {
				delete(counters, key)
			}
		}
	}
}

// sweepLocked moves the cutoffs to the current periods of now and drops the
// counters of periods that ended from memory (they stay on disk).
func (s *usageStore) sweepLocked(now time.Time) {
	moved := false
	for i, p := range composition.Periods {
		if c := periodStart(p, now); c > s.cutoff[i] {
			s.cutoff[i], moved = c, true
		}
	}
	if !moved {
		return
	}
	for app, counters := range s.cur {
		for k := range counters {
			if k.start < s.cutoff[k.period] {
				delete(counters, k)
			}
		}
		if len(counters) == 0 {
			delete(s.cur, app)
		}
	}
}

// valueLocked is a composition.Counter: memory for current periods, disk
// for earlier ones.
func (s *usageStore) valueLocked(app, metric int64, period string, start time.Time) int64 {
	i, ok := periodIndex[period]
	if !ok {
		return 0
	}
	st := int64(0)
	if !start.IsZero() {
		st = start.Unix()
	}
	if st >= s.cutoff[i] {
		key := curKey{metric: metric, period: i, start: st}
		return s.cur[app][key] + s.peers.value(app, key)
	}
	var v int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAppCounters).Get(counterKey(i, st, app, metric)); len(b) == 8 {
			v = int64(binary.BigEndian.Uint64(b))
		}
		return nil
	})
	return v
}

// Value returns an application's counter, as composition.Counter.
func (s *usageStore) Value(app, metric int64, period string, start time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valueLocked(app, metric, period, start)
}

// Admit calls decide with the current counters, under the store's lock so
// concurrent decisions see each other's usage; when it returns true the
// usage is added, durably, before Admit returns.
func (s *usageStore) Admit(ctx context.Context, serviceID, appID int64, usage []composition.Hit, now time.Time,
	decide func(current composition.Counter) bool) (bool, error) {
	incs := make([]usageInc, 0, len(usage))
	minute := now.Unix() / 60
	for _, h := range usage {
		if h.Delta != 0 {
			incs = append(incs, usageInc{app: appID, metric: h.MetricID, minute: minute, delta: h.Delta})
		}
	}
	s.mu.Lock()
	s.sweepLocked(now)
	if !decide(s.valueLocked) {
		s.mu.Unlock()
		return false, nil
	}
	s.addLocked(serviceID, incs, 1)
	s.mu.Unlock()
	if len(incs) == 0 {
		return true, nil
	}
	c := &usageCommit{service: serviceID, incs: incs, at: now}
	if err := s.commit(ctx, c); err != nil {
		s.mu.Lock()
		s.addLocked(serviceID, incs, -1)
		s.mu.Unlock()
		return false, err
	}
	return true, nil
}

// Add adds usage unconditionally (the Service Management API's report).
func (s *usageStore) Add(ctx context.Context, serviceID int64, usage []threescale.UsageIncrement) error {
	incs := make([]usageInc, 0, len(usage))
	for _, u := range usage {
		incs = append(incs, usageInc{app: u.ApplicationID, metric: u.MetricID, minute: u.At.Unix() / 60, delta: u.Delta})
	}
	_, err := s.apply(ctx, "", serviceID, incs, time.Now())
	return err
}

// apply commits increments, with a batch id when batchID is not empty:
// a batch id seen before adds nothing and reports duplicate.
func (s *usageStore) apply(ctx context.Context, batchID string, serviceID int64, incs []usageInc, now time.Time) (duplicate bool, err error) {
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

// commit hands c to the committer and waits for its transaction. Once handed
// over it always waits: the outcome must be known, whatever ctx says.
func (s *usageStore) commit(ctx context.Context, c *usageCommit) error {
	c.done = make(chan error, 1)
	select {
	case s.reqs <- c:
	case <-ctx.Done():
		return fmt.Errorf("usage not committed: %w", ctx.Err())
	case <-s.quit:
		return errUsageClosed
	}
	return <-c.done
}

// run commits what callers hand over, folding every commit waiting at the
// time into one transaction, and prunes old batch ids and minute counters.
func (s *usageStore) run() {
	defer close(s.done)
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	s.prune(time.Now())
	for {
		select {
		case <-s.quit:
			return
		case now := <-prune.C:
			s.prune(now)
		case c := <-s.reqs:
			group := []*usageCommit{c}
		more:
			for len(group) < maxGroup {
				select {
				case c := <-s.reqs:
					group = append(group, c)
				default:
					break more
				}
			}
			err := s.db.Update(func(tx *bolt.Tx) error {
				for _, c := range group {
					dup, err := writeCommit(tx, c)
					if err != nil {
						return err
					}
					c.dup = dup
				}
				return nil
			})
			if err != nil {
				err = fmt.Errorf("commit usage to %s: %w", UsageFile, err)
			}
			for _, c := range group {
				c.done <- err
			}
		}
	}
}

// writeCommit writes one commit in tx; a known batch id writes nothing.
func writeCommit(tx *bolt.Tx, c *usageCommit) (duplicate bool, err error) {
	if c.batchID != "" {
		batches := tx.Bucket(bucketBatches)
		if batches.Get([]byte(c.batchID)) != nil {
			return true, nil
		}
		at := make([]byte, 8)
		binary.BigEndian.PutUint64(at, uint64(c.at.UnixNano()))
		if err := batches.Put([]byte(c.batchID), at); err != nil {
			return false, err
		}
		if err := tx.Bucket(bucketBatchTimes).Put(append(at, c.batchID...), nil); err != nil {
			return false, err
		}
	}
	apps, svcs, links := tx.Bucket(bucketAppCounters), tx.Bucket(bucketServiceCounters), tx.Bucket(bucketAppService)
	var idb, svcb [8]byte
	binary.BigEndian.PutUint64(svcb[:], uint64(c.service))
	for _, in := range c.incs {
		binary.BigEndian.PutUint64(idb[:], uint64(in.app))
		if v := links.Get(idb[:]); !bytes.Equal(v, svcb[:]) {
			if err := links.Put(idb[:], svcb[:]); err != nil {
				return false, err
			}
		}
		at := time.Unix(in.minute*60, 0)
		for i, p := range composition.Periods {
			if err := addCounter(apps, counterKey(byte(i), periodStart(p, at), in.app, in.metric), in.delta); err != nil {
				return false, err
			}
		}
		for _, p := range analyticsPeriods {
			k := counterKey(periodIndex[p], periodStart(p, at), c.service, in.metric)
			if err := addCounter(svcs, k, in.delta); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

func addCounter(b *bolt.Bucket, key []byte, delta int64) error {
	var v int64
	if old := b.Get(key); len(old) == 8 {
		v = int64(binary.BigEndian.Uint64(old))
	}
	buf := make([]byte, 8)
	binary.BigEndian.PutUint64(buf, uint64(v+delta))
	return b.Put(key, buf)
}

// prune forgets batch ids older than BatchRetention and minute counters older
// than MinuteRetention, a bounded number per pass.
func (s *usageStore) prune(now time.Time) {
	var batches, minutes int
	err := s.db.Update(func(tx *bolt.Tx) error {
		times, ids := tx.Bucket(bucketBatchTimes), tx.Bucket(bucketBatches)
		var before [8]byte
		binary.BigEndian.PutUint64(before[:], uint64(now.Add(-BatchRetention).UnixNano()))
		c := times.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], before[:]) < 0 && batches < maxPruneDeletes; k, _ = c.Next() {
			if err := ids.Delete(k[8:]); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
			batches++
		}
		minute := periodIndex["minute"]
		end := counterKey(minute, now.Add(-MinuteRetention).Unix(), 0, 0)
		c = tx.Bucket(bucketAppCounters).Cursor()
		for k, _ := c.Seek([]byte{minute}); k != nil && bytes.Compare(k, end) < 0 && minutes < maxPruneDeletes; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			minutes++
		}
		return nil
	})
	if err != nil {
		s.log.Error().Err(err).Msg("pruning the usage store failed")
		return
	}
	if batches+minutes > 0 {
		s.log.Debug().Int("batch_ids", batches).Int("minute_counters", minutes).Msg("pruned the usage store")
	}
}

// totals returns the non-zero counters of the current periods of every
// application of a service, this coordinator's and its peers' added up.
func (s *usageStore) totals(serviceID int64, now time.Time) []registry.UsageTotal {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	var out []registry.UsageTotal
	add := func(app int64, k curKey, v int64) {
		if v != 0 && k.start == s.cutoff[k.period] {
			out = append(out, registry.UsageTotal{ApplicationID: app, MetricID: k.metric,
				Period: composition.Periods[k.period], Start: startTime(k.start), Value: v})
		}
	}
	for app := range s.svcApps[serviceID] {
		for k, v := range s.cur[app] {
			add(app, k, v+s.peers.value(app, k))
		}
	}
	if s.peers == nil {
		return out
	}
	for app := range s.peers.svcApps[serviceID] {
		local := s.cur[app]
		for k, v := range s.peers.apps[app] {
			if _, ok := local[k]; !ok { // else added above
				add(app, k, v)
			}
		}
	}
	return out
}

// Values returns the committed counters of an application or a service's
// metric in the periods starting at starts (zero time for eternity).
func (s *usageStore) Values(scope threescale.Scope, id, metricID int64, period string, starts []time.Time) ([]int64, error) {
	i, ok := periodIndex[period]
	if !ok {
		return nil, fmt.Errorf("unknown period %q", period)
	}
	bucket := bucketAppCounters
	if scope == threescale.ScopeService {
		bucket = bucketServiceCounters
	}
	out := make([]int64, len(starts))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for n, st := range starts {
			sec := int64(0)
			if !st.IsZero() {
				sec = st.Unix()
			}
			if v := b.Get(counterKey(i, sec, id, metricID)); len(v) == 8 {
				out[n] = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read usage counters: %w", err)
	}
	return out, nil
}
