package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/composition"
)

// Defaults and bounds of the registry's timing.
const (
	DefaultHeartbeat               = 2 * time.Second
	DefaultTTL                     = 6 * time.Second
	DefaultDeregisterCriticalAfter = 30 * time.Second
	// MinDeregisterCriticalAfter is the shortest DeregisterCriticalAfter accepted.
	MinDeregisterCriticalAfter = time.Second
	// MinTTL and MaxTTL bound the TTL an agent may ask for in its registration.
	MinTTL = time.Second
	MaxTTL = time.Hour
)

// OutputTTLExpired is the output of an instance turned critical because no
// heartbeat came within its TTL.
const OutputTTLExpired = "TTL expired"

// ErrUnknown is returned for an instance the registry does not know (never
// registered, deregistered, removed, or registered before a coordinator
// restart). Agents answer it by registering again.
var ErrUnknown = errors.New("unknown instance: register again")

// ErrStopped is returned by Wait once Run has ended.
var ErrStopped = errors.New("registry stopped")

// Config configures a Registry. Zero durations take the defaults.
type Config struct {
	Store                   composition.Store
	Heartbeat               time.Duration // interval told to agents; 2s
	TTL                     time.Duration // no heartbeat for this long → critical; 6s
	DeregisterCriticalAfter time.Duration // critical for this long → removed; 30s, at least 1s
	// Signer signs the views GET /v1/composition serves (see view.go);
	// without one that call answers 503.
	Signer *Signer
	// Now is the clock; nil means time.Now. Tests pass a controllable one.
	Now    func() time.Time
	Logger zerolog.Logger
	// GossipKeys, when set, gives home's gossip keyring (base64, primary
	// first) and its version, which starts at 1 and grows with every change;
	// see gossipkeys.go.
	GossipKeys func() (keys []string, version uint64)
	// JoinTokens keeps the join tokens that may register instances (besides
	// the bootstrap token given to Handler); nil keeps none.
	JoinTokens *JoinTokenStore
	// MaxInstances bounds the live instances (DefaultMaxInstances when 0);
	// MaxJoinTokens the join tokens kept (DefaultMaxJoinTokens when 0);
	// MaxInstancesPerToken is the cap a join token created without one gets
	// (DefaultMaxInstancesPerToken when 0).
	MaxInstances         int
	MaxJoinTokens        int
	MaxInstancesPerToken int
	// FirstIndex is the map's index at start (1 when 0). A home that
	// restarts passes StartIndex, so that its indexes never name a map an
	// earlier start named.
	FirstIndex uint64
}

// Registry tracks the instances that phone home and draws the service map.
// It is safe for concurrent use. Run drives the reaper and follows the
// composition; without Run, instances never expire.
type Registry struct {
	store     composition.Store
	heartbeat time.Duration
	ttl       time.Duration
	dca       time.Duration
	now       func() time.Time
	log       zerolog.Logger
	keyring   func() ([]string, uint64) // Config.GossipKeys

	tokens *JoinTokenStore // nil: the bootstrap token alone registers
	// tokenMu makes one join token change (create, revoke, update) at a
	// time, so that a creation's count and its addition are one step. It
	// is taken before mu, never while mu is held, and the token file is
	// written under it alone: a slow disk stalls no heartbeat.
	tokenMu      sync.Mutex
	maxInstances int
	maxTokens    int
	maxPerToken  int    // a new join token's cap when its spec gives none
	capLog       capLog // refusals at a join token's cap, logged (tokencap.go)

	views *viewCache // nil without a Signer

	mu         sync.Mutex
	instances  map[string]*instance
	keyHolders keyHolders // instances by the gossip keyring version they hold (gossipkeys.go)
	// byCred, and instance.revoked, are written with both mu and credMu
	// held and read with either: a heartbeat finds its caller under credMu
	// alone, so that it takes mu once (credentials.go).
	credMu   sync.RWMutex
	byCred   map[credentialHash]*instance
	perToken map[string]int // live instances by join token id ("" bootstrap)
	// catalog holds instances another registry (Consul's catalog) knows,
	// drawn on the map beside those that phone home here.
	catalog []MapInstance
	snap    *composition.Snapshot // placements are computed from it
	index   uint64
	changed chan struct{} // closed and replaced when index grows
	changes mapLog        // which instances changed at which index (maplog.go)

	// The reaper's deadlines (deadlines.go): keys in ticks since epoch; wake
	// tells the reaper of a deadline earlier than wakeAt, when it means to
	// look next; examined counts the keys it looked at.
	epoch     time.Time
	deadlines deadlineHeap
	wake      chan struct{}
	wakeAt    ticks
	examined  uint64

	// Blocking queries open per instance (watches.go).
	watches watchCounts

	// Values instances share (intern.go).
	intern     interner
	placements placementCache

	// stopped ends when Run returns: blocking queries answer at once.
	stopped    context.Context
	stop       context.CancelFunc
	running    atomic.Bool
	registered atomic.Uint64
	beats      atomic.Uint64
	deregs     atomic.Uint64
	expired    atomic.Uint64
	removed    atomic.Uint64
	// refusedAtCap and refusedAtTokenCap count registrations refused at
	// home's cap and at a join token's, refusedIDTaken those of an id live
	// through another join token (Stats).
	refusedAtCap      atomic.Uint64
	refusedAtTokenCap atomic.Uint64
	refusedIDTaken    atomic.Uint64
}

