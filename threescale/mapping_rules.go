package threescale

import (
	"fmt"
	"math"
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
			return placeRule(c, tx, n, old)
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

// placeRule keeps an owner's rules a list, as porta's acts_as_list
// (add_new_at: :bottom) keeps proxy rules: a new rule without a position
// goes after the last one; a rule created at a position, or moved to one,
// moves the rules from there on down by one (moved down the list, those it
// passes move up), so the order a client asks for is the order the gateway
// matches in. n is the new rule or the edited copy of old.
func placeRule(c *call, tx *composition.Tx, n, old *composition.MappingRule) error {
	siblings := tx.View().MappingRulesOf(n.OwnerType, n.OwnerID)
	if old == nil && (n.Position == 0 || !c.params.Has("position")) {
		n.Position = 1
		if len(siblings) > 0 {
			n.Position = siblings[len(siblings)-1].Position + 1 // sorted by position
		}
		return nil
	}
	from := int64(math.MaxInt64) // a new rule comes from past the end
	if old != nil {
		from = old.Position
	}
	to := n.Position
	if to <= 0 || to == from {
		return nil // the domain refuses a negative position
	}
	for _, r := range siblings {
		shift := int64(0)
		switch {
		case r.ID == n.ID:
		case to < from && r.Position >= to && r.Position < from:
			shift = 1
		case to > from && r.Position > from && r.Position <= to:
			shift = -1
		}
		if shift == 0 {
			continue
		}
		moved := *r
		moved.Position += shift
		if err := tx.Update(&moved); err != nil {
			return fmt.Errorf("move mapping rule %d to position %d: %w", r.ID, moved.Position, err)
		}
	}
	return nil
}
