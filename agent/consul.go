package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/consulacl"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// DefaultConsulDeregisterAfter is how long Consul keeps a service whose TTL
// check is critical before removing it: the coordinator's default.
const DefaultConsulDeregisterAfter = 30 * time.Second

// consulAgent registers the instance with the node's local Consul agent and
// feeds its TTL check.
type consulAgent struct {
	client     *consul.Client
	serviceID  string
	checkID    string
	deregAfter time.Duration
	registered string        // fingerprint of the last successful registration; "" when none
	metaWarned string        // the labels last warned of as left out of Meta; "" when none
	wake       chan struct{} // updates the check at once (the instance started draining)

	// attempted: a registration was sent, so Consul may hold the service
	// even when the answer never came (cancelled at shutdown). Written by
	// runConsul only; read after done is closed.
	attempted bool
	// maintenance is whether the service was put in maintenance mode
	// (draining) since its last registration; runConsul only.
	maintenance bool
	done        chan struct{} // closed when runConsul returns
}

func newConsulAgent(addr, token, id string, deregAfter time.Duration) (*consulAgent, error) {
	cfg := consul.DefaultNonPooledConfig()
	cfg.Address = addr // api.NewClient accepts a scheme: http://, https://, unix://
	cfg.Token = token
	c, err := consul.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("--consul %s: %w", addr, err)
	}
	if deregAfter <= 0 {
		deregAfter = DefaultConsulDeregisterAfter
	}
	return &consulAgent{client: c, serviceID: id, checkID: "service:" + id, deregAfter: deregAfter,
		wake: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// consulRegistration builds the service registration from what the agent
// knows now: the placement's plans become tags, labels become Meta.
func (a *Agent) consulRegistration() *consul.AgentServiceRegistration {
	self := a.st.self()
	rev, _ := a.comp.Latest()
	rev = max(rev, self.Revision)
	tags := []string{"portolan"}
	if self.Placement != nil {
		for _, p := range self.Placement.Plans {
			tags = append(tags, "plan:"+p.SystemName)
		}
	}
	meta := map[string]string{
		"instance_id":          a.ID(), // home's id; the service keeps the incarnation's
		"composition_revision": strconv.FormatUint(rev, 10),
	}
	if a.cfg.Version != "" {
		meta["agent_version"] = a.cfg.Version
	}
	// Draining shows in Meta, so maps read from the catalog show the
	// instance draining rather than failing; maintenance mode takes it out
	// of Consul's passing set all the same (runConsul, consulCheck). Its
	// pair is kept free while not draining, so starting to drain leaves out
	// no label.
	draining := a.st.isDraining()
	labelRoom := consulMetaPairsMax - len(meta) - 1
	if draining {
		meta[consulcatalog.MetaDraining] = consulcatalog.MetaTrue
		labelRoom = consulMetaPairsMax - len(meta)
	}
	var dropped, merged []string
	heldBy := make(map[string]string, len(self.Labels)) // Meta key → the label it holds
	for _, k := range slices.Sorted(maps.Keys(self.Labels)) {
		key := consulMetaKey("label_" + k)
		if other, ok := heldBy[key]; ok {
			merged = append(merged, fmt.Sprintf("%s (as %s, held by %s)", k, key, other))
			continue
		}
		if len(heldBy) >= labelRoom {
			dropped = append(dropped, k)
			continue
		}
		heldBy[key] = k
		meta[key] = consulMetaValue(self.Labels[k])
	}
	a.warnLabelsLeftOut(dropped, merged)
	return &consul.AgentServiceRegistration{
		ID: a.incarnation, Name: a.cfg.Service, Address: self.Address, Port: self.Port, Tags: tags, Meta: meta,
		Check: &consul.AgentServiceCheck{
			CheckID:                        a.consul.checkID,
			Name:                           "portolan agent TTL",
			TTL:                            a.cfg.TTL.String(),
			Status:                         consulStatus(self.Status),
			Notes:                          "fed by the portolan agent on every heartbeat",
			DeregisterCriticalServiceAfter: a.consul.deregAfter.String(),
		},
	}
}

// Consul's limits on a service's Meta (agent/structs ValidateServiceMetadata):
// pairs, a key's length, and a value's length in bytes, as Consul decodes
// it from the request's JSON.
const (
	consulMetaPairsMax = 64
	consulMetaKeyMax   = 128
	consulMetaValueMax = 512
)

// warnLabelsLeftOut logs the labels consulRegistration left out of Meta,
// once for each set of them (it runs on every heartbeat): those past
// Consul's 64 pairs, and those whose Meta key another label holds ("a.b"
// and "a_b" are both label_a_b). Called by runConsul only.
func (a *Agent) warnLabelsLeftOut(dropped, merged []string) {
	fp := strings.Join(dropped, "\x00") + "\x01" + strings.Join(merged, "\x00")
	if len(dropped)+len(merged) == 0 {
		fp = ""
	}
	if fp == a.consul.metaWarned {
		return
	}
	a.consul.metaWarned = fp
	if fp == "" {
		return
	}
	a.log.Warn().Strs("over_64_pairs", dropped).Strs("key_taken", merged).
		Msg("some labels are not in the Consul registration's Meta: Consul takes at most 64 pairs, " +
			"and a label's key there keeps only [A-Za-z0-9_-] (others become _) and 128 characters; rename or remove them")
}

// consulMetaValue makes v a Meta value Consul takes: valid UTF-8 (the JSON
// encoder would send each invalid byte as U+FFFD, three bytes) of at most
// 512 bytes, cut at a rune boundary.
func consulMetaValue(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) <= consulMetaValueMax {
		return v
	}
	cut := consulMetaValueMax
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// consulMetaKey makes k a valid Consul Meta key: [A-Za-z0-9_-], at most 128.
func consulMetaKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !(c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			b[i] = '_'
		}
	}
	if len(b) > consulMetaKeyMax {
		b = b[:consulMetaKeyMax]
	}
	return string(b)
}

