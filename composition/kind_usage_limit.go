package composition

import "strconv"

// A usage limit caps, per period, a metric the plan's service can count (its
// own or a used backend's): one limit per metric and period.
var usageLimitDef = &kindDef[UsageLimit, *UsageLimit]{
	Kind:     KindUsageLimit,
	Table:    func(c *Composition) *Table[*UsageLimit] { return &c.UsageLimits },
	Document: func(d *Document) *[]*UsageLimit { return &d.UsageLimits },
	Parent:   func(l *UsageLimit) int64 { return l.PlanID },
	Unique:   func(l *UsageLimit) []string { return []string{limitName(l)} },
	Keep:     func(l, old *UsageLimit) { l.PlanID, l.MetricID = old.PlanID, old.MetricID },
	Validate: func(c *Composition, l *UsageLimit, v *ValidationError) error {
		if err := c.planMetricExists(l.PlanID, l.MetricID); err != nil {
			return err
		}
		oneOf(v, "period", l.Period, Periods...)
		nonNegative(v, "value", float64(l.Value))
		if c.UsageLimits.takenUnder(l, limitName(l)) {
			v.Add("period", taken)
		}
		return nil
	},
	Import: func(l *UsageLimit, ref refFunc) {
		l.PlanID, l.MetricID = ref("plan_id", l.PlanID), ref("metric_id", l.MetricID)
	},
	NaturalKey: func(x *keyIndex, l *UsageLimit) (string, string, error) {
		metric, err := x.ref("metric_id", l.MetricID)
		if err != nil {
			return "", "", err
		}
		return x.ownedKey("plan_id", l.PlanID, "limit", metric+"@"+l.Period)
	},
}

// limitName is what is unique among a plan's limits: a metric and period.
func limitName(l *UsageLimit) string { return strconv.FormatInt(l.MetricID, 10) + "@" + l.Period }

// planMetricExists checks that a plan exists and that its service can count
// the metric, for a usage limit or pricing rule that ties them.
func (c *Composition) planMetricExists(planID, metricID int64) error {
	plan, ok := c.ApplicationPlans.Get(planID)
	if !ok {
		return NotFound(KindApplicationPlan, planID)
	}
	if !c.serviceCounts(plan.ServiceID, metricID) {
		return NotFound(KindMetric, metricID)
	}
	return nil
}

// serviceCounts reports whether metricID is among ServiceMetricIDs(serviceID)
// without listing them: a limit or pricing rule is checked in constant time
// however many metrics the service has.
func (c *Composition) serviceCounts(serviceID, metricID int64) bool {
	m, ok := c.Metrics.Get(metricID)
	switch {
	case !ok:
		return false
	case m.OwnerType == OwnerService:
		return m.OwnerID == serviceID
	case m.OwnerType == OwnerBackendAPI:
		_, used := c.BackendUsages.FindUnder(serviceID, func(u *BackendUsage) bool { return u.BackendAPIID == m.OwnerID })
		return used
	}
	return false
}
