package composition

import "strconv"

// A pricing rule prices a range of the usage of a metric the plan's service
// can count; its cost per unit is a decimal string.
var pricingRuleDef = &kindDef[PricingRule, *PricingRule]{
	Kind:     KindPricingRule,
	Table:    func(c *Composition) *Table[*PricingRule] { return &c.PricingRules },
	Document: func(d *Document) *[]*PricingRule { return &d.PricingRules },
	Parent:   func(r *PricingRule) int64 { return r.PlanID },
	Keep:     func(r, old *PricingRule) { r.PlanID, r.MetricID = old.PlanID, old.MetricID },
	Prepare: func(_ *Composition, r, _ *PricingRule) error {
		r.CostPerUnit = defaultStr(r.CostPerUnit, "0.0")
		return nil
	},
	Validate: func(c *Composition, r *PricingRule, v *ValidationError) error {
		if err := c.planMetricExists(r.PlanID, r.MetricID); err != nil {
			return err
		}
		if f, err := strconv.ParseFloat(r.CostPerUnit, 64); err != nil || f < 0 {
			v.Add("cost_per_unit", "is not a number")
		}
		if r.Min < 1 {
			v.Add("min", "must be greater than 0")
		}
		if r.Max != 0 && r.Max < r.Min {
			v.Add("max", "must be greater than or equal to min")
		}
		return nil
	},
	Import: func(r *PricingRule, ref refFunc) {
		r.PlanID, r.MetricID = ref("plan_id", r.PlanID), ref("metric_id", r.MetricID)
	},
	NaturalKey: func(x *keyIndex, r *PricingRule) (string, string, error) {
		metric, err := x.ref("metric_id", r.MetricID)
		if err != nil {
			return "", "", err
		}
		return x.ownedKey("plan_id", r.PlanID, "pricing_rule", metric+" from "+strconv.FormatInt(r.Min, 10))
	},
}