// instance is the registry's record of one instance; guarded by Registry.mu.
// A registry holds 100,000 of them: what many share (strings, labels,
// placements) is shared (intern.go), and what nobody reads after the
// registration (its hostname, check, initial status and output, asked TTL)
// is not kept.
type instance struct {
	id            string
	reg           registered
	labelsKey     string // of reg.Labels (labelsKey)
	ttl           time.Duration
	output        string
	criticalSince time.Time
	lastHeartbeat time.Time
	placement     *Placement     // current, from Registry.snap: shared between instances, never edited
	sent          *Placement     // what the instance was last told (shared, never edited)
	credHash      credentialHash // of the credential issued at registration
	tokenID       string         // the join token it registered with; "" the bootstrap token
	keysSent      uint64         // version of the gossip keyring it was last given
	keysHeld      uint64         // version it says it holds; 0 when it does not say (gossipkeys.go)
	key           ticks          // in the reaper's heap (deadlines.go)
	slot          int32          // index in the reaper's heap; -1 when out
	health        statusCode     // what the agent last reported
	status        statusCode     // effective: critical when expired, else draining, else health
	draining      bool
	expired       bool      // no heartbeat within ttl since the last one
	revoked       bool      // its join token was revoked: its credential is refused; written under mu and credMu
	watching      *watchEnd // its blocking queries' end, made by the first (watches.go); nil before
}

// registered is what the registry keeps of a Registration: what the map
// and the views read.
type registered struct {
	Service      string
	Address      string
	Port         int
	Labels       map[string]string // shared between instances: never edited
	AgentVersion string
}

