package composition

import (
	"errors"
	"strconv"
)

// A pricing rule prices a range of the usage of a metric the plan's service
// can count; its cost per unit is a decimal string, porta's decimal(20,4)
// (Decimal), which porta's JSON answers as a string.
var pricingRuleDef = &kindDef[PricingRule, *PricingRule]{
	Kind:     KindPricingRule,
	Table:    func(c *Composition) *Table[*PricingRule] { return &c.PricingRules },
	Document: func(d *Document) *[]*PricingRule { return &d.PricingRules },
	Parent:   func(r *PricingRule) int64 { return r.PlanID },
	Keep:     func(r, old *PricingRule) { r.PlanID, r.MetricID = old.PlanID, old.MetricID },
	Prepare: func(_ *Composition, r, _ *PricingRule) error {
		r.CostPerUnit = string(Decimal(r.CostPerUnit).Canonical())
		return nil
	},
	Validate: func(c *Composition, r *PricingRule, v *ValidationError) error {
		if err := c.planMetricExists(r.PlanID, r.MetricID); err != nil {
			return err
		}
		if _, err := ParseDecimal(r.CostPerUnit); errors.Is(err, ErrDecimalNegative) {
			// porta's numericality has no bound here: its format check
			// (\A\d+\.?\d{0,4}\z) refuses the minus sign
			v.Add("cost_per_unit", "maximum decimals is 4.")
		} else {
			validDecimal(v, "cost_per_unit", Decimal(r.CostPerUnit))
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
