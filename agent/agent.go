package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/agent/gateway"
	"github.com/portolan/portolan/agent/ledger"
	"github.com/portolan/portolan/agent/mgmt"
	"github.com/portolan/portolan/agent/supervise"
	"github.com/portolan/portolan/gossip"
	"github.com/portolan/portolan/internal/consulacl"
	"github.com/portolan/portolan/internal/httpserve"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/redact"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Config configures an agent.
type Config struct {
	Command []string // CMD and ARGS

	Home    string // coordinator URL; empty runs CMD without phoning home
	Token   string // a join token (portolan token create) or the coordinator's bootstrap agent token
	Service string // system_name of the service this container implements
	// Composition is the files or directories of the documents the image
	// carries (composition_apply.go); brought to home at registration.
	Composition []string
	Address     string // "" (first non-loopback IPv4), an IP, or an interface name
	Port        int
	Labels      map[string]string

	// CAFile and CAPin say how an https:// home is trusted: a CA of your
	// own (--ca-file), or the pin of home's CA (--ca-pin, a join token's);
	// with both, both must hold. Neither trusts the system's roots.
	CAFile string
	CAPin  pki.Pin
	// TLSClientCert and TLSClientKey are the agent's certificate for a home
	// that requires one (its --tls-client-ca).
	TLSClientCert, TLSClientKey string

	Consul                string        // local Consul agent URL; empty does not register with Consul
	ConsulToken           string        // ACL token for Consul
	ConsulDeregisterAfter time.Duration // Consul removes a service critical this long; default 30s

	Heartbeat time.Duration // default 2s
	TTL       time.Duration // default 6s
	Check     CheckConfig

	PlacementFile string          // default /run/portolan/placement.json
	CacheDir      string          // where the last composition is kept; "" keeps it in memory only
	Gossip        *gossip.Config  // joins a gossip cluster when set (Name, Meta, Source and callbacks are the agent's)
	API           string          // local API address, default 127.0.0.1:7071; "off" disables it
	Mgmt          *mgmt.Config    // the local management proxy; nil is off
	Gateway       *gateway.Config // the gateway in front of the app; nil = off
	WaitHome      time.Duration

	// MetricsListen serves /metrics alone on this address; "" is off.
	MetricsListen string
	// Limits bound the local API and metrics listeners (Mgmt has its own).
	Limits httpserve.Limits

	// ReportInterval is how often the gateway's usage is reported to home; default 1s.
	ReportInterval time.Duration

	SignalGroup bool
	Drain       time.Duration
	StopTimeout time.Duration

	Version string
	Logger  zerolog.Logger
}

// homeTLS is how the agent trusts home.
func (cfg *Config) homeTLS() client.TLS {
	return client.TLS{CAFile: cfg.CAFile, CAPin: cfg.CAPin, CertFile: cfg.TLSClientCert, KeyFile: cfg.TLSClientKey}
}

// Defaults.
const (
	DefaultHeartbeat     = 2 * time.Second
	DefaultTTL           = 6 * time.Second
	DefaultCheckInterval = 5 * time.Second
	DefaultAPI           = "127.0.0.1:7071"
	DefaultPlacementFile = "/run/portolan/placement.json"
	DefaultCacheDir      = "/var/cache/portolan"
	DefaultStopTimeout   = 10 * time.Second
	homeCallTimeout      = 5 * time.Second
)

