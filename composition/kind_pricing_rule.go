package composition

import (
	"strconv"
	"time"
)

// KindPricingRule is the kind of pricing rules.
const KindPricingRule Kind = "pricing_rules"

// PricingRule prices a metric's usage between Min and Max (0 = no upper bound).
type PricingRule struct {
	ID          int64     `json:"id" wire:"ro"`
	PlanID      int64     `json:"plan_id" wire:"ro"`
	MetricID    int64     `json:"metric_id" wire:"ro"`
	CostPerUnit string    `json:"cost_per_unit"`
	Min         int64     `json:"min"`
	Max         int64     `json:"max"`
	CreatedAt   time.Time `json:"created_at" wire:"ro"`
	UpdatedAt   time.Time `json:"updated_at" wire:"ro"`
}

func (e *PricingRule) Key() int64                     { return e.ID }
func (e *PricingRule) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *PricingRule) created() time.Time             { return e.CreatedAt }
func (*PricingRule) info() kindInfo                   { return pricingRuleDef }

var pricingRuleDef = &kindDef[PricingRule, *PricingRule]{
	Kind:     KindPricingRule,
	Table:    func(c *Composition) *Table[*PricingRule] { return &c.PricingRules },
	Document: func(d *Document) *[]*PricingRule { return &d.PricingRules },
	Prepare: func(_ *Composition, r, old *PricingRule) error {
		r.CostPerUnit = defaultStr(r.CostPerUnit, "0.0")
		if old != nil {
			r.PlanID, r.MetricID = old.PlanID, old.MetricID
		}
		return nil
	},
	Validate: validatePricingRule,
	Import: func(r *PricingRule, ref func(string, int64) int64) {
		r.PlanID, r.MetricID = ref("plan_id", r.PlanID), ref("metric_id", r.MetricID)
	},
}

func validatePricingRule(c *Composition, r *PricingRule) error {
	if err := c.planMetricExists(r.PlanID, r.MetricID); err != nil {
		return err
	}
	v := &ValidationError{}
	if f, err := strconv.ParseFloat(r.CostPerUnit, 64); err != nil || f < 0 {
		v.Add("cost_per_unit", "is not a number")
	}
	if r.Min < 1 {
		v.Add("min", "must be greater than 0")
	}
	if r.Max != 0 && r.Max < r.Min {
		v.Add("max", "must be greater than or equal to min")
	}
	return v.Err()
}
