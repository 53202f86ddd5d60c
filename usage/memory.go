package usage

import (
	"time"

	"github.com/portolan/portolan/composition"
)

// The memory mirror of the current periods' counters. Every method here runs
// with s.mu held; valueLocked reads earlier periods from usage.db.

func (s *Store) appCounters(app int64) map[curKey]int64 {
	m := s.cur[app]
	if m == nil {
		m = map[curKey]int64{}
		s.cur[app] = m
	}
	return m
}

func (s *Store) linkLocked(service, app int64) {
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

// clamped is what a saturating add could not add to a counter in memory.
type clamped struct {
	app  int64
	key  curKey
	lost int64
}

// addLocked adds increments to the counters in memory (those of current or
// later periods); sign -1 takes them back. It returns what saturation kept
// from being added (nil but near the int64 bounds), which undoLocked needs
// to take an add back exactly.
func (s *Store) addLocked(service int64, incs []Increment, sign int64) (lost []clamped) {
	if s.changed != nil && len(incs) > 0 {
		s.changed[service] = struct{}{}
	}
	for _, in := range incs {
		s.linkLocked(service, in.App)
		at := time.Unix(in.Minute*60, 0)
		counters := s.appCounters(in.App)
		for i, p := range composition.Periods {
			start := periodStart(p, at)
			if start < s.cutoff[i] {
				continue
			}
			key := curKey{metric: in.Metric, period: byte(i), start: start}
			old := counters[key]
			v := composition.AddSaturating(old, sign*in.Delta)
			if d := sign*in.Delta - (v - old); d != 0 {
				lost = append(lost, clamped{app: in.App, key: key, lost: d})
			}
			if v != 0 {
				counters[key] = v
			} else {
				delete(counters, key)
			}
		}
	}
	return lost
}

// undoLocked takes back an add of incs whose addLocked returned lost: the
// counters are where they were before it, also those it saturated.
func (s *Store) undoLocked(service int64, incs []Increment, lost []clamped) {
	s.addLocked(service, incs, -1)
	for _, c := range lost {
		counters := s.appCounters(c.app)
		if v := composition.AddSaturating(counters[c.key], c.lost); v != 0 {
			counters[c.key] = v
		} else {
			delete(counters, c.key)
		}
	}
}

// sweepLocked moves the cutoffs to the current periods of now and drops the
// counters of periods that ended from memory (they stay on disk).
func (s *Store) sweepLocked(now time.Time) {
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

// valueLocked is a composition.Counter: memory for current periods,
// usage.db and the log's pending usage for earlier ones.
func (s *Store) valueLocked(app, metric int64, period string, start time.Time) int64 {
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
		return composition.AddSaturating(s.cur[app][key], s.peers.value(app, key))
	}
	vals, err := s.readCounters([]counterSum{{key: counterKeyOf(i, st, app, metric)}})
	if err != nil {
		s.log.Error().Err(err).Msg("reading a past usage counter failed")
		return 0
	}
	return vals[0]
}
