// Package consulcatalog reads Portolan instances from a Consul catalog: every
// service registered with the tag "portolan" (as `portolan agent --consul`
// registers them), with its health, in one datacenter or across WAN-joined
// ones. The coordinator follows it with blocking queries to put those
// instances on its map; `portolan map --consul` draws a map from it alone.
package consulcatalog

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/internal/consulacl"
	"github.com/portolan/portolan/registry"
)

// Tag marks the services Portolan agents register.
const Tag = "portolan"

// planTag prefixes the tags naming the plans an instance serves.
const planTag = "plan:"

// MetaDraining is the Meta key an agent sets, to MetaTrue, on its
// registration while its instance drains (it is stopping). The service has
// a critical check meanwhile (Consul's maintenance mode, or an older
// agent's TTL check fed critical), so Consul's DNS and health queries stop
// routing to it; the key tells a map reader the instance is draining, not
// failing.
const MetaDraining = "draining"

// MetaTrue is the value of a Meta flag that is set.
const MetaTrue = "true"

// ttlExpired begins the output Consul gives a TTL check nobody fed in time
// (agent/checks CheckTTL): the agent that fed it is gone.
const ttlExpired = "TTL expired"

// Reader reads Portolan instances from Consul.
type Reader struct {
	client *consul.Client
}

// New returns a reader on client.
func New(client *consul.Client) *Reader { return &Reader{client: client} }

// Datacenters lists the datacenters the Consul agent knows (its own and those
// joined over WAN), sorted.
func (r *Reader) Datacenters(ctx context.Context) ([]string, error) {
	var dcs []string
	// Catalog().Datacenters takes no context; Raw does.
	if _, err := r.client.Raw().Query("/v1/catalog/datacenters", &dcs, (&consul.QueryOptions{}).WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("list Consul datacenters: %w", err)
	}
	slices.Sort(dcs)
	return dcs, nil
}

