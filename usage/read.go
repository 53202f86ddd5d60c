package usage

import (
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// Value returns an application's counter, as composition.Counter.
func (s *Store) Value(app, metric int64, period string, start time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valueLocked(app, metric, period, start)
}

// Totals returns the non-zero counters of the current periods of every
// application of a service, this coordinator's and its peers' added up.
func (s *Store) Totals(serviceID int64, now time.Time) []registry.UsageTotal {
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
			add(app, k, composition.AddSaturating(v, s.peers.value(app, k)))
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

// AppValues returns an application's acknowledged counters of a metric in the
// periods starting at starts (zero time for eternity).
func (s *Store) AppValues(appID, metricID int64, period string, starts []time.Time) ([]int64, error) {
	return s.values(bucketAppCounters, appID, metricID, period, starts)
}

// ServiceValues returns a service's acknowledged counters of a metric in the
// periods starting at starts (zero time for eternity); services are counted
// by hour, day, month and eternity only.
func (s *Store) ServiceValues(serviceID, metricID int64, period string, starts []time.Time) ([]int64, error) {
	return s.values(bucketServiceCounters, serviceID, metricID, period, starts)
}

// values reads the counters of owner id in bucket: usage.db's and the
// pending usage the log holds.
func (s *Store) values(bucket []byte, id, metricID int64, period string, starts []time.Time) ([]int64, error) {
	i, ok := periodIndex[period]
	if !ok {
		return nil, fmt.Errorf("unknown period %q", period)
	}
	keys := make([]counterSum, len(starts))
	for n, st := range starts {
		sec := int64(0)
		if !st.IsZero() {
			sec = st.Unix()
		}
		keys[n] = counterSum{service: bucketIsService(bucket), key: counterKeyOf(i, sec, id, metricID)}
	}
	out, err := s.readCounters(keys)
	if err != nil {
		return nil, fmt.Errorf("read usage counters: %w", err)
	}
	return out, nil
}

func bucketIsService(bucket []byte) bool { return string(bucket) == string(bucketServiceCounters) }