// Agent is one running agent: supervisor, home client and local API.
type Agent struct {
	cfg Config
	log zerolog.Logger
	// cacheLock holds --cache-dir for this agent until its process ends.
	cacheLock *os.File
	reg       registry.Registration
	home      *client.Client
	probe     check
	st        *state
	kick      chan struct{} // wakes the home loop early (status change)
	first     chan struct{} // closed on the first successful registration
	once      sync.Once
	m         *metrics
	comp      *compositionCache
	// onComposition is told of every newer composition installed and where
	// it came from (gossip announces it).
	onComposition func(revision uint64, from string)
	node          atomic.Pointer[gossip.Node] // nil without gossip
	consul        *consulAgent                // nil without Consul
	usage         *ledger.Ledger              // the gateway's usage; nil without a gateway
	mgmt          *mgmt.Proxy                 // the management proxy; nil without one
	bring         *bringing                   // the image's documents; nil without --composition
	// held is the forwarded signals, held from New's start to Run's end
	// (stop_before_command.go): none meets Go's default action meanwhile.
	held chan os.Signal

	// Gossip's keyring (gossipkeys.go) and home's instances from its last
	// map (mapview.go).
	gossipKeys gossipKeyring
	viewKey    viewKeyring // seals this service's view on gossip (viewkey.go)
	registered atomic.Pointer[homeInstances]

	// incarnation is the id drawn at start, which never changes: the
	// prefix of the usage ledger's batch ids, the gossip node name and the
	// Consul service id. ID is the one home knows the instance by now
	// (instanceid.go: it changes when home holds it for another token).
	incarnation string
	idFollow    idFollowers // told of a new instance id
}

// errCacheDirInUse is a --cache-dir another running agent holds.
var errCacheDirInUse = errors.New("in use by another running agent")

