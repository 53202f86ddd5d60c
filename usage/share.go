package usage

import (
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

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/consulacl"
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

// Sharing makes the counters of coordinators sharing a Consul add up: it
// publishes this coordinator's own counters of each service (only what it
// applied itself, so nothing is counted twice) to
// <prefix><folder>/<service-id>/<coordinator-id>, and follows every other
// coordinator's documents into the peer counters. StartSharing shares the
// usage store's current-period counters under usage/; StartSharingOf
// shares another kind (Shared).
type Sharing struct {
	shared   Shared
	kind     string // the folder, in logs
	kv       *consul.KV
	root     string // <prefix><folder>/
	id       string
	interval time.Duration
	log      zerolog.Logger

	mu        sync.Mutex
	published map[int64]bool // services whose document this coordinator wrote

	cancel context.CancelFunc
	done   chan struct{}
}

// SharingConfig configures StartSharing.
type SharingConfig struct {
	KV     *consul.KV
	Prefix string // KV prefix: the documents live under <Prefix>usage/
	ID     string // this coordinator's id, the last segment of its documents' keys
	Logger zerolog.Logger
}

// rule is the ACL rule the coordinator's token needs for the counters: the
// coordinator's whole prefix (README, Consul ACLs).
func (u *Sharing) rule() string {
	return fmt.Sprintf(`key_prefix %q { policy = "write" }`, strings.TrimSuffix(u.root, u.kind+"/"))
}

// StartSharing starts sharing store's counters through Consul KV; Stop ends
// it after a last publish.
func StartSharing(store *Store, cfg SharingConfig) *Sharing {
	store.enableSharing()
	return StartSharingOf(storeShared{store}, "usage", cfg)
}

// StartSharingOf starts sharing s's counters through Consul KV under
// <prefix><folder>/; Stop ends it after a last publish.
func StartSharingOf(s Shared, folder string, cfg SharingConfig) *Sharing {
	u := &Sharing{shared: s, kind: folder, kv: cfg.KV, root: cfg.Prefix + folder + "/", id: cfg.ID,
		interval: sharePublishInterval, log: cfg.Logger}
	u.start()
	u.log.Info().Str("coordinator_id", u.id).Str("prefix", u.root).Msg("sharing counters through Consul")
	return u
}

func (u *Sharing) start() {
	u.published = map[int64]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel, u.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); u.publishLoop(ctx) }()
	go func() { defer wg.Done(); u.follow(ctx) }()
	go func() { wg.Wait(); close(u.done) }()
}

// Stop ends both loops; the publisher writes what changed since its last
// round before it returns.
func (u *Sharing) Stop() {
	u.cancel()
	<-u.done
}

func (u *Sharing) publishLoop(ctx context.Context) {
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
func (u *Sharing) publish(ctx context.Context, now time.Time, failing *bool) {
	for service, doc := range u.shared.Changed(now) {
		b, err := json.Marshal(doc)
		if err != nil {
			u.log.Error().Err(err).Int64("service", service).Str("counters", u.kind).Msg("encoding counters failed")
			continue
		}
		if len(b) > maxUsageDocBytes {
			u.log.Warn().Int64("service", service).Str("counters", u.kind).Int("bytes", len(b)).Int("max_bytes", maxUsageDocBytes).
				Msg("counters too large to share through Consul; other coordinators do not see this service's counts here")
			continue
		}
		key := u.root + strconv.FormatInt(service, 10) + "/" + u.id
		_, err = u.kv.Put(&consul.KVPair{Key: key, Value: b}, (&consul.WriteOptions{}).WithContext(ctx))
		if err != nil {
			u.shared.Republish(service)
			if !*failing && ctx.Err() == nil {
				u.log.Warn().Err(consulacl.Hint(err, "the coordinator's", u.rule())).Str("key", key).
					Msg("publishing counters to Consul failed; retrying every round")
			}
			*failing = true
			continue
		}
		if *failing {
			u.log.Info().Str("counters", u.kind).Msg("publishing counters to Consul works again")
			*failing = false
		}
		u.mu.Lock()
		u.published[service] = true
		u.mu.Unlock()
	}
}

// follow keeps the peer counters equal to the other coordinators' documents,
// with blocking queries.
func (u *Sharing) follow(ctx context.Context) {
	var index uint64
	retry := backoff.Backoff{Min: consulcatalog.RetryMin, Max: consulcatalog.RetryMax}
	warned := map[string]uint64{} // malformed key → ModifyIndex already logged
	hidden := false               // Consul's ACLs left keys out of the last list
	for ctx.Err() == nil {
		start := time.Now()
		q := (&consul.QueryOptions{WaitIndex: index, WaitTime: shareWaitTime}).WithContext(ctx)
		pairs, meta, err := u.kv.List(u.root, q)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			index = 0
			u.log.Warn().Err(consulacl.Hint(err, "the coordinator's", u.rule())).Str("counters", u.kind).
				Msg("reading other coordinators' counters from Consul; limits use the counters last read")
			retry.Wait(ctx)
			continue
		}
		retry.Reset()
		if meta.ResultsFilteredByACLs != hidden {
			// A token that may not read the whole folder sees only part of
			// the counts: limits would let through what the hidden
			// coordinators counted. Said once, as it starts and ends.
			if hidden = meta.ResultsFilteredByACLs; hidden {
				u.log.Warn().Str("counters", u.kind).Str("prefix", u.root).Msg("reading other coordinators' counters from Consul: " +
					consulacl.Explain("the coordinator's", "its ACLs hid some of them", u.rule()) + "; limits count without them")
			} else {
				u.log.Info().Str("counters", u.kind).Msg("other coordinators' counters are all read again")
			}
		}
		index = consulcatalog.NextIndex(index, meta.LastIndex)
		warned = u.apply(pairs, warned)
		backoff.Sleep(ctx, consulcatalog.MinInterval-time.Since(start))
	}
}

// apply installs the peers' documents as the peer counters, skips
// malformed ones (logged once per version), and republishes own documents
// that disappeared from Consul.
func (u *Sharing) apply(pairs consul.KVPairs, warned map[string]uint64) map[string]uint64 {
	var peers []any
	own := map[int64]bool{}
	nowWarned := map[string]uint64{}
	for _, p := range pairs {
		service, coordinator, err := u.parseKey(p.Key)
		if err == nil && coordinator == u.id {
			own[service] = true
			continue
		}
		var doc any
		if err == nil {
			doc, err = u.shared.Decode(service, p.Value)
		}
		if err != nil {
			if idx, ok := warned[p.Key]; !ok || idx != p.ModifyIndex {
				u.log.Warn().Err(err).Str("key", p.Key).Msg("ignoring a malformed counters document in Consul")
			}
			nowWarned[p.Key] = p.ModifyIndex
			continue
		}
		peers = append(peers, doc)
	}
	u.shared.SetPeers(peers)
	u.mu.Lock()
	for service := range u.published {
		if !own[service] {
			delete(u.published, service)
			u.shared.Republish(service)
		}
	}
	u.mu.Unlock()
	return nowWarned
}

// parseKey splits <root><service-id>/<coordinator-id>.
func (u *Sharing) parseKey(key string) (service int64, coordinator string, err error) {
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
