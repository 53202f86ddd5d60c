package threescale

import (
	"sort"
	"time"

	"github.com/portolan/portolan/composition"
)

func (a *API) mappingRuleRoutes() []Route {
	product := mappingRuleCollection(composition.OwnerService, "service_id")
	// Proxy#proxy_rules is ordered by position and not paged.
	product.order = func(rs []*composition.MappingRule) {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Position < rs[j].Position })
	}
	product.unpaged = true
	backend := mappingRuleCollection(composition.OwnerBackendAPI, "backend_api_id")
	rs := product.routes("Mapping Rule", "Proxy Mapping Rule", "/admin/api/services/{service_id}/proxy/mapping_rules", "id", JSON, XML)
	return append(rs, backend.routes("Backend Mapping Rule", "Backend Mapping Rule", "/admin/api/backend_apis/{backend_api_id}/mapping_rules", "id")...)
}

func mappingRuleCollection(ownerType, param string) *collection[composition.MappingRule, *composition.MappingRule] {
	return &collection[composition.MappingRule, *composition.MappingRule]{
		kind:  composition.KindMappingRule,
		names: fixedNames("mapping_rule", "mapping_rules"),
		table: func(c *composition.Composition) *composition.Table[*composition.MappingRule] { return &c.MappingRules },
		scope: func(c *call, s *composition.Composition) (func(*composition.MappingRule) bool, func(*composition.MappingRule), error) {
			id, err := ownerOf(c, s, ownerType, param)
			if err != nil {
				return nil, nil, err
			}
			belongs := func(r *composition.MappingRule) bool { return r.OwnerType == ownerType && r.OwnerID == id }
			attach := func(r *composition.MappingRule) { r.OwnerType, r.OwnerID = ownerType, id }
			return belongs, attach, nil
		},
		// 3scale counts one hit per match unless told otherwise.
		defaults: func(r *composition.MappingRule) { r.Delta = 1 },
		prepare: func(c *call, tx *composition.Tx, n, old *composition.MappingRule) error {
			if n.MetricID == 0 {
				return composition.Invalid("metric_id", "can't be blank")
			}
			// 3scale finds the metric among the owner's: another one is 404.
			if old == nil || n.MetricID != old.MetricID {
				m, ok := tx.View().Metrics.Get(n.MetricID)
				if !ok || m.OwnerType != n.OwnerType || m.OwnerID != n.OwnerID {
					return ErrNotFound
				}
			}
			return nil
		},
		view: mappingRuleView,
	}
}

// mappingRuleWire is ProxyRuleRepresenter's shape, the same in JSON and XML;
// the owner is not on 3scale's wire.
type mappingRuleWire struct {
	ID         int64     `json:"id"`
	MetricID   int64     `json:"metric_id"`
	Pattern    string    `json:"pattern"`
	HTTPMethod string    `json:"http_method"`
	Delta      int64     `json:"delta"`
	Position   int64     `json:"position"`
	Last       bool      `json:"last"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func mappingRuleView(_ *call, r *composition.MappingRule) (string, any) {
	return "mapping_rule", mappingRuleWire{
		ID: r.ID, MetricID: r.MetricID, Pattern: r.Pattern, HTTPMethod: r.HTTPMethod,
		Delta: r.Delta, Position: r.Position, Last: r.Last, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
