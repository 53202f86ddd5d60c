package coordinator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway/policy"
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/boltstore"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/internal/consulacl"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/jointoken"
	"github.com/portolan/portolan/threescale"
	"github.com/portolan/portolan/usage"
)

// DefaultHeapFloor is the heap a coordinator lets grow before collecting
// garbage (internal/gcfloor, run by its command): at 10,000 instances the
// live heap is some 11 MB, and GOGC alone collected every 50 ms under
// heartbeat load, each cycle marking the whole registry again.
const DefaultHeapFloor = 64 << 20

// Config configures a coordinator.
type Config struct {
	Listen      string // address of the HTTP API, 127.0.0.1:7070 by default
	DataDir     string // where the store and a generated access token live
	AccessToken string // admin token; generated and kept in DataDir when empty
	AgentToken  string // bootstrap join token: registers any instance on /v1
	Identity    IdentityConfig
	// Heartbeat, TTL and DeregisterCriticalAfter time the instance registry
	// (registry.Config); zero means its defaults, 2s, 6s and 30s.
	Heartbeat               time.Duration
	TTL                     time.Duration
	DeregisterCriticalAfter time.Duration
	// Limits bound every connection to the HTTP API; zero fields take
	// httpserve's defaults. The header timeout bounds the TLS handshake too.
	Limits httpserve.Limits
	// TLS says how the API is served: HTTPS off loopback by default.
	TLS     TLSConfig
	Version string
	Logger  zerolog.Logger
	// Announce receives the one-time notice of where a generated access
	// token was written (never the token).
	Announce io.Writer
	// Gossip, when set, joins a gossip cluster (Name, Meta, Source and the
	// callbacks are the coordinator's).
	Gossip *gossip.Config
	// GossipKeyring is home's gossip keyring, handed to registered agents.
	GossipKeyring GossipKeyringConfig
	// Consul, when set, keeps the composition in Consul KV instead of bbolt,
	// so several coordinators serve one composition, and shares their usage
	// counters (usage.Sharing).
	Consul *ConsulConfig
	// StartEmpty starts a home whose composition was lost (composition.db,
	// or Consul's keys) with an empty composition above the revisions it
	// had reached (its floor), instead of refusing to start.
	StartEmpty bool
	// AccessTokenFile holds the admin token instead of AccessToken, so it
	// need not appear in ps; MaxAccessTokens caps the stored access tokens
	// (0: threescale.DefaultMaxAccessTokens).
	AccessTokenFile string
	MaxAccessTokens int
	// MaxImportBytes bounds an imported composition document (0:
	// DefaultMaxImportBytes).
	MaxImportBytes int64
	// Caps bound what the composition may hold (threescale.Caps).
	Caps threescale.Caps
	// APIcastPolicies is the folder of APIcast's policy manifests that GET
	// /admin/api/policies.json lists (threescale.LoadBuiltinPolicies).
	APIcastPolicies string
	// Webhooks paces the delivery of webhook events (WebhookConfig).
	Webhooks WebhookConfig
	// Proxy describes a reverse proxy in front of home that terminates
	// TLS, for the console (ProxyConfig, console.go).
	Proxy ProxyConfig
}

// ConsulConfig places the composition in Consul.
type ConsulConfig struct {
	Address    string // the Consul agent's HTTP API, e.g. http://127.0.0.1:8500
	Token      string
	Prefix     string // KV prefix, default portolan/
	Datacenter string // default: the agent's own
	// MaxTxnBytes is Consul's txn_max_req_len (default 512 KiB, Consul's):
	// the largest entity the store takes goes alone in a transaction.
	MaxTxnBytes int
}

