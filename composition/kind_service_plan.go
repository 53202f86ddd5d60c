package composition

import "time"

// KindServicePlan is the kind of service plans: the plans through which an
// account subscribes to a service (3scale's service contracts).
const KindServicePlan Kind = "service_plans"

// ServicePlan is a service's plan for subscriptions, as 3scale keeps it: a
// plan like an application plan, without limits or pricing rules, that
// features of scope ServicePlan can be enabled on. A service has one default
// service plan at most.
type ServicePlan struct {
	ID                 int64     `json:"id" wire:"ro"`
	ServiceID          int64     `json:"service_id" wire:"ro"`
	Name               string    `json:"name"`
	SystemName         string    `json:"system_name"`
	State              string    `json:"state" wire:"ro"`
	Default            bool      `json:"default" wire:"ro,attr"`
	Custom             bool      `json:"custom" wire:"ro,attr"`
	ApprovalRequired   bool      `json:"approval_required"`
	SetupFee           Decimal   `json:"setup_fee" wire:"ro"`
	CostPerMonth       Decimal   `json:"cost_per_month" wire:"ro"`
	TrialPeriodDays    int64     `json:"trial_period_days" wire:"ro"`
	CancellationPeriod int64     `json:"cancellation_period" wire:"ro"`
	CreatedAt          time.Time `json:"created_at" wire:"ro"`
	UpdatedAt          time.Time `json:"updated_at" wire:"ro"`
}

func (e *ServicePlan) Key() int64 { return e.ID }
func (e *ServicePlan) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *ServicePlan) created() time.Time { return e.CreatedAt }
func (*ServicePlan) info() kindInfo       { return servicePlanDef }

// ErrPlanHasSubscriptions is 3scale's refusal to delete a service plan that
// accounts are subscribed through.
const ErrPlanHasSubscriptions = "cannot be deleted because it has subscriptions"

// A service plan belongs to a service; its system_name is unique among the
// service's service plans. Deleting one with subscriptions is refused; one
// without takes its features' links with it.
var servicePlanDef = &kindDef[ServicePlan, *ServicePlan]{
	Kind:     KindServicePlan,
	Table:    func(c *Composition) *Table[*ServicePlan] { return &c.ServicePlans },
	Document: func(d *Document) *[]*ServicePlan { return &d.ServicePlans },
	Keep: func(p, old *ServicePlan) {
		p.SystemName, p.ServiceID = old.SystemName, old.ServiceID
	},
	Prepare: func(_ *Composition, p, old *ServicePlan) error {
		p.SetupFee, p.CostPerMonth = p.SetupFee.Canonical(), p.CostPerMonth.Canonical()
		if old == nil {
			p.State = defaultStr(p.State, PlanHidden)
			p.SystemName = defaultStr(p.SystemName, SystemName(p.Name))
		}
		return nil
	},
	Validate:    validateServicePlan,
	AfterCreate: unsetOtherDefaultServicePlans,
	AfterUpdate: unsetOtherDefaultServicePlans,
	CheckDelete: func(c *Composition, p *ServicePlan) error {
		if _, used := c.ServiceContracts.Find(func(s *ServiceContract) bool { return s.PlanID == p.ID }); used {
			return Invalid("base", ErrPlanHasSubscriptions)
		}
		return nil
	},
	Cascade: func(tx *Tx, p *ServicePlan) { tx.disableFeaturesOn(p.ID) },
	Import:  func(p *ServicePlan, ref refFunc) { p.ServiceID = ref("service_id", p.ServiceID) },
}

func validateServicePlan(c *Composition, p *ServicePlan, v *ValidationError) error {
	if _, ok := c.Services.Get(p.ServiceID); !ok {
		return NotFound(KindService, p.ServiceID)
	}
	name(v, "name", p.Name)
	systemName(v, p.SystemName)
	if _, dup := c.ServicePlans.Find(func(o *ServicePlan) bool {
		return o.ServiceID == p.ServiceID && o.SystemName == p.SystemName && o.ID != p.ID
	}); dup {
		v.Add("system_name", taken)
	}
	oneOf(v, "state", p.State, PlanHidden, PlanPublished)
	validDecimal(v, "setup_fee", p.SetupFee)
	validDecimal(v, "cost_per_month", p.CostPerMonth)
	nonNegative(v, "trial_period_days", float64(p.TrialPeriodDays))
	nonNegative(v, "cancellation_period", float64(p.CancellationPeriod))
	return nil
}

// ServicePlansOf returns a service's service plans in id order.
func (c *Composition) ServicePlansOf(serviceID int64) []*ServicePlan {
	return c.ServicePlans.Filter(func(p *ServicePlan) bool { return p.ServiceID == serviceID })
}

// unsetOtherDefaultServicePlans keeps a service at one default service plan
// at most (3scale's default_service_plan).
func unsetOtherDefaultServicePlans(tx *Tx, p *ServicePlan) error {
	if p.Default {
		keepOneDefault(tx, p, tx.c.ServicePlansOf(p.ServiceID), func(o *ServicePlan) *bool { return &o.Default },
			func(o *ServicePlan) { o.UpdatedAt = tx.now })
	}
	return nil
}

// dropServicePlansOf removes a service's service plans and the
// subscriptions through them: part of the service's cascade.
func (tx *Tx) dropServicePlansOf(serviceID int64) {
	for _, s := range tx.c.ServiceContracts.Filter(func(s *ServiceContract) bool { return s.ServiceID == serviceID }) {
		tx.drop(s)
	}
	for _, p := range tx.c.ServicePlansOf(serviceID) {
		tx.purge(p)
	}
}
