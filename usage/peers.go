package usage

import (
	"time"

	"github.com/portolan/portolan/composition"
)

// peerUsage is the sum of the other coordinators' current counters.
type peerUsage struct {
	apps    map[int64]map[curKey]int64
	svcApps map[int64]map[int64]struct{}
}

func newPeerUsage() *peerUsage {
	return &peerUsage{apps: map[int64]map[curKey]int64{}, svcApps: map[int64]map[int64]struct{}{}}
}

func (p *peerUsage) add(doc usageDoc) {
	for _, c := range doc.Counters {
		if c.Value == 0 {
			continue
		}
		m := p.apps[c.App]
		if m == nil {
			m = map[curKey]int64{}
			p.apps[c.App] = m
		}
		k := curKey{metric: c.Metric, period: periodIndex[c.Period], start: c.Start}
		m[k] = composition.AddSaturating(m[k], c.Value)
		apps := p.svcApps[doc.Service]
		if apps == nil {
			apps = map[int64]struct{}{}
			p.svcApps[doc.Service] = apps
		}
		apps[c.App] = struct{}{}
	}
}

// value is nil-safe: without sharing there are no peers.
func (p *peerUsage) value(app int64, k curKey) int64 {
	if p == nil {
		return 0
	}
	return p.apps[app][k]
}

// enableSharing starts tracking changed services, all of them changed.
func (s *Store) enableSharing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = map[int64]struct{}{}
	for service := range s.svcApps {
		s.changed[service] = struct{}{}
	}
}

func (s *Store) markChanged(service int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		s.changed[service] = struct{}{}
	}
}

func (s *Store) setPeers(p *peerUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers = p
}

// takeChanged returns the documents of the services changed since the last
// call: this coordinator's non-zero counters of current (and later) periods.
func (s *Store) takeChanged(now time.Time) map[int64]usageDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.changed) == 0 {
		return nil
	}
	s.sweepLocked(now)
	out := make(map[int64]usageDoc, len(s.changed))
	for service := range s.changed {
		doc := usageDoc{Service: service, Counters: []shareCounter{}}
		for app := range s.svcApps[service] {
			for k, v := range s.cur[app] {
				if v != 0 && k.start >= s.cutoff[k.period] {
					doc.Counters = append(doc.Counters, shareCounter{App: app, Metric: k.metric,
						Period: composition.Periods[k.period], Start: k.start, Value: v})
				}
			}
		}
		out[service] = doc
		delete(s.changed, service)
	}
	return out
}