// Coordinator is a running home.
type Coordinator struct {
	cfg     Config
	store   composition.Store
	api     *threescale.API
	tokens  *threescale.TokenChecker
	metrics *prometheus.Registry // what GET /metrics serves
	// instances is the instance registry behind the agent API.
	instances *registry.Registry
	keyring   *gossipKeyring // nil when gossip is insecure
	ln        net.Listener
	server    *http.Server
	tls       *tlsServing
	proxy     proxySettings // a reverse proxy in front (console.go)

	decodeSlots decodeSlots // documents decoded and passwords hashed at once (apply_slots.go)
	// usage keeps usage counters (usage.db) for agents' batches, the Service
	// Management API and analytics.
	usage        *usage.Store
	alerts       *usage.Alerts // usage alerts and backend events, kept in usage.db
	usageBatches *prometheus.CounterVec
	limiters     limiterCounts // rate limit windows counted cluster-wide (usage_limiters.go)
	sm           *threescale.ServiceManagement
	analytics    *threescale.Analytics
	internal     *threescale.InternalAPI
	console      http.Handler // the web console at /ui/ (console.go)
	// now ends a stopping Run's wait for requests in flight (StopNow).
	now     context.Context
	stopNow context.CancelFunc
}

// shutdownDrain is how long a stopping Run waits for requests in flight
// (a slow client's upload, a large import) before it cuts them and closes
// the stores. Docker sends SIGKILL 10 s after SIGTERM (docker stop's and
// Compose's default), and after the drain come gossip's leave and usage
// sharing's last publish (2 s each at most) and the stores' last fsync:
// 5 s keeps all of it inside the shortest grace of deploy/ (Compose's
// default 10 s, systemd's TimeoutStopSec 20 s, Kubernetes' 30 s). Blocking
// queries are answered at once when Run stops, and do not count.
const shutdownDrain = 5 * time.Second

// ErrStoppedNow is Run's error when StopNow cut its wait for requests in
// flight: the stores were closed, but some callers got no answer.
var ErrStoppedNow = errors.New("stopped without waiting for the requests in flight")

// StopNow makes a stopping Run, or one that stops later, cut the requests
// in flight at once instead of waiting up to shutdownDrain for them: an
// operator's second SIGTERM or Ctrl-C, as Consul's agent takes a second
// signal. The stores are still closed before Run returns.
func (c *Coordinator) StopNow() { c.stopNow() }

// New opens the store and binds the listener; Run serves.
func New(cfg Config) (*Coordinator, error) { return NewContext(context.Background(), cfg) }

