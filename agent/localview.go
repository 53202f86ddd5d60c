package agent

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/portolan/portolan/composition"
)

// ViewFormat identifies what GET /v1/agent/composition serves: not a
// composition document (it cannot be imported) but the operator's view of
// one.
const ViewFormat = "portolan.agent.composition-view/v1"

// CompositionView is what the local API serves of the agent's composition:
// what a local operator needs to see why a request was routed, limited or
// refused (services, plans, metrics, mapping rules, limits, placements) and
// how many entities of each kind the agent holds. It is built field by field
// from an allow list, never by redacting a copy, so that a secret a later
// version adds to the document (a key, a token, a proxy config's content,
// credentials in an OIDC issuer URL) cannot reach it unnoticed.
type CompositionView struct {
	Format           string                   `json:"format"`
	Revision         uint64                   `json:"revision"`
	Services         []ServiceView            `json:"services"`
	ApplicationPlans []PlanView               `json:"application_plans"`
	Metrics          []MetricView             `json:"metrics"`
	MappingRules     []MappingRuleView        `json:"mapping_rules"`
	UsageLimits      []UsageLimitView         `json:"usage_limits"`
	Placements       []*composition.Placement `json:"placements"` // names, selectors and ids: nothing secret
	Counts           map[composition.Kind]int `json:"counts"`
}

// ServiceView is a service without its settings.
type ServiceView struct {
	ID             int64  `json:"id"`
	SystemName     string `json:"system_name"`
	Name           string `json:"name"`
	State          string `json:"state"`
	BackendVersion string `json:"backend_version"` // the authentication mode
}

// PlanView is an application plan without its prices.
type PlanView struct {
	ID         int64  `json:"id"`
	ServiceID  int64  `json:"service_id"`
	SystemName string `json:"system_name"`
	Name       string `json:"name"`
	State      string `json:"state"`
}

// MetricView names a metric or method.
type MetricView struct {
	ID         int64  `json:"id"`
	OwnerType  string `json:"owner_type"`
	OwnerID    int64  `json:"owner_id"`
	ParentID   int64  `json:"parent_id,omitempty"`
	SystemName string `json:"system_name"`
}

// MappingRuleView is a mapping rule as the gateway matches it.
type MappingRuleView struct {
	ID         int64  `json:"id"`
	OwnerType  string `json:"owner_type"`
	OwnerID    int64  `json:"owner_id"`
	MetricID   int64  `json:"metric_id"`
	HTTPMethod string `json:"http_method"`
	Pattern    string `json:"pattern"`
	Delta      int64  `json:"delta"`
	Position   int64  `json:"position"`
	Last       bool   `json:"last"`
}

// UsageLimitView is a plan's limit on a metric.
type UsageLimitView struct {
	ID       int64  `json:"id"`
	PlanID   int64  `json:"plan_id"`
	MetricID int64  `json:"metric_id"`
	Period   string `json:"period"`
	Value    int64  `json:"value"`
}

// newCompositionView builds the view of a composition document.
func newCompositionView(doc []byte) (*CompositionView, error) {
	var d composition.Document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("composition view: %w", err)
	}
	v := &CompositionView{Format: ViewFormat, Revision: d.Revision, Placements: d.Placements,
		Services: []ServiceView{}, ApplicationPlans: []PlanView{}, Metrics: []MetricView{},
		MappingRules: []MappingRuleView{}, UsageLimits: []UsageLimitView{},
		Counts: map[composition.Kind]int{
			composition.KindService: len(d.Services), composition.KindBackendAPI: len(d.BackendAPIs),
			composition.KindMetric: len(d.Metrics), composition.KindMappingRule: len(d.MappingRules),
			composition.KindApplicationPlan: len(d.ApplicationPlans), composition.KindUsageLimit: len(d.UsageLimits),
			composition.KindProxy: len(d.Proxies), composition.KindAccount: len(d.Accounts),
			composition.KindUser: len(d.Users), composition.KindApplication: len(d.Applications),
			composition.KindPlacement: len(d.Placements),
		}}
	if v.Placements == nil {
		v.Placements = []*composition.Placement{}
	}
	for _, s := range d.Services {
		if s != nil {
			v.Services = append(v.Services, ServiceView{ID: s.ID, SystemName: s.SystemName, Name: s.Name, State: s.State, BackendVersion: s.BackendVersion})
		}
	}
	for _, p := range d.ApplicationPlans {
		if p != nil {
			v.ApplicationPlans = append(v.ApplicationPlans, PlanView{ID: p.ID, ServiceID: p.ServiceID, SystemName: p.SystemName, Name: p.Name, State: p.State})
		}
	}
	for _, m := range d.Metrics {
		if m != nil {
			v.Metrics = append(v.Metrics, MetricView{ID: m.ID, OwnerType: m.OwnerType, OwnerID: m.OwnerID, ParentID: m.ParentID, SystemName: m.SystemName})
		}
	}
	for _, r := range d.MappingRules {
		if r != nil {
			v.MappingRules = append(v.MappingRules, MappingRuleView{ID: r.ID, OwnerType: r.OwnerType, OwnerID: r.OwnerID, MetricID: r.MetricID,
				HTTPMethod: r.HTTPMethod, Pattern: r.Pattern, Delta: r.Delta, Position: r.Position, Last: r.Last})
		}
	}
	for _, l := range d.UsageLimits {
		if l != nil {
			v.UsageLimits = append(v.UsageLimits, UsageLimitView{ID: l.ID, PlanID: l.PlanID, MetricID: l.MetricID, Period: l.Period, Value: l.Value})
		}
	}
	return v, nil
}

// viewCache keeps the encoded view of the newest revision, so that polling
// the local API does not decode the whole document each time.
type viewCache struct {
	mu       sync.Mutex
	revision uint64
	body     []byte
}

// get returns the encoded view of doc at revision rev.
func (c *viewCache) get(rev uint64, doc []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body != nil && c.revision == rev {
		return c.body, nil
	}
	v, err := newCompositionView(doc)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("composition view: %w", err)
	}
	c.revision, c.body = rev, body
	return body, nil
}