// Instances reads every instance tagged "portolan" in dc ("" is the Consul
// agent's own datacenter) with its aggregated health, sorted by id.
func (r *Reader) Instances(ctx context.Context, dc string) ([]registry.MapInstance, error) {
	q := (&consul.QueryOptions{Datacenter: dc}).WithContext(ctx)
	services, sm, err := r.client.Catalog().Services(q)
	if err != nil {
		return nil, fmt.Errorf("list Consul services%s: %w", inDC(dc), refused(err))
	}
	if len(services) == 0 && sm.ResultsFilteredByACLs {
		return nil, hidden("services"+inDC(dc), `service_prefix "" { policy = "read" }`)
	}
	var out []registry.MapInstance
	for _, name := range slices.Sorted(maps.Keys(services)) {
		if !slices.Contains(services[name], Tag) {
			continue
		}
		entries, hm, err := r.client.Health().Service(name, Tag, false, q)
		if err != nil {
			return nil, fmt.Errorf("read Consul health of %s%s: %w", name, inDC(dc), refused(err))
		}
		if hm.ResultsFilteredByACLs {
			// Every instance lives on a node: one the token may not read
			// drops the instance from the answer, and the map would lack it.
			return nil, hidden("instances of "+name+inDC(dc), `node_prefix "" { policy = "read" }`)
		}
		for _, e := range entries {
			out = append(out, instance(e, dc))
		}
	}
	slices.SortFunc(out, func(a, b registry.MapInstance) int {
		return cmp.Or(cmp.Compare(a.Datacenter, b.Datacenter), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// hidden is why Instances fails when Consul's ACLs left what it asked for
// out of the answer: the map would be missing instances. (Consul says so
// only to a token that is not the anonymous one: without a token the
// answer just looks empty.) A token that may read only some services sees
// those alone, by design; one that may read none is told.
func hidden(what, rule string) error {
	return fmt.Errorf("the token may not see %s (Consul's ACLs hid them): it needs a policy with %s "+
		`(a map reader needs service_prefix "" and node_prefix "" { policy = "read" }: README, Consul ACLs); check --consul-token`, what, rule)
}

// refused adds what to do to Consul refusing the token (403): a map
// reader's policy, or a token Consul knows.
func refused(err error) error {
	return consulacl.Hint(err, "the map reader's", `service_prefix "" and node_prefix "" { policy = "read" }`)
}

func inDC(dc string) string {
	if dc == "" {
		return ""
	}
	return " in datacenter " + dc
}

// instance turns a Consul health entry into a map instance: its id, labels
// and the agent version come from the Meta the agent registered, plans from
// the plan:<system_name> tags, the status from all the service's checks and
// the draining flag in Meta (instanceStatus).
func instance(e *consul.ServiceEntry, dc string) registry.MapInstance {
	s := e.Service
	addr := s.Address
	if addr == "" {
		addr = e.Node.Address
	}
	in := registry.MapInstance{
		ID: instanceID(s), Service: s.Service, Address: addr, Port: s.Port, Datacenter: dc,
		Status: instanceStatus(e), Plans: []registry.PlanRef{},
		AgentVersion: s.Meta["agent_version"],
	}
	for k, v := range s.Meta {
		if name, ok := strings.CutPrefix(k, "label_"); ok {
			if in.Labels == nil {
				in.Labels = map[string]string{}
			}
			in.Labels[name] = v
		}
	}
	for _, t := range s.Tags {
		if name, ok := strings.CutPrefix(t, planTag); ok && name != "" {
			in.Plans = append(in.Plans, registry.PlanRef{SystemName: name})
		}
	}
	for _, c := range e.Checks {
		if c.ServiceID == s.ID && c.Output != "" {
			in.Output = c.Output
			break
		}
	}
	return in
}

// instanceID is the id the map shows for a Consul service: home's id, which
// the agent registers as Meta instance_id. The service's own id is the
// container incarnation's, which the agent keeps in Consul when home made it
// draw a new one (its id was taken): the map, home's heartbeats and gossip
// name the instance by the new id, and an instance that both phones home
// and registers in Consul is drawn once only under the same id. A service
// without a valid instance_id (not a Portolan agent's) keeps its own id.
func instanceID(s *consul.AgentService) string {
	id := s.Meta["instance_id"]
	if id == "" || len(id) > registry.MaxIDLen || id == "." || id == ".." {
		return s.ID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return s.ID
		}
	}
	return id
}

// instanceStatus is the map's status of a health entry: Consul's aggregate
// of its checks, or draining while its agent says so (Meta draining) and
// still feeds its check. As home's registry keeps a draining instance
// draining until its TTL runs out, the entry is critical again once its node
// fails (a node check critical) or its TTL check expired. The catalog has
// no time of a check's last feed, only what the node's Consul agent sends
// it: a change of status at once, output and all, but the output of a check
// whose status did not change only every check_update_interval (5m by
// default). So the expiry shows at once only when the agent feeds its check
// passing while it drains (it does, out of Consul's passing set by
// maintenance mode instead); an older agent's check, fed critical, shows
// its expiry late, if at all before Consul's deregister-after removes it.
func instanceStatus(e *consul.ServiceEntry) string {
	if e.Service.Meta[MetaDraining] != MetaTrue {
		return status(e.Checks.AggregatedStatus())
	}
	for _, c := range e.Checks {
		if c.Status == consul.HealthCritical && (c.ServiceID == "" || strings.HasPrefix(c.Output, ttlExpired)) {
			return registry.StatusCritical
		}
	}
	return registry.StatusDraining
}

// status maps Consul's health to the map's status words (the same words).
func status(s string) string {
	switch s {
	case consul.HealthPassing:
		return registry.StatusPassing
	case consul.HealthWarning:
		return registry.StatusWarning
	default:
		return registry.StatusCritical
	}
}

// Map draws a map from catalog instances alone, with no composition: one
// service per name, its plans those its instances' tags name.
func Map(instances []registry.MapInstance) registry.Map {
	byName := map[string]*registry.MapService{}
	for _, in := range instances {
		s, ok := byName[in.Service]
		if !ok {
			s = &registry.MapService{Name: in.Service, Plans: []registry.PlanRef{},
				Placements: []registry.MapPlacement{}, Instances: []registry.MapInstance{}}
			byName[in.Service] = s
		}
		for _, p := range in.Plans {
			if !slices.Contains(s.Plans, p) {
				s.Plans = append(s.Plans, p)
			}
		}
		s.Instances = append(s.Instances, in)
	}
	m := registry.Map{View: "consul", Services: []registry.MapService{}}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		s := byName[name]
		slices.SortFunc(s.Plans, func(a, b registry.PlanRef) int { return cmp.Compare(a.SystemName, b.SystemName) })
		m.Services = append(m.Services, *s)
	}
	return m
}

// Watch calls fn with the datacenter's instances now and after every change
// of Consul's health state, until ctx ends. It follows Consul's rules for
// blocking queries: an index that goes backwards (a restarted agent) starts
// over from 0, the loop waits at least MinInterval between queries, and
// errors back off (RetryMin doubling up to RetryMax, jittered). A failed
// read leaves the last good list in place and is told to onError.
func (r *Reader) Watch(ctx context.Context, dc string, fn func([]registry.MapInstance), onError func(error)) {
	var index uint64
	retry := backoff.Backoff{Min: RetryMin, Max: RetryMax}
	for ctx.Err() == nil {
		start := time.Now()
		q := (&consul.QueryOptions{Datacenter: dc, WaitIndex: index, WaitTime: WaitTime}).WithContext(ctx)
		_, meta, err := r.client.Health().State(consul.HealthAny, q)
		if err == nil {
			var list []registry.MapInstance
			if list, err = r.Instances(ctx, dc); err == nil {
				fn(list)
				index = NextIndex(index, meta.LastIndex)
				retry.Reset()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			index = 0
			onError(err)
			retry.Wait(ctx)
			continue
		}
		backoff.Sleep(ctx, MinInterval-time.Since(start))
	}
}

// Blocking-query pacing, shared by every follower of Consul (the catalog
// here, usage sharing in the coordinator).
const (
	WaitTime    = 30 * time.Second       // how long one blocking query may wait
	MinInterval = 50 * time.Millisecond  // at least this long between two queries
	RetryMin    = 100 * time.Millisecond // about the first wait after a failure
	RetryMax    = 5 * time.Second        // the cap of the wait after failures
)

// NextIndex applies Consul's rules to the index a blocking query returned:
// one that went backwards resets to 0, and 0 is never waited on (it would
// not block). Other followers of Consul (usage sharing) pace themselves by
// the same rules.
func NextIndex(prev, got uint64) uint64 {
	switch {
	case got < prev:
		return 0
	case got == 0:
		return 1
	}
	return got
}