// NewContext is New, given up when ctx ends: a stop signal while it waits
// on Consul (up to 30 s when Consul is stalled) ends the start then,
// instead of after the wait, when Kubernetes' or Docker's grace is spent.
func NewContext(ctx context.Context, cfg Config) (*Coordinator, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:7070"
	}
	if cfg.DataDir == "" {
		return nil, errors.New("coordinator: a data directory is required")
	}
	switch {
	case cfg.MaxImportBytes == 0:
		cfg.MaxImportBytes = DefaultMaxImportBytes
	case cfg.MaxImportBytes < 0:
		return nil, fmt.Errorf("--max-import-bytes: %d is negative", cfg.MaxImportBytes)
	}
	if jointoken.IsJoinToken(cfg.AgentToken) {
		// It could never match: a presented ptj1. token is looked up as a
		// join token this home made.
		return nil, errors.New("--agent-token is a plain secret of your choosing; a join token (ptj1.…) is made by the coordinator: portolan token create")
	}
	if cfg.AgentToken != "" && cfg.AgentToken == cfg.AccessToken {
		// Every agent holds the agent token: it must grant nothing else.
		return nil, errors.New("--agent-token is --access-token: every agent holds the agent token, so each would hold home's admin token; give it a secret of its own")
	}
	if cfg.Consul != nil {
		consulCfg, err := cfg.Consul.resolved()
		if err != nil {
			return nil, err
		}
		// An embedding program that gave "news" kept its keys under
		// newscomposition/ before New read the prefix as a folder: refused
		// there as the CLI is (whose prefix comes resolved: nothing is read).
		if raw := cfg.Consul.Prefix; raw != "" {
			if err := consulCfg.CheckPrefixMoved(ctx, raw); err != nil {
				return nil, err
			}
		}
		cfg.Consul = consulCfg
	}
	proxy, err := cfg.Proxy.parse()
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	// The address is bound before anything is written to the data dir: a
	// port already taken fails the start with the dir as it was, rather
	// than leave in it an admin token generated for a start that did not
	// happen (the next start would find it and not say where it is).
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	ln = httpserve.Listener(ln, cfg.Limits) // a client that reads nothing of an answer is cut
	started := false
	defer func() {
		if !started {
			ln.Close()
		}
	}()
	// The data dir keeps keys and tokens: 0700, as the README promises, even
	// when it existed before. One this user cannot chmod (a volume's root,
	// owned by root, that fsGroup opened to the group) is used as it is,
	// warned: every file in it is 0600.
	if err := atomicfile.PrivateDir(cfg.DataDir); errors.Is(err, atomicfile.ErrNotPrivate) {
		cfg.Logger.Warn().Err(err).Msg("the data dir stays open to others; its files are 0600")
	} else if err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	token, err := resolveAccessToken(cfg.AccessToken, cfg.AccessTokenFile, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// Said once it is written, whether or not this start succeeds: a
	// later start finds it and says nothing.
	announceToken(cfg, token)
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keyring, err := openGossipKeyring(cfg, cmp.Or(cfg.Heartbeat, registry.DefaultHeartbeat))
	if err != nil {
		store.Close()
		return nil, err
	}
	instances, err := newInstances(cfg, store, keyring)
	if err != nil {
		store.Close()
		return nil, err
	}
	counters, err := usage.Open(cfg.DataDir, time.Now(), cfg.Logger.With().Str("component", "usage").Logger())
	if err != nil {
		store.Close()
		return nil, err
	}
	alerts, err := usage.OpenAlerts(counters, store.Snapshot, 0, time.Now())
	if err != nil {
		counters.Close()
		store.Close()
		return nil, err
	}
	serving, err := newTLSServing(cfg, ln.Addr())
	if err != nil {
		counters.Close()
		store.Close()
		return nil, fmt.Errorf("coordinator on %s: %w", ln.Addr(), err)
	}
	for _, flag := range weakTokens(cfg, ln.Addr()) {
		cfg.Logger.Warn().Str("flag", flag).Int("min_length", minGuessResistantToken).Str("listen", ln.Addr().String()).
			Msg("a short token on an address other hosts reach can be guessed: give a random one of 16 characters or more (or let the coordinator generate the access token)")
	}
	c := &Coordinator{cfg: cfg, store: store, ln: ln, tls: serving, proxy: proxy, decodeSlots: newDecodeSlots(), metrics: prometheus.NewRegistry(), instances: instances, keyring: keyring,
		usage: counters, alerts: alerts, usageBatches: newUsageMetrics()}
	c.now, c.stopNow = context.WithCancel(context.Background())
	c.tokens = newTokenChecker(cfg, store, token)
	c.api = threescale.New(store, c.tokens)
	// A write that fails for the store's own reason (a full or read-only
	// disk, Consul gone) is logged here, once, with the route it answered:
	// the API answers it 5xx with no detail, as 3scale does.
	c.api.SetLogger(cfg.Logger.With().Str("component", "threescale").Logger())
	c.api.SetCaps(cfg.Caps)
	c.api.SetPublicURL(proxy.public)
	c.api.SetAPIcastPolicies(cfg.APIcastPolicies, cfg.Logger.With().Str("component", "threescale").Logger())
	c.api.SetPolicyCheck(policy.Validate) // without manifests, chains are checked as the gateway builds them
	c.sm = threescale.NewServiceManagement(store, c.tokens, usageCounters{counters, alerts})
	c.analytics = threescale.NewAnalytics(store, c.tokens, usageCounters{counters, alerts})
	c.internal = threescale.NewInternalAPI(store, c.tokens, usageCounters{counters, alerts}, backendEvents{alerts})
	if c.console, err = c.newConsole(); err != nil {
		counters.Close()
		store.Close()
		return nil, err
	}
	c.server = httpserve.New(c.routes(), cfg.Limits)
	c.server.TLSConfig = serving.config
	started = true
	return c, nil
}

