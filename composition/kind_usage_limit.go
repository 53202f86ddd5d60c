package composition

import "time"

// KindUsageLimit is the kind of usage limits.
const KindUsageLimit Kind = "usage_limits"

// Periods of usage limits, as 3scale names them.
var Periods = []string{"minute", "hour", "day", "week", "month", "year", "eternity"}

// UsageLimit caps a metric's usage over a period for the applications of a plan.
type UsageLimit struct {
	ID        int64     `json:"id" wire:"ro"`
	PlanID    int64     `json:"plan_id" wire:"ro"`
	MetricID  int64     `json:"metric_id" wire:"ro"`
	Period    string    `json:"period"`
	Value     int64     `json:"value"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

func (e *UsageLimit) Key() int64                     { return e.ID }
func (e *UsageLimit) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *UsageLimit) created() time.Time             { return e.CreatedAt }
func (*UsageLimit) info() kindInfo                   { return usageLimitDef }

var usageLimitDef = &kindDef[UsageLimit, *UsageLimit]{
	Kind:     KindUsageLimit,
	Table:    func(c *Composition) *Table[*UsageLimit] { return &c.UsageLimits },
	Document: func(d *Document) *[]*UsageLimit { return &d.UsageLimits },
	Prepare: func(_ *Composition, l, old *UsageLimit) error {
		if old != nil {
			l.PlanID, l.MetricID = old.PlanID, old.MetricID
		}
		return nil
	},
	Validate: validateUsageLimit,
	Import: func(l *UsageLimit, ref func(string, int64) int64) {
		l.PlanID, l.MetricID = ref("plan_id", l.PlanID), ref("metric_id", l.MetricID)
	},
}

func validateUsageLimit(c *Composition, l *UsageLimit) error {
	if err := c.planMetricExists(l.PlanID, l.MetricID); err != nil {
		return err
	}
	v := &ValidationError{}
	oneOf(v, "period", l.Period, Periods...)
	nonNegative(v, "value", float64(l.Value))
	if _, dup := c.UsageLimits.Find(func(o *UsageLimit) bool {
		return o.PlanID == l.PlanID && o.MetricID == l.MetricID && o.Period == l.Period && o.ID != l.ID
	}); dup {
		v.Add("period", taken)
	}
	return v.Err()
}

// planMetricExists checks that a plan exists and that its service's usage can
// name the metric, for a limit or pricing rule that ties them.
func (c *Composition) planMetricExists(planID, metricID int64) error {
	plan, ok := c.ApplicationPlans.Get(planID)
	if !ok {
		return NotFound(KindApplicationPlan, planID)
	}
	if _, ok := c.ServiceMetricIDs(plan.ServiceID)[metricID]; !ok {
		return NotFound(KindMetric, metricID)
	}
	return nil
}
