package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// Timing and size of usage sharing; the query rules are those of
// registry/consulcatalog's Watch.
const (
	sharePublishInterval = time.Second
	shareWaitTime        = time.Minute
	shareFinalTimeout    = 2 * time.Second
	// maxUsageDocBytes keeps a document well under Consul's 512 KiB value limit.
	maxUsageDocBytes = 256 << 10
)

// usageShare makes the usage counters of coordinators sharing a Consul add
// up: it publishes this coordinator's current-period counters (only what it
// applied itself, so nothing is counted twice) to
// <prefix>usage/<service-id>/<coordinator-id>, and follows every other
// coordinator's documents into the usage store's peer counters.
type usageShare struct {
	store    *usageStore
	kv       *consul.KV
	root     string // <prefix>usage/
	id       string
	interval time.Duration
	log      zerolog.Logger

	mu        sync.Mutex
	published map[int64]bool // services whose document this coordinator wrote

	cancel context.CancelFunc
	done   chan struct{}
}

// startUsageShare starts sharing usage through the configured Consul; stop
// ends it after a last publish.
func (c *Coordinator) startUsageShare() (stop func(), err error) {
	id, err := loadCoordinatorID(c.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	client, err := c.cfg.Consul.client()
	if err != nil {
		return nil, err
	}
	prefix := c.cfg.Consul.Prefix
	if prefix == "" {
		prefix = consulstore.DefaultPrefix
	}
	u := &usageShare{store: c.usage, kv: client.KV(), root: prefix + "usage/", id: id,
		interval: sharePublishInterval, log: c.cfg.Logger.With().Str("component", "usageshare").Logger()}
	u.start()
	u.log.Info().Str("coordinator_id", id).Str("prefix", u.root).Msg("sharing usage counters through Consul")
	return u.stop, nil
}

func (u *usageShare) start() {
	u.published = map[int64]bool{}
	u.store.enableSharing()
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel, u.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); u.publishLoop(ctx) }()
	go func() { defer wg.Done(); u.follow(ctx) }()
	go func() { wg.Wait(); close(u.done) }()
}

// stop ends both loops; the publisher writes what changed since its last
// round before it returns.
func (u *usageShare) stop() {
	u.cancel()
	<-u.done
}

func (u *usageShare) publishLoop(ctx context.Context) {
	t := time.NewTicker(u.interval)
	defer t.Stop()
	failing := false
	for {
		u.publish(ctx, time.Now(), &failing)
		select {
		case <-ctx.Done():
			// usage applied since the last round still reaches the peers
			final, cancel := context.WithTimeout(context.Background(), shareFinalTimeout)
			u.publish(final, time.Now(), &failing)
			cancel()
			return
		case <-t.C:
		}
	}
}

// publish writes the document of every service whose counters changed; a
// failed write is tried again next round. failing logs a streak of failures
// once.
func (u *usageShare) publish(ctx context.Context, now time.Time, failing *bool) {
	for service, doc := range u.store.takeChanged(now) {
		b, err := json.Marshal(doc)
		if err != nil {
			u.log.Error().Err(err).Int64("service", service).Msg("encoding usage counters failed")
			continue
		}
		if len(b) > maxUsageDocBytes {
			u.log.Warn().Int64("service", service).Int("bytes", len(b)).Int("max_bytes", maxUsageDocBytes).
				Msg("usage counters too large to share through Consul; other coordinators do not see this service's usage here")
			continue
		}
		key := u.root + strconv.FormatInt(service, 10) + "/" + u.id
		_, err = u.kv.Put(&consul.KVPair{Key: key, Value: b}, (&consul.WriteOptions{}).WithContext(ctx))
		if err != nil {
			u.store.markChanged(service)
			if !*failing && ctx.Err() == nil {
				u.log.Warn().Err(err).Str("key", key).Msg("publishing usage counters to Consul failed; retrying every round")
			}
			*failing = true
			continue
		}
		if *failing {
			u.log.Info().Msg("publishing usage counters to Consul works again")
			*failing = false
		}
		u.mu.Lock()
		u.published[service] = true
		u.mu.Unlock()
	}
}

// follow keeps the peer counters equal to the other coordinators' documents,
// with blocking queries.
func (u *usageShare) follow(ctx context.Context) {
	var index uint64
	failures := 0
	warned := map[string]uint64{} // malformed key → ModifyIndex already logged
	for ctx.Err() == nil {
		start := time.Now()
		q := (&consul.QueryOptions{WaitIndex: index, WaitTime: shareWaitTime}).WithContext(ctx)
		pairs, meta, err := u.kv.List(u.root, q)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			index = 0
			u.log.Warn().Err(err).Msg("reading other coordinators' usage from Consul; limits use the counters last read")
			consulcatalog.Sleep(ctx, consulcatalog.Backoff(failures))
			continue
		}
		failures = 0
		index = consulcatalog.NextIndex(index, meta.LastIndex)
		warned = u.apply(pairs, warned)
		consulcatalog.Sleep(ctx, consulcatalog.MinInterval-time.Since(start))
	}
}

