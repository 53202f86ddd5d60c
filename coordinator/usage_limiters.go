package coordinator

import (
	"fmt"
	"sync"
	"time"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// limiterCounts are the cluster's counts of rate limit windows (the gateway
// rate_limit policy's global fixed windows), by service: agents add their
// requests in usage batches and read the totals in the replies, as they do
// plan limits' totals. They live in memory only: a window lasts seconds to
// hours, and a restarted home starts over from the agents' next reports.
// Coordinators sharing usage through Consul share these too
// (usage_limiters_share.go): byID holds what this one counted, peers what
// the others did.
type limiterCounts struct {
	mu      sync.Mutex
	n       int // keys over all services
	byID    map[int64]map[limiterKey]int64
	changed map[int64]bool                 // services counted since last published; nil unless shared
	peers   map[int64]map[limiterKey]int64 // the other coordinators' counts, summed
}

type limiterKey struct {
	key           string
	start, window int64
}

// maxLimiterKeys bounds the windows home counts over all services, and
// maxServiceLimiterKeys those of one service: a reply carries no more
// (registry.MaxLimiterCounts), and the instances of one service, however
// many windows they report, cannot crowd out another's.
const (
	maxLimiterKeys        = 200_000
	maxServiceLimiterKeys = registry.MaxLimiterCounts
)

// maxLimiterWindow bounds a window's length (a year): a longer one is no
// rate limit home keeps in memory; the rate_limit policy refuses one when
// its chain is saved.
const maxLimiterWindow = policy.MaxHomeWindow

// add counts a batch's increments for service; increments of windows that
// ended, malformed ones and those beyond the bound are left out rather than
// refusing the batch's usage.
func (lc *limiterCounts) add(service int64, counts []registry.LimiterCount, now time.Time) {
	if len(counts) == 0 {
		return
	}
	t := now.Unix()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.byID == nil {
		lc.byID = map[int64]map[limiterKey]int64{}
	}
	if lc.changed != nil {
		lc.changed[service] = true
	}
	pruned := false
	for i, c := range counts {
		if i >= registry.MaxLimiterCounts {
			break
		}
		if checkLimiterWindow(c) != nil || c.Start+c.Window <= t || c.Start > t+c.Window {
			continue
		}
		k := limiterKey{c.Key, c.Start, c.Window}
		v, ok := lc.byID[service][k]
		if !ok {
			full := func() bool { return lc.n >= maxLimiterKeys || len(lc.byID[service]) >= maxServiceLimiterKeys }
			// Pruning walks every window: once a batch, not once a window,
			// or a batch at the bound costs its length times the bound.
			if full() && !pruned {
				lc.pruneLocked(t)
				pruned = true
			}
			if full() {
				continue
			}
			lc.n++
		}
		// Looked up again each time: pruning drops a service's emptied map.
		m := lc.byID[service]
		if m == nil {
			m = map[limiterKey]int64{}
			lc.byID[service] = m
		}
		m[k] = max(composition.AddSaturating(v, c.Value), 0)
	}
}

// checkLimiterWindow refuses a window no rate limit counts: its key empty
// or too long, its length not in 1 second to maxLimiterWindow.
func checkLimiterWindow(w registry.LimiterCount) error {
	switch {
	case w.Key == "" || len(w.Key) > registry.MaxLimiterKeyLen:
		return fmt.Errorf("key of %d bytes (1 to %d)", len(w.Key), registry.MaxLimiterKeyLen)
	case w.Window <= 0 || w.Window > maxLimiterWindow:
		return fmt.Errorf("window of %d seconds (1 to %d)", w.Window, maxLimiterWindow)
	}
	return nil
}

// totals returns service's counts of windows not ended (never nil: an empty
// list tells the agent this home counts them).
func (lc *limiterCounts) totals(service int64, now time.Time) []registry.LimiterCount {
	t := now.Unix()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	out := []registry.LimiterCount{}
	peers := lc.peers[service]
	for k, v := range lc.byID[service] {
		if k.start+k.window <= t {
			delete(lc.byID[service], k)
			lc.n--
			continue
		}
		if len(out) < registry.MaxLimiterCounts {
			out = append(out, registry.LimiterCount{Key: k.key, Start: k.start, Window: k.window,
				Value: composition.AddSaturating(v, peers[k])})
		}
	}
	if len(lc.byID[service]) == 0 {
		delete(lc.byID, service)
	}
	for k, v := range peers {
		if _, counted := lc.byID[service][k]; !counted && k.start+k.window > t && len(out) < registry.MaxLimiterCounts {
			out = append(out, registry.LimiterCount{Key: k.key, Start: k.start, Window: k.window, Value: v})
		}
	}
	return out
}

// pruneLocked forgets every ended window.
func (lc *limiterCounts) pruneLocked(t int64) {
	for id, m := range lc.byID {
		for k := range m {
			if k.start+k.window <= t {
				delete(m, k)
				lc.n--
			}
		}
		if len(m) == 0 {
			delete(lc.byID, id)
		}
	}
}
