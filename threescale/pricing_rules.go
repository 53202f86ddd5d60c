package threescale

import (
	"math"
	"net/http"

	"github.com/portolan/portolan/composition"
)

func (a *API) pricingRuleRoutes() []Route {
	const tag = "Application Plans"
	table := func(c *composition.Composition) *composition.Table[*composition.PricingRule] { return &c.PricingRules }
	perMetric := &collection[composition.PricingRule, *composition.PricingRule]{
		kind:  composition.KindPricingRule,
		names: fixedNames("pricing_rule", "pricing_rules"),
		table: table,
		scope: func(c *call, s *composition.Composition) (func(*composition.PricingRule) bool, func(*composition.PricingRule), error) {
			plan, metric, err := planMetricOf(c, s)
			if err != nil {
				return nil, nil, err
			}
			return func(r *composition.PricingRule) bool { return r.PlanID == plan.ID && r.MetricID == metric },
				func(r *composition.PricingRule) { r.PlanID, r.MetricID = plan.ID, metric }, nil
		},
		defaults: func(r *composition.PricingRule) { r.Min = 1 },
		prepare:  preparePricingRule,
		view:     pricingRuleView,
	}
	perPlan := &collection[composition.PricingRule, *composition.PricingRule]{
		kind:  composition.KindPricingRule,
		names: fixedNames("pricing_rule", "pricing_rules"),
		table: table,
		scope: func(c *call, s *composition.Composition) (func(*composition.PricingRule) bool, func(*composition.PricingRule), error) {
			plan, err := planOf(c, s)
			if err != nil {
				return nil, nil, err
			}
			return func(r *composition.PricingRule) bool { return r.PlanID == plan.ID }, func(*composition.PricingRule) {}, nil
		},
		view: pricingRuleView,
	}
	base := "/admin/api/application_plans/{application_plan_id}"
	rules := base + "/metrics/{metric_id}/pricing_rules"
	formats := []Format{JSON, XML}
	return []Route{
		{Method: http.MethodGet, Path: base + "/pricing_rules", Tag: tag, Summary: "Pricing Rules List per Application Plan", Formats: formats, handle: perPlan.list},
		{Method: http.MethodGet, Path: rules, Tag: tag, Summary: "Pricing Rules List per Metric", Formats: formats, handle: perMetric.list},
		{Method: http.MethodPost, Path: rules, Tag: tag, Summary: "Pricing Rule Create", Formats: formats, Status: http.StatusCreated, handle: perMetric.create},
		{Method: http.MethodGet, Path: rules + "/{id}", Tag: tag, Summary: "Pricing Rule Read", Formats: formats, handle: perMetric.read("id")},
		{Method: http.MethodDelete, Path: rules + "/{id}", Tag: tag, Summary: "Pricing Rule Delete", Formats: formats, handle: perMetric.remove("id")},
	}
}

// preparePricingRule refuses ranges that overlap another rule of the plan's
// metric, since a unit can only have one price. The domain reads and stores
// cost_per_unit as porta's decimal(20,4) (composition.ParseDecimal: "2" is
// "2.0", 0.12345 is 0.1235, 0x1p-2 is not a number).
func preparePricingRule(_ *call, tx *composition.Tx, n, _ *composition.PricingRule) error {
	upper := func(r *composition.PricingRule) int64 {
		if r.Max == 0 {
			return math.MaxInt64
		}
		return r.Max
	}
	if n.Min < 1 || upper(n) < n.Min {
		return nil // the domain reports the bad range
	}
	if _, clash := tx.View().PricingRules.Find(func(o *composition.PricingRule) bool {
		return o.ID != n.ID && o.PlanID == n.PlanID && o.MetricID == n.MetricID && o.Min <= upper(n) && n.Min <= upper(o)
	}); clash {
		return composition.Invalid("min", "overlaps with another pricing rule of the metric")
	}
	return nil
}

// unboundedPricingRule is a pricing rule as 3scale shows it: a rule without a
// maximum (stored as 0) has a null max, as porta's nil. Clients copy rules
// with what they read (the toolbox's plan and product exports), and 3scale
// refuses a max of 0 as less than min.
type unboundedPricingRule struct {
	*composition.PricingRule
	Max   *int64 `json:"max"`
	Links []link `json:"links,omitempty"` // metric_links.go
}

func pricingRuleView(c *call, r *composition.PricingRule) (string, any) {
	v := unboundedPricingRule{PricingRule: r, Links: ratedLinks(c, r.MetricID, r.PlanID, "")}
	if r.Max != 0 {
		v.Max = &r.Max
	}
	return "pricing_rule", v
}