// openStore opens the composition store: Consul KV when configured, else
// bbolt in the data dir.
func openStore(ctx context.Context, cfg Config) (composition.Store, error) {
	if cfg.Consul == nil {
		return boltstore.OpenWith(cfg.DataDir, boltstore.Options{StartEmpty: cfg.StartEmpty})
	}
	client, err := cfg.Consul.client()
	if err != nil {
		return nil, err
	}
	if consulacl.ClearText(cfg.Consul.Address, cfg.Consul.Token) {
		cfg.Logger.Warn().Str("consul", redact.URL(cfg.Consul.Address)).Msg("--consul is plain http to a host other than loopback: " +
			"the Consul ACL token and the composition, application keys included, cross the network in clear on every call, " +
			"and whoever is on the way could change what home signs; use https:// (Consul's HTTPS port, 8501)")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := consulstore.Open(ctx, consulstore.Config{
		Client: client, Prefix: cfg.Consul.Prefix,
		Logger:   cfg.Logger.With().Str("component", "consulstore").Logger(),
		FloorDir: cfg.DataDir, StartEmpty: cfg.StartEmpty, MaxTxnBytes: cfg.Consul.MaxTxnBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("composition in Consul at %s: %w", cfg.Consul.Address, err)
	}
	return store, nil
}

// Addr returns the address the API listens on.
func (c *Coordinator) Addr() string { return c.ln.Addr().String() }

// Store returns the composition store.
func (c *Coordinator) Store() composition.Store { return c.store }

// Run serves until ctx ends, then shuts down gracefully and closes the store.
func (c *Coordinator) Run(ctx context.Context) error {
	log := c.cfg.Logger
	snap := c.store.Snapshot()
	log.Info().Str("listen", c.Addr()).Str("url", c.URL()).Str("data_dir", c.cfg.DataDir).
		Uint64("revision", snap.Revision).Int("entities", snap.Count()).Msg("coordinator started")
	defer c.closeUsage() // deferred: runs after the server has shut down
	defer c.logServing(ctx)()
	stopAgents := c.startAgents()
	defer c.startUsageRetain()() // before closeUsage: it reads the usage store
	if c.cfg.Consul != nil {
		stopCatalog, err := c.followCatalog()
		if err != nil {
			stopAgents()
			c.ln.Close()
			c.store.Close()
			return err
		}
		defer stopCatalog()
		stopShare, err := c.startUsageShare()
		if err != nil {
			stopAgents()
			c.ln.Close()
			c.store.Close()
			return err
		}
		defer stopShare() // before closeUsage: its last publish reads the store
	}
	if c.cfg.Gossip != nil {
		stopGossip, err := c.startGossip(ctx)
		if err != nil {
			stopAgents()
			c.ln.Close()
			c.store.Close()
			return err
		}
		defer stopGossip()
	}
	stopWebhooks := c.startWebhooks()
	errc := make(chan error, 1)
	go func() { errc <- c.serve() }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopAgents() // answers pending blocking queries, so Shutdown need not wait for them
	shutdownCtx, cancel := context.WithTimeout(c.now, shutdownDrain)
	defer cancel()
	if err := c.server.Shutdown(shutdownCtx); err != nil {
		if c.now.Err() != nil {
			log.Warn().Msg("stopping now: requests still in flight are cut")
			serveErr = ErrStoppedNow
		} else {
			log.Warn().Err(err).Dur("waited", shutdownDrain).Msg("graceful shutdown timed out: requests still in flight are cut")
		}
		// Their connections close, so no handler reads on while the
		// stores close under it.
		_ = c.server.Close()
	}
	stopWebhooks() // before the store closes: it writes the outbox
	if err := c.store.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	log.Info().Msg("coordinator stopped")
	return serveErr
}
