package composition

import "slices"

// An application plan belongs to a service, which has one default plan at
// most; a plan with applications, or whose customizations have them, cannot
// be deleted. A custom plan is a copy of a stock plan of its service.
var applicationPlanDef = &kindDef[ApplicationPlan, *ApplicationPlan]{
	Kind:     KindApplicationPlan,
	Table:    func(c *Composition) *Table[*ApplicationPlan] { return &c.ApplicationPlans },
	Document: func(d *Document) *[]*ApplicationPlan { return &d.ApplicationPlans },
	Parent:   func(p *ApplicationPlan) int64 { return p.ServiceID },
	Unique:   func(p *ApplicationPlan) []string { return []string{p.SystemName} },
	Keep: func(p, old *ApplicationPlan) {
		p.SystemName, p.ServiceID, p.OriginalID = old.SystemName, old.ServiceID, old.OriginalID
	},
	Prepare: func(_ *Composition, p, old *ApplicationPlan) error {
		p.Custom = p.OriginalID != 0
		p.SetupFee, p.CostPerMonth = p.SetupFee.Canonical(), p.CostPerMonth.Canonical()
		if old == nil {
			p.State = defaultStr(p.State, PlanHidden)
			p.SystemName = defaultStr(p.SystemName, SystemName(p.Name))
		}
		return nil
	},
	Validate:    validateApplicationPlan,
	AfterCreate: unsetOtherDefaults,
	AfterUpdate: unsetOtherDefaults,
	CheckDelete: func(c *Composition, p *ApplicationPlan) error {
		if _, used := c.Applications.Find(func(a *Application) bool { return a.PlanID == p.ID }); used {
			return Invalid("base", "cannot be deleted because it has applications")
		}
		for _, custom := range c.Customizations(p.ID) {
			if _, used := c.Applications.Find(func(a *Application) bool { return a.PlanID == custom.ID }); used {
				return Invalid("base", "cannot be deleted because its customizations have applications")
			}
		}
		return nil
	},
	Cascade: cascadeApplicationPlan,
	Import: func(p *ApplicationPlan, ref refFunc) {
		p.ServiceID, p.OriginalID = ref("service_id", p.ServiceID), ref("original_id", p.OriginalID)
	},
	// A custom plan is one application's, made through the API: not a
	// document's.
	NaturalKey: func(x *keyIndex, p *ApplicationPlan) (string, string, error) {
		if p.OriginalID != 0 {
			return "", "", errUnmanaged
		}
		return x.ownedKey("service_id", p.ServiceID, "plan", p.SystemName)
	},
	Derived: []string{"custom"},
}

func validateApplicationPlan(c *Composition, p *ApplicationPlan, v *ValidationError) error {
	if _, ok := c.Services.Get(p.ServiceID); !ok {
		return NotFound(KindService, p.ServiceID)
	}
	name(v, "name", p.Name)
	systemName(v, p.SystemName)
	if c.ApplicationPlans.takenUnder(p, p.SystemName) {
		v.Add("system_name", taken)
	}
	oneOf(v, "state", p.State, PlanHidden, PlanPublished)
	validDecimal(v, "setup_fee", p.SetupFee)
	validDecimal(v, "cost_per_month", p.CostPerMonth)
	nonNegative(v, "trial_period_days", float64(p.TrialPeriodDays))
	nonNegative(v, "cancellation_period", float64(p.CancellationPeriod))
	if p.OriginalID != 0 {
		if o, ok := c.ApplicationPlans.Get(p.OriginalID); !ok || o.ServiceID != p.ServiceID || o.OriginalID != 0 {
			v.Add("original_id", "must be a stock plan of the service")
		}
	}
	return nil
}

// dropUnusedCustomPlans removes the custom plans of a service that no
// application but leaving uses: a custom plan is one application's.
func (tx *Tx) dropUnusedCustomPlans(serviceID, leaving int64) {
	for _, p := range tx.c.ApplicationPlans.Filter(func(p *ApplicationPlan) bool { return p.Custom && p.ServiceID == serviceID }) {
		if _, used := tx.c.Applications.Find(func(a *Application) bool { return a.PlanID == p.ID && a.ID != leaving }); !used {
			tx.purge(p)
		}
	}
}

// Customizations returns the custom plans made from plan planID.
func (c *Composition) Customizations(planID int64) []*ApplicationPlan {
	return c.ApplicationPlans.Filter(func(p *ApplicationPlan) bool { return p.OriginalID == planID })
}

// unsetOtherDefaults keeps a service at one default plan at most: a plan
// written as the default makes the others plain.
func unsetOtherDefaults(tx *Tx, p *ApplicationPlan) error {
	if p.Default {
		keepOneDefault(tx, p, tx.c.PlansOf(p.ServiceID), func(o *ApplicationPlan) *bool { return &o.Default },
			func(o *ApplicationPlan) { o.UpdatedAt = tx.now })
	}
	return nil
}

// keepOneDefault makes plain (its flag false, touched) every plan among
// siblings but p that is a default: whatever the kind of plan, 3scale keeps
// one default among a parent's plans.
func keepOneDefault[T any, E interface {
	*T
	Entity
}](tx *Tx, p E, siblings []E, flag func(E) *bool, touch func(E)) {
	for _, o := range siblings {
		if o.Key() != p.Key() && *flag(o) {
			n := E(new(T))
			*n = *o
			*flag(n) = false
			touch(n)
			tx.put(n)
		}
	}
}

// cascadeApplicationPlan removes a plan's customizations, limits and pricing
// rules, disables its features and takes it out of placements.
func cascadeApplicationPlan(tx *Tx, p *ApplicationPlan) {
	c := tx.c
	for _, custom := range c.Customizations(p.ID) {
		tx.purge(custom)
	}
	tx.disableFeaturesOn(p.ID)
	for _, l := range c.UsageLimits.Filter(func(l *UsageLimit) bool { return l.PlanID == p.ID }) {
		tx.drop(l)
	}
	for _, r := range c.PricingRules.Filter(func(r *PricingRule) bool { return r.PlanID == p.ID }) {
		tx.drop(r)
	}
	// A placement left with no plans would serve them all: it goes too.
	for _, pl := range c.Placements.Filter(func(pl *Placement) bool { return slices.Contains(pl.PlanIDs, p.ID) }) {
		n := *pl
		n.PlanIDs = slices.DeleteFunc(slices.Clone(pl.PlanIDs), func(id int64) bool { return id == p.ID })
		if len(n.PlanIDs) == 0 {
			tx.drop(pl)
			continue
		}
		n.UpdatedAt = tx.now
		tx.put(&n)
	}
}
