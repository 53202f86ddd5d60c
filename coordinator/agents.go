package coordinator

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// newInstances builds the instance registry from the configuration, with
// the join tokens kept in the data dir. Home's composition signing key and
// credential key are made in the data dir on first start, and kept (0600).
func newInstances(cfg Config, store composition.Store, keyring *gossipKeyring) (*registry.Registry, error) {
	tokens, err := registry.OpenJoinTokenStore(filepath.Join(cfg.DataDir, registry.JoinTokenFile))
	if err != nil {
		return nil, err
	}
	signer, err := registry.LoadSigner(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("composition signing key in %s: %w", cfg.DataDir, err)
	}
	rc := registry.Config{
		Store:                   store,
		Signer:                  signer,
		Heartbeat:               cfg.Heartbeat,
		TTL:                     cfg.TTL,
		DeregisterCriticalAfter: cfg.DeregisterCriticalAfter,
		Logger:                  cfg.Logger.With().Str("component", "registry").Logger(),
		JoinTokens:              tokens,
		MaxInstances:            cfg.Identity.MaxInstances,
		MaxJoinTokens:           cfg.Identity.MaxJoinTokens,
		MaxInstancesPerToken:    cfg.Identity.MaxInstancesPerToken,
		// The instances are soft state: this start's map must not reuse
		// the indexes of the one before, which watchers may hold.
		FirstIndex: registry.StartIndex(time.Now()),
	}
	if keyring != nil {
		rc.GossipKeys = keyring.Current
	}
	r, err := registry.New(rc)
	if err != nil {
		return nil, err
	}
	if keyring != nil {
		keyring.waitFor(r.GossipKeysBehind)
	}
	for _, id := range r.UncappedJoinTokens() {
		cfg.Logger.Warn().Str("join_token", id).Msg("join token with no cap of live instances (made before tokens had one by default): " +
			"one leak of it can fill home up to --max-instances; give it one with portolan token update " + id + " --max-instances N")
	}
	return r, nil
}

// Instances returns the instance registry.
func (c *Coordinator) Instances() *registry.Registry { return c.instances }

// agentsHandler serves the agent API under /v1/.
func (c *Coordinator) agentsHandler() http.Handler { return c.instances.Handler(c.agentAccess()) }

// agentAccess is who besides instances may call the agent API: the
// bootstrap token registers, an admin access token (read-only will do)
// reads the map.
func (c *Coordinator) agentAccess() registry.Access {
	return registry.Access{BootstrapToken: c.cfg.AgentToken, Admin: c.readsMap}
}

// bearer is the Bearer token of r.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// startAgents runs the registry until the returned stop is called; stop
// returns once it has ended, which also answers pending blocking queries.
func (c *Coordinator) startAgents() (stop func()) {
	log := c.cfg.Logger
	if c.cfg.AgentToken == "" {
		log.Info().Msg("no bootstrap agent token (--agent-token): only join tokens (portolan token create) register instances")
	} else {
		log.Info().Dur("heartbeat", c.instances.HeartbeatInterval()).Dur("ttl", c.instances.TTL()).
			Dur("deregister_critical_after", c.instances.DeregisterCriticalAfter()).Msg("agent API enabled")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.instances.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// instancesCollector exports the registry's gauges and counters.
type instancesCollector struct {
	r                                          *registry.Registry
	instances, index                           *prometheus.Desc
	registrations, heartbeats, deregistrations *prometheus.Desc
	expirations, removals                      *prometheus.Desc
	refused                                    *prometheus.Desc
}

func newInstancesCollector(r *registry.Registry) *instancesCollector {
	return &instancesCollector{
		r: r,
		instances: prometheus.NewDesc("portolan_registry_instances",
			"Registered instances by status.", []string{"status"}, nil),
		index: prometheus.NewDesc("portolan_registry_index",
			"Index of the service map.", nil, nil),
		registrations: prometheus.NewDesc("portolan_registry_registrations_total",
			"Instance registrations accepted.", nil, nil),
		heartbeats: prometheus.NewDesc("portolan_registry_heartbeats_total",
			"Heartbeats received (valid ones, including those for unknown instances).", nil, nil),
		deregistrations: prometheus.NewDesc("portolan_registry_deregistrations_total",
			"Instances deregistered by their agent.", nil, nil),
		expirations: prometheus.NewDesc("portolan_registry_ttl_expirations_total",
			"Instances turned critical because no heartbeat came within their TTL.", nil, nil),
		removals: prometheus.NewDesc("portolan_registry_critical_removals_total",
			"Instances removed after being critical for deregister-critical-after.", nil, nil),
		refused: prometheus.NewDesc("portolan_registry_registrations_refused_total",
			"Registrations refused, by reason: instance_cap (home's --max-instances), join_token_cap (a join token's max_instances, or the bootstrap --agent-token's --max-instances-per-token) or id_taken (the id is live through another join token: answered 409, the agent takes another id).", []string{"reason"}, nil),
	}
}

func (ic *instancesCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ic.instances, ic.index, ic.registrations, ic.heartbeats,
		ic.deregistrations, ic.expirations, ic.removals, ic.refused} {
		ch <- d
	}
}

func (ic *instancesCollector) Collect(ch chan<- prometheus.Metric) {
	s := ic.r.Stats()
	for _, status := range []string{registry.StatusPassing, registry.StatusWarning, registry.StatusCritical, registry.StatusDraining} {
		ch <- prometheus.MustNewConstMetric(ic.instances, prometheus.GaugeValue, float64(s.Instances[status]), status)
	}
	ch <- prometheus.MustNewConstMetric(ic.index, prometheus.GaugeValue, float64(s.Index))
	ch <- prometheus.MustNewConstMetric(ic.registrations, prometheus.CounterValue, float64(s.Registrations))
	ch <- prometheus.MustNewConstMetric(ic.heartbeats, prometheus.CounterValue, float64(s.Heartbeats))
	ch <- prometheus.MustNewConstMetric(ic.deregistrations, prometheus.CounterValue, float64(s.Deregistrations))
	ch <- prometheus.MustNewConstMetric(ic.expirations, prometheus.CounterValue, float64(s.Expirations))
	ch <- prometheus.MustNewConstMetric(ic.removals, prometheus.CounterValue, float64(s.Removals))
	ch <- prometheus.MustNewConstMetric(ic.refused, prometheus.CounterValue, float64(s.RefusedAtCap), "instance_cap")
	ch <- prometheus.MustNewConstMetric(ic.refused, prometheus.CounterValue, float64(s.RefusedAtTokenCap), "join_token_cap")
	ch <- prometheus.MustNewConstMetric(ic.refused, prometheus.CounterValue, float64(s.RefusedIDTaken), "id_taken")
}
