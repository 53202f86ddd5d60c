package usage

import (
	"encoding/binary"
	"time"

	"github.com/portolan/portolan/composition"
)

// The layout of usage.db: six buckets, keys big-endian so a cursor walks
// a period in time order.
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
	// "applied" → the last write-ahead log record usage.db holds (8)
	bucketWAL  = []byte("wal")
	keyApplied = []byte("applied")
)

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
	k := counterKeyOf(period, start, owner, metric)
	return k[:]
}

func counterKeyOf(period byte, start, owner, metric int64) [25]byte {
	var k [25]byte
	k[0] = period
	binary.BigEndian.PutUint64(k[1:9], uint64(start))
	binary.BigEndian.PutUint64(k[9:17], uint64(owner))
	binary.BigEndian.PutUint64(k[17:25], uint64(metric))
	return k
}