// New validates cfg and prepares an agent; Run starts it. What New fetches
// (a --mgmt-spec URL) ends with ctx, or with a stop signal: the error then
// says so, and StopCode gives the agent's exit code.
func New(ctx context.Context, cfg Config) (_ *Agent, err error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("no command to run: portolan agent [flags] -- CMD [ARGS...]")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < cfg.Heartbeat {
		return nil, fmt.Errorf("--ttl %s is shorter than --heartbeat %s: the instance would flap critical", cfg.TTL, cfg.Heartbeat)
	}
	if cfg.Check.Interval <= 0 {
		cfg.Check.Interval = DefaultCheckInterval
	}
	if cfg.API == "" {
		cfg.API = DefaultAPI
	}
	if cfg.PlacementFile == "" {
		cfg.PlacementFile = DefaultPlacementFile
	}
	probe, err := cfg.Check.build()
	if err != nil {
		return nil, err
	}
	if cfg.Gateway != nil {
		if _, err := cfg.Gateway.Check(); err != nil {
			return nil, err
		}
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, probe: probe, kick: make(chan struct{}, 1), first: make(chan struct{}),
		m: newMetrics(), comp: newCompositionCache(cfg.CacheDir), held: holdSignals()}
	defer func() {
		if err != nil {
			signal.Stop(a.held)
		}
	}()
	if cfg.Home != "" {
		if cfg.Service == "" {
			return nil, errors.New("--service is required with --home: the system_name of the service this container implements")
		}
		// The pin of home's CA, when the join token carries one: the TLS
		// client pins it (Config.CAPin).
		pin, err := joinTokenPin(cfg.Token)
		if err != nil {
			return nil, err
		}
		if cfg.CAPin.IsZero() {
			cfg.CAPin = pin
		}
		if a.home, err = client.New(client.Config{Address: cfg.Home, Token: cfg.Token, Timeout: homeCallTimeout, TLS: cfg.homeTLS()}); err != nil {
			return nil, fmt.Errorf("--home %w", err)
		}
	}
	if len(cfg.Composition) > 0 {
		// Checked even without home: an image with bad documents fails
		// wherever it runs, not first where home is.
		b, err := loadComposition(cfg.Composition, cfg.Service)
		if err != nil {
			return nil, err
		}
		if cfg.Home != "" {
			a.bring = b
		} else {
			a.log.Info().Strs("composition", cfg.Composition).Msg("no --home: the image's composition is not brought anywhere")
		}
	}
	if cfg.Consul != "" && cfg.Service == "" {
		return nil, errors.New("--service is required with --consul: the Consul service name")
	}
	addr, err := resolveAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	hostname, _ := os.Hostname()
	a.incarnation = instanceID(cfg.Service, hostname)
	a.reg = registry.Registration{
		Service: cfg.Service, Address: addr, Port: cfg.Port, Labels: cfg.Labels, Hostname: hostname,
		AgentVersion: cfg.Version, Check: cfg.Check.describe(), TTL: registry.Duration(cfg.TTL),
	}
	a.st = newState(a.incarnation, a.reg)
	a.markStarting()
	if cfg.CacheDir != "" {
		a.privateCacheDir()
		a.cacheLock, err = lockCacheDir(cfg.CacheDir)
		switch {
		case errors.Is(err, errCacheDirInUse):
			return nil, err
		case err != nil:
			// A directory the agent cannot write (a read-only root, an
			// image without it under --user), where no agent keeps
			// anything, or a file system without locks: only an agent
			// with a gateway needs the directory (its usage spool, whose
			// start says so), as before it was locked.
			a.log.Warn().Err(err).Msg("the cache directory cannot be locked: another agent given it is not refused")
			err = nil
		}
		defer func() {
			if err != nil && a.cacheLock != nil { // the directory is free for the next try
				_ = a.cacheLock.Close()
			}
		}()
	}
	a.loadCache()
	if cfg.Gateway != nil {
		spool := "" // without home there is nothing to spool for
		if cfg.Home != "" {
			spool = cfg.CacheDir
		}
		if a.usage, err = ledger.New(spool, a.incarnation, a.placedServiceID, a.log); err != nil {
			return nil, err
		}
		a.m.watchUsage(a.usage)
	}
	if cfg.Consul != "" {
		if a.consul, err = newConsulAgent(cfg.Consul, cfg.ConsulToken, a.incarnation, cfg.ConsulDeregisterAfter); err != nil {
			return nil, err
		}
		if consulacl.ClearText(cfg.Consul, cfg.ConsulToken) {
			a.log.Warn().Str("consul", redact.URL(cfg.Consul)).Msg("--consul is plain http to a host other than loopback: " +
				"the Consul ACL token crosses the network in clear on every call; use https:// (Consul's HTTPS port, 8501) or the node's agent on 127.0.0.1")
		}
	}
	if cfg.Mgmt != nil {
		mcfg := *cfg.Mgmt
		if mcfg.Upstream == "" && mcfg.TLS == nil && !cfg.homeTLS().IsZero() { // it forwards to home: trust home alike
			if mcfg.TLS, err = cfg.homeTLS().Config(); err != nil {
				return nil, err
			}
		}
		sctx, release := a.untilStopped(ctx, "while starting")
		a.mgmt, err = mgmt.New(sctx, mcfg, cfg.Home, a.log)
		if stopped := release(); stopped != nil {
			return nil, stopped
		}
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// ID returns the instance id home knows the agent by: unique to this
// container incarnation, and changed only when home holds it for another
// join token (instanceid.go).
func (a *Agent) ID() string { return a.st.instanceID() }

// Run starts the local API, phones home, runs CMD until it exits, deregisters
// and returns CMD's exit code.
func (a *Agent) Run(ctx context.Context) (int, error) {
	// Before any child (CMD, a --check-exec command) runs as our user and
	// could read our secrets in /proc.
	makeNonDumpable(a.log)

	// The forwarded signals are held from New's start for the whole run,
	// so one that arrives before the supervisor takes over, or while
	// deregistering after CMD exited, cannot kill the agent with its
	// default action; the supervisor reads this channel, so none is lost
	// in between.
	held := a.held
	defer signal.Stop(held)
	// A log line to a standard output or error whose reader is gone (`|
	// head`, a dead log collector) would otherwise kill the agent with
	// SIGPIPE (Go's runtime does, unless SIGPIPE is notified), mid-stop,
	// with no drain, goodbye or CMD's code: the write fails instead.
	// Handled, not ignored: exec resets a handled signal to its default
	// action, but CMD would inherit an ignored one.
	pipe := make(chan os.Signal, 1) // never read: a dropped SIGPIPE is all we want
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stopped := false
	stop := func() { // the loops end before the agent says goodbye, or one might register again
		if !stopped {
			stopped = true
			stopBG()
			wg.Wait()
			if a.usage != nil { // the gateway and the reporter are done with it
				if err := a.usage.Close(); err != nil {
					a.log.Warn().Err(err).Msg("usage ledger: close")
				}
			}
		}
	}
	defer stop()

	if a.cfg.API != "off" {
		ln, err := net.Listen("tcp", a.cfg.API)
		if err != nil {
			return 1, fmt.Errorf("local API on %s: %w", a.cfg.API, err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.serveAPI(bg, ln) }()
	}
	if a.cfg.Gossip != nil {
		stopGossip, err := a.startGossip(bg)
		if err != nil {
			return 1, err
		}
		defer stopGossip()
		if a.home != nil && a.cfg.Gateway == nil {
			wg.Add(1)
			go func() { defer wg.Done(); a.followHomeMap(bg) }()
		}
	}
	if a.usage != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.runUsage(bg) }()
	}
	if a.cfg.CacheDir != "" {
		wg.Add(1)
		go func() { defer wg.Done(); a.keepCacheSaved(bg) }()
	}
	if a.cfg.Gateway != nil {
		if err := a.startGateway(bg, &wg); err != nil {
			return 1, err
		}
	}
	if err := a.startMetrics(bg, &wg); err != nil {
		return 1, err
	}
	if err := a.startMgmt(bg, &wg); err != nil {
		return 1, err
	}
	if a.probe != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.runChecks(bg) }()
	}
	if a.consul != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.runConsul(bg) }()
	}
	if a.home != nil {
		wg.Add(2)
		go func() { defer wg.Done(); a.phoneHome(bg) }()
		go func() { defer wg.Done(); a.watchComposition(bg) }()
	}
	// From here the loops may have registered, or have a registration on
	// its way (waited for by stop): every way out, CMD run or not (stopped
	// while waiting for home), ends with the goodbye.
	defer func() { stop(); a.goodbye() }()
	if a.home != nil && a.cfg.WaitHome > 0 {
		if err := a.waitHome(ctx, held); err != nil {
			return exitCodeOf(err), err
		}
	}
	if err := stopAsked(held); err != nil {
		return exitCodeOf(err), err
	}

	sup, err := supervise.New(supervise.Config{
		Command: a.cfg.Command, Env: a.commandEnv(os.Environ()), SignalGroup: a.cfg.SignalGroup, Drain: a.cfg.Drain,
		StopTimeout: a.cfg.StopTimeout, OnStopping: a.draining, Signals: held, Logger: a.log,
	})
	if err != nil {
		return 1, err
	}
	a.st.setRunning(true)
	code, err := sup.Run(ctx)
	a.st.setRunning(false)
	a.log.Info().Int("exit_code", code).Msg("command exited")
	return code, err
}

