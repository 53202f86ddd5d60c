package coordinator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// limiterDoc is one coordinator's counts of one service's rate limit
// windows, as shared in Consul under <prefix>limiters/<service>/<coordinator>.
type limiterDoc struct {
	Service int64                   `json:"service"`
	Windows []registry.LimiterCount `json:"windows"`
}

// limiterShare is the rate limit windows' counts as usage.Shared, so that
// coordinators sharing a Consul count global limits cluster-wide, as they
// count plan limits.
type limiterShare struct{ lc *limiterCounts }

func (s limiterShare) Changed(now time.Time) map[int64]any {
	t := now.Unix()
	lc := s.lc
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.changed == nil { // the first round: every service counted so far
		lc.changed = map[int64]bool{}
		for service := range lc.byID {
			lc.changed[service] = true
		}
	}
	if len(lc.changed) == 0 {
		return nil
	}
	out := make(map[int64]any, len(lc.changed))
	for service := range lc.changed {
		doc := limiterDoc{Service: service, Windows: []registry.LimiterCount{}}
		for k, v := range lc.byID[service] {
			if k.start+k.window > t {
				doc.Windows = append(doc.Windows, registry.LimiterCount{Key: k.key, Start: k.start, Window: k.window, Value: v})
			}
		}
		out[service] = doc
		delete(lc.changed, service)
	}
	return out
}

func (s limiterShare) Republish(service int64) {
	s.lc.mu.Lock()
	defer s.lc.mu.Unlock()
	if s.lc.changed != nil {
		s.lc.changed[service] = true
	}
}

func (limiterShare) Decode(service int64, b []byte) (any, error) {
	var doc limiterDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode rate limit windows: %w", err)
	}
	if doc.Service != service {
		return nil, fmt.Errorf("rate limit windows of service %d under the key of service %d", doc.Service, service)
	}
	if len(doc.Windows) > maxLimiterKeys {
		return nil, fmt.Errorf("%d rate limit windows, more than %d", len(doc.Windows), maxLimiterKeys)
	}
	for i, w := range doc.Windows {
		err := checkLimiterWindow(w)
		if err == nil && (w.Start < 0 || w.Value < 0) {
			err = errors.New("negative start or value")
		}
		if err != nil {
			return nil, fmt.Errorf("windows[%d]: %w", i, err)
		}
	}
	return doc, nil
}

// SetPeers sums the other coordinators' documents, up to maxLimiterKeys
// windows.
func (s limiterShare) SetPeers(docs []any) {
	peers := map[int64]map[limiterKey]int64{}
	n := 0
	for _, d := range docs {
		doc := d.(limiterDoc)
		m := peers[doc.Service]
		if m == nil {
			m = map[limiterKey]int64{}
			peers[doc.Service] = m
		}
		for _, w := range doc.Windows {
			k := limiterKey{w.Key, w.Start, w.Window}
			if _, ok := m[k]; !ok {
				if n >= maxLimiterKeys {
					continue
				}
				n++
			}
			m[k] = composition.AddSaturating(m[k], w.Value)
		}
	}
	s.lc.mu.Lock()
	s.lc.peers = peers
	s.lc.mu.Unlock()
}