// New returns a registry; Run starts its reaper.
func New(cfg Config) (*Registry, error) {
	if cfg.Store == nil {
		return nil, errors.New("registry: a composition store is required")
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.DeregisterCriticalAfter == 0 {
		cfg.DeregisterCriticalAfter = DefaultDeregisterCriticalAfter
	}
	switch {
	case cfg.Heartbeat < 0:
		return nil, fmt.Errorf("heartbeat interval must be positive (got %s)", cfg.Heartbeat)
	case cfg.TTL < 0:
		return nil, fmt.Errorf("ttl must be positive (got %s)", cfg.TTL)
	case cfg.TTL < cfg.Heartbeat:
		return nil, fmt.Errorf("ttl (%s) must not be shorter than the heartbeat interval (%s)", cfg.TTL, cfg.Heartbeat)
	case cfg.MaxInstances < 0 || cfg.MaxJoinTokens < 0 || cfg.MaxInstancesPerToken < 0:
		return nil, fmt.Errorf("max instances, max join tokens and max instances per token must not be negative (got %d, %d and %d)",
			cfg.MaxInstances, cfg.MaxJoinTokens, cfg.MaxInstancesPerToken)
	case cfg.DeregisterCriticalAfter < MinDeregisterCriticalAfter:
		return nil, fmt.Errorf("deregister-critical-after must be at least %s (got %s)",
			MinDeregisterCriticalAfter, cfg.DeregisterCriticalAfter)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxInstances == 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	if cfg.MaxJoinTokens == 0 {
		cfg.MaxJoinTokens = DefaultMaxJoinTokens
	}
	if cfg.MaxInstancesPerToken == 0 {
		cfg.MaxInstancesPerToken = DefaultMaxInstancesPerToken
	}
	r := &Registry{
		store: cfg.Store, heartbeat: cfg.Heartbeat, ttl: cfg.TTL, dca: cfg.DeregisterCriticalAfter,
		now: cfg.Now, log: cfg.Logger, keyring: cfg.GossipKeys,
		tokens: cfg.JoinTokens, maxInstances: cfg.MaxInstances, maxTokens: cfg.MaxJoinTokens, maxPerToken: cfg.MaxInstancesPerToken,
		instances: map[string]*instance{}, byCred: map[credentialHash]*instance{}, perToken: map[string]int{},
		snap: cfg.Store.Snapshot(), index: max(cfg.FirstIndex, 1), changed: make(chan struct{}),
		epoch: cfg.Now(), wake: make(chan struct{}, 1),
	}
	// Nothing before this start is in the change log: a delta since an
	// index of an earlier home is the whole map.
	r.changes.horizon = r.index
	if cfg.Signer != nil {
		r.views = &viewCache{signer: cfg.Signer}
	}
	r.stopped, r.stop = context.WithCancel(context.Background())
	return r, nil
}

// StartIndex is a map index for a home starting at now to begin with
// (Config.FirstIndex): the wall clock in microseconds. Instances are soft
// state, so each start of home begins another map; counted from 1 again,
// its index would soon name a map an earlier start named at that index,
// and a watcher holding it (a delta, a blocking query) would take the new
// map for the one it holds, keeping instances that died while home was
// down. From the clock, every index of this start is above those of the
// starts before (unless the clock went back by more than their uptime, or
// they made more changes than microseconds passed), so such a watcher is
// answered at once, with the whole map. Below 2^53, the index stays exact
// as a JSON number.
func StartIndex(now time.Time) uint64 {
	return uint64(max(now.UnixMicro(), 1))
}

// HeartbeatInterval is the interval told to agents.
func (r *Registry) HeartbeatInterval() time.Duration { return r.heartbeat }

// TTL is the default TTL of an instance.
func (r *Registry) TTL() time.Duration { return r.ttl }

// DeregisterCriticalAfter is how long an instance may stay critical.
func (r *Registry) DeregisterCriticalAfter() time.Duration { return r.dca }

// Run removes expired instances and follows the composition's revisions
// until ctx ends. When it returns, pending and future blocking waits answer
// at once. Call it once.
func (r *Registry) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("registry: Run called twice")
	}
	defer r.stop()
	var wg sync.WaitGroup
	wg.Go(func() { r.follow(ctx) })
	r.reap(ctx.Done())
	wg.Wait()
	return nil
}

// follow recomputes placements on every new composition revision.
func (r *Registry) follow(ctx context.Context) {
	for {
		r.mu.Lock()
		after := r.snap.Revision
		r.mu.Unlock()
		snap, err := r.store.Wait(ctx, after)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn().Err(err).Msg("registry stopped following the composition")
			}
			return
		}
		r.mu.Lock()
		r.refreshLocked(snap)
		r.mu.Unlock()
	}
}

// refreshLocked moves the registry to snap when it is newer: every
// instance's placement is recomputed and the index bumped.
func (r *Registry) refreshLocked(snap *composition.Snapshot) {
	if snap == nil || snap.Revision <= r.snap.Revision {
		return
	}
	r.snap = snap
	for _, in := range r.instances {
		in.placement = r.placementFor(in.reg.Service, labelSet{key: in.labelsKey, m: in.reg.Labels})
	}
	r.changes.reset(r.index + 1)
	r.bumpLocked()
}