// consulCheck is the TTL check's status and output for the agent's health.
// A draining instance's check is passing, fed while its agent is there:
// maintenance mode (consulDrainReason) is what takes it out of Consul's
// passing set, so that the TTL running out once the agent is gone (killed)
// turns the check critical, a change Consul sends the catalog at once with
// its "TTL expired" output, and maps read from the catalog show the
// instance critical rather than draining (consulcatalog). Nor does a long
// drain count toward Consul's deregister-after.
func consulCheck(status, output string, draining bool) (string, string) {
	if draining {
		return consul.HealthPassing, "draining: the instance is stopping"
	}
	return consulStatus(status), output
}

// consulDrainReason is the reason of the maintenance mode a draining
// instance's service is put in: a critical check of Consul's own, out of
// its passing set (health queries, DNS), as out of home's.
const consulDrainReason = "portolan: draining, the instance is stopping"

// consulStatus maps the agent's health to a Consul check status.
func consulStatus(s string) string {
	switch s {
	case registry.StatusPassing:
		return consul.HealthPassing
	case registry.StatusWarning:
		return consul.HealthWarning
	default:
		return consul.HealthCritical
	}
}

// fingerprint identifies what a registration says, so a new placement or
// revision registers again (idempotent in Consul) and nothing else does.
func fingerprint(r *consul.AgentServiceRegistration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%d|%v|", r.ID, r.Name, r.Address, r.Port, r.Tags)
	for _, k := range slices.Sorted(maps.Keys(r.Meta)) {
		fmt.Fprintf(&b, "%s=%s|", k, r.Meta[k])
	}
	return b.String()
}

// errUnknownCheck reports whether Consul answered that it does not know the
// TTL check: the Consul agent restarted and lost its state.
func errUnknownCheck(err error) bool {
	var se consul.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "Unknown check") || strings.Contains(msg, "does not have associated TTL")
}

// consulRefused words Consul refusing the agent's token (403) as what is
// missing and what to do: a policy to register, feed and deregister this
// instance, or a token Consul knows; any other error is returned as it is.
func consulRefused(err error, service string) error {
	return consulacl.Hint(err, "the agent's", fmt.Sprintf(`service %q { policy = "write" }`, service))
}