// goodbye deregisters from home and Consul, once Run's loops have ended.
func (a *Agent) goodbye() {
	if a.home != nil && a.st.isRegistered() {
		dctx, cancel := context.WithTimeout(context.Background(), homeCallTimeout)
		if derr := a.home.Deregister(dctx, a.ID()); derr != nil {
			a.log.Warn().Err(derr).Msg("deregister")
		}
		cancel()
		if err := dropCredential(a.cfg.CacheDir); err != nil {
			a.log.Warn().Err(err).Msg("remove the instance credential")
		}
	}
	if a.consul != nil {
		a.deregisterConsul()
	}
}

// draining tells home the instance is stopping (best effort, bounded).
func (a *Agent) draining() {
	a.st.setDraining()
	if a.consul != nil {
		select {
		case a.consul.wake <- struct{}{}:
		default:
		}
	}
	if a.home == nil || !a.st.isRegistered() {
		// Not registered yet, or registering again (home forgot the
		// instance): the home loop drains it once it is
		// (drainIfStopping), or home would have it passing, sent new
		// traffic, for the whole drain.
		return
	}
	a.drainHome()
}

// drainIfStopping is the home loop's, right after each registration: an
// instance registered while the agent stops (a SIGTERM that came while
// the registration's reply was on its way, or a home that restarted during
// the drain and forgot the instance) is drained at once. setDraining comes
// before draining's look at isRegistered, and setRegistered before this
// look at isDraining, so one of the two drains it at least.
func (a *Agent) drainIfStopping() {
	if a.st.isDraining() {
		a.drainHome()
	}
}

// drainHome tells home the instance is draining, with the credential of the
// last registration.
func (a *Agent) drainHome() {
	ctx, cancel := context.WithTimeout(context.Background(), homeCallTimeout)
	defer cancel()
	if err := a.home.Drain(ctx, a.ID()); err != nil {
		a.log.Warn().Err(err).Msg("drain")
	}
}