// syncLocked catches up with the store, so a reply never pairs a new
// revision with a placement computed from an older one.
func (r *Registry) syncLocked() { r.refreshLocked(r.store.Snapshot()) }

func (r *Registry) bumpLocked() {
	r.index++
	close(r.changed)
	r.changed = make(chan struct{})
}

// Index is the current map index.
func (r *Registry) Index() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.index
}

// Wait blocks until the index is greater than index, ctx ends, or Run has
// ended (ErrStopped); it returns the index then.
func (r *Registry) Wait(ctx context.Context, index uint64) (uint64, error) {
	for {
		r.mu.Lock()
		cur, ch := r.index, r.changed
		r.mu.Unlock()
		if cur > index {
			return cur, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cur, ctx.Err()
		case <-r.stopped.Done():
			return cur, ErrStopped
		}
	}
}

// Register adds an instance, or replaces the one registered under id, as
// the bootstrap token does: unscoped, but in process and so held to no cap
// per token (its instances count under the bootstrap token's all the
// same). The reply carries the instance's new credential.
func (r *Registry) Register(id string, reg Registration) (RegisterReply, error) {
	return r.register(id, reg, grant{})
}

// register adds an instance through g, which its registration must fit.
func (r *Registry) register(id string, reg Registration, g grant) (RegisterReply, error) {
	if err := validateID(id); err != nil {
		return RegisterReply{}, err
	}
	if err := validateRegistration(&reg); err != nil {
		return RegisterReply{}, err
	}
	if g.token != nil {
		if err := g.token.allows(&reg); err != nil {
			return RegisterReply{}, err
		}
	}
	cred, credHash, err := r.issueCredential(g.tokenID, id)
	if err != nil {
		return RegisterReply{}, err
	}
	status := reg.Status
	if status == "" {
		status = StatusPassing
	}
	ttl := r.ttl
	if reg.TTL != 0 {
		ttl = min(max(time.Duration(reg.TTL), MinTTL), MaxTTL)
	}
	keys, keysVersion := r.gossipKeyring()
	r.mu.Lock()
	if err := r.admitLocked(id, g); err != nil {
		r.mu.Unlock()
		r.countRefusal(id, err)
		return RegisterReply{}, err
	}
	r.syncLocked()
	now := r.now()
	labels := r.intern.labelSet(reg.Labels)
	placement := r.placementFor(reg.Service, labels)
	in := &instance{
		id: id, reg: registered{
			Service: r.intern.str(reg.Service), Address: reg.Address, Port: reg.Port, Labels: labels.m,
			AgentVersion: r.intern.str(reg.AgentVersion),
		},
		labelsKey: labels.key, ttl: ttl, health: statusCodeOf(status), output: r.intern.str(reg.Output),
		status: statusCodeOf(status), lastHeartbeat: now, placement: placement, sent: placement,
		credHash: credHash, tokenID: g.tokenID, slot: -1,
	}
	if in.status == codeCritical {
		in.criticalSince = now
	}
	_, replaced := r.instances[id]
	r.addLocked(in)
	r.bumpLocked()
	reply := RegisterReply{
		ID: id, Placement: *in.placement, Revision: r.snap.Revision,
		HeartbeatInterval: Duration(r.intervalFor(ttl)), TTL: Duration(ttl),
		DeregisterCriticalAfter: Duration(r.dca), Credential: cred,
	}
	reply.GossipKeys, reply.GossipKeysVersion = r.gossipKeysAtRegistrationLocked(in, keys, keysVersion)
	r.mu.Unlock()
	r.registered.Add(1)
	r.log.Info().Str("instance", id).Str("service", reg.Service).Str("address", reg.Address).
		Int("port", reg.Port).Str("status", status).Str("placed_in", reply.Placement.Service).
		Str("join_token", g.tokenID).Bool("replaced", replaced).Msg("instance registered")
	return reply, nil
}

// intervalFor is the heartbeat interval for an instance with ttl: the
// configured one, shortened to a third of the TTL when the TTL is short.
func (r *Registry) intervalFor(ttl time.Duration) time.Duration {
	if 3*r.heartbeat > ttl {
		return ttl / 3
	}
	return r.heartbeat
}