// runConsul registers with Consul, then updates the TTL check every heartbeat
// until ctx ends. A failed registration is retried with backoff capped at the
// heartbeat interval; an unknown check registers again at once.
func (a *Agent) runConsul(ctx context.Context) {
	c := a.consul
	defer close(c.done)
	interval := a.cfg.Heartbeat
	retry := backoff.Backoff{Min: 100 * time.Millisecond, Max: interval}
	wait := time.Duration(0)
	down := false
	fail := func(what string, err error) {
		err = consulRefused(err, a.cfg.Service)
		if !down && ctx.Err() == nil {
			a.log.Warn().Err(err).Msg("consul " + what + " failed; retrying (the command keeps running)")
		}
		down = true
		wait = retry.Next()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-c.wake:
		}
		reg := a.consulRegistration()
		justRegistered := false
		if fp := fingerprint(reg); fp != c.registered {
			c.attempted = true
			// Not cancelled when ctx ends: Consul goes on with a request
			// its caller gave up on, so a registration cut short at
			// shutdown (the draining one, sent as the stop begins) could
			// land after deregisterConsul and bring the instance back,
			// critical, until Consul's deregister-after. Waiting for the
			// answer (bounded) keeps the deregistration last.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), homeCallTimeout)
			err := c.client.Agent().ServiceRegisterOpts(reg, consul.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(cctx))
			cancel()
			if err != nil {
				fail("register", err)
				continue
			}
			if down {
				a.log.Info().Msg("consul reachable again")
			}
			down = false
			if c.registered == "" {
				a.log.Info().Str("id", a.incarnation).Str("service", reg.Name).Strs("tags", reg.Tags).Msg("registered with consul")
			}
			c.registered = fp
			justRegistered = true
		}
		// A registration replaces the service's checks, maintenance's too:
		// a draining one is put back in maintenance after each.
		if a.st.isDraining() && (justRegistered || !c.maintenance) {
			cctx, cancel := context.WithTimeout(ctx, homeCallTimeout)
			err := c.client.Agent().EnableServiceMaintenanceOpts(a.incarnation, consulDrainReason, (&consul.QueryOptions{}).WithContext(cctx))
			cancel()
			c.maintenance = err == nil
			if err != nil && ctx.Err() == nil && !justRegistered &&
				(errUnknownCheck(err) || strings.Contains(err.Error(), "Unknown service")) {
				// Consul forgot the service (restarted) after a
				// maintenance call that failed: the TTL update, which
				// would notice, is not reached, so notice here.
				a.log.Info().Err(err).Msg("consul does not know this instance (restarted?); registering again")
				c.registered = ""
				wait = 0
				continue
			}
			if err != nil {
				fail("maintenance mode", err)
				continue
			}
		}
		hb := a.st.heartbeat()
		status, output := consulCheck(hb.Status, hb.Output, a.st.isDraining())
		cctx, cancel := context.WithTimeout(ctx, homeCallTimeout)
		err := c.client.Agent().UpdateTTLOpts(c.checkID, output, status, (&consul.QueryOptions{}).WithContext(cctx))
		cancel()
		switch {
		case err == nil:
			if down {
				a.log.Info().Msg("consul reachable again")
			}
			down = false
			retry.Reset()
			wait = interval
		case ctx.Err() != nil:
			return
		case errUnknownCheck(err) && !justRegistered:
			a.log.Info().Err(err).Msg("consul does not know this instance (restarted?); registering again")
			c.registered = ""
			wait = 0
		default:
			fail("TTL update", err)
		}
	}
}

// deregisterConsul removes the service (and its check) from Consul, once
// runConsul has returned (ctx ended). It does so whenever a registration
// was sent: one cancelled at shutdown may still have reached Consul, and
// would stay there, critical, until Consul's deregister-after.
func (a *Agent) deregisterConsul() {
	<-a.consul.done
	if !a.consul.attempted {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), homeCallTimeout)
	defer cancel()
	if err := a.consul.client.Agent().ServiceDeregisterOpts(a.incarnation, (&consul.QueryOptions{}).WithContext(ctx)); err != nil {
		var se consul.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			a.log.Debug().Msg("consul never took the registration: nothing to deregister")
			return
		}
		a.log.Warn().Err(consulRefused(err, a.cfg.Service)).Msg("consul deregister")
		return
	}
	a.log.Info().Str("id", a.incarnation).Msg("deregistered from consul")
}