// apply installs the peers' documents as the store's peer counters, skips
// malformed ones (logged once per version), and republishes own documents
// that disappeared from Consul.
func (u *usageShare) apply(pairs consul.KVPairs, warned map[string]uint64) map[string]uint64 {
	peers := newPeerUsage()
	own := map[int64]bool{}
	nowWarned := map[string]uint64{}
	for _, p := range pairs {
		service, coordinator, err := u.parseKey(p.Key)
		if err == nil && coordinator == u.id {
			own[service] = true
			continue
		}
		var doc usageDoc
		if err == nil {
			doc, err = decodeUsageDoc(p.Value, service)
		}
		if err != nil {
			if idx, ok := warned[p.Key]; !ok || idx != p.ModifyIndex {
				u.log.Warn().Err(err).Str("key", p.Key).Msg("ignoring a malformed usage document in Consul")
			}
			nowWarned[p.Key] = p.ModifyIndex
			continue
		}
		peers.add(doc)
	}
	u.store.setPeers(peers)
	u.mu.Lock()
	for service := range u.published {
		if !own[service] {
			delete(u.published, service)
			u.store.markChanged(service)
		}
	}
	u.mu.Unlock()
	return nowWarned
}

// parseKey splits <root><service-id>/<coordinator-id>.
func (u *usageShare) parseKey(key string) (service int64, coordinator string, err error) {
	svc, coordinator, ok := strings.Cut(strings.TrimPrefix(key, u.root), "/")
	if !ok || coordinator == "" || strings.Contains(coordinator, "/") {
		return 0, "", errors.New("key is not <service-id>/<coordinator-id>")
	}
	service, err = strconv.ParseInt(svc, 10, 64)
	if err != nil || service <= 0 {
		return 0, "", fmt.Errorf("service id %q is not a positive integer", svc)
	}
	return service, coordinator, nil
}

// usageDoc is one coordinator's current counters of one service, as stored
// in Consul: {"service":2,"counters":[[app,metric,"period",start,value],...]}
// with start in unix seconds (0 for eternity). Rows keep it compact.
type usageDoc struct {
	Service  int64          `json:"service"`
	Counters []shareCounter `json:"counters"`
}

type shareCounter struct {
	App, Metric int64
	Period      string
	Start       int64
	Value       int64
}

func (c shareCounter) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{c.App, c.Metric, c.Period, c.Start, c.Value})
}

func (c *shareCounter) UnmarshalJSON(b []byte) error {
	var row []json.RawMessage
	if err := json.Unmarshal(b, &row); err != nil {
		return err
	}
	if len(row) != 5 {
		return fmt.Errorf("counter has %d fields, want 5", len(row))
	}
	for i, dst := range []any{&c.App, &c.Metric, &c.Period, &c.Start, &c.Value} {
		if err := json.Unmarshal(row[i], dst); err != nil {
			return fmt.Errorf("counter field %d: %w", i, err)
		}
	}
	return nil
}

// decodeUsageDoc decodes and checks a peer's document of service.
func decodeUsageDoc(b []byte, service int64) (usageDoc, error) {
	var doc usageDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return usageDoc{}, fmt.Errorf("decode usage document: %w", err)
	}
	if doc.Service != service {
		return usageDoc{}, fmt.Errorf("usage document of service %d under the key of service %d", doc.Service, service)
	}
	for i, c := range doc.Counters {
		if _, ok := periodIndex[c.Period]; !ok {
			return usageDoc{}, fmt.Errorf("counters[%d]: unknown period %q", i, c.Period)
		}
		if c.App <= 0 || c.Metric <= 0 || c.Start < 0 || c.Value < 0 {
			return usageDoc{}, fmt.Errorf("counters[%d]: invalid application, metric, start or value", i)
		}
	}
	return doc, nil
}

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
		m[curKey{metric: c.Metric, period: periodIndex[c.Period], start: c.Start}] += c.Value
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
func (s *usageStore) enableSharing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = map[int64]struct{}{}
	for service := range s.svcApps {
		s.changed[service] = struct{}{}
	}
}

func (s *usageStore) markChanged(service int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		s.changed[service] = struct{}{}
	}
}

func (s *usageStore) setPeers(p *peerUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers = p
}

// takeChanged returns the documents of the services changed since the last
// call: this coordinator's non-zero counters of current (and later) periods.
func (s *usageStore) takeChanged(now time.Time) map[int64]usageDoc {
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
