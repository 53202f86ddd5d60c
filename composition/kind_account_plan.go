package composition

import "time"

// KindAccountPlan is the kind of the provider's account plans (3scale's
// Account Plans): the plans developer accounts are on.
const KindAccountPlan Kind = "account_plans"

// AccountPlan is a plan of the provider's for developer accounts. At most
// one is the default, which an account created without a plan is put on.
// Its prices are stored and answered only: Portolan bills nothing. The API
// sets only name, system_name (on create), approval_required and, through
// state events, state, as 3scale permits.
type AccountPlan struct {
	ID                 int64     `json:"id" wire:"ro"`
	Name               string    `json:"name"`
	SystemName         string    `json:"system_name"`
	State              string    `json:"state" wire:"ro"`
	Default            bool      `json:"default" wire:"ro"`
	ApprovalRequired   bool      `json:"approval_required"`
	SetupFee           Decimal   `json:"setup_fee" wire:"ro"`
	CostPerMonth       Decimal   `json:"cost_per_month" wire:"ro"`
	TrialPeriodDays    int64     `json:"trial_period_days" wire:"ro"`
	CancellationPeriod int64     `json:"cancellation_period" wire:"ro"`
	CreatedAt          time.Time `json:"created_at" wire:"ro"`
	UpdatedAt          time.Time `json:"updated_at" wire:"ro"`
}

func (e *AccountPlan) Key() int64 { return e.ID }
func (e *AccountPlan) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *AccountPlan) created() time.Time { return e.CreatedAt }
func (*AccountPlan) info() kindInfo       { return accountPlanDef }

// An account plan has a system_name of its own among the provider's account
// plans; written as the default, it makes the others plain. A plan accounts
// are on cannot be deleted (3scale's has_contracts); deleting one disables
// its features.
var accountPlanDef = &kindDef[AccountPlan, *AccountPlan]{
	Kind:     KindAccountPlan,
	Table:    func(c *Composition) *Table[*AccountPlan] { return &c.AccountPlans },
	Document: func(d *Document) *[]*AccountPlan { return &d.AccountPlans },
	Keep:     func(p, old *AccountPlan) { p.SystemName = old.SystemName },
	Prepare: func(_ *Composition, p, old *AccountPlan) error {
		p.SetupFee, p.CostPerMonth = p.SetupFee.Canonical(), p.CostPerMonth.Canonical()
		if old == nil {
			p.State = defaultStr(p.State, PlanHidden)
			p.SystemName = defaultStr(p.SystemName, SystemName(p.Name))
		}
		return nil
	},
	Validate: func(c *Composition, p *AccountPlan, v *ValidationError) error {
		name(v, "name", p.Name)
		systemName(v, p.SystemName)
		if _, dup := c.AccountPlans.Find(func(o *AccountPlan) bool { return o.SystemName == p.SystemName && o.ID != p.ID }); dup {
			v.Add("system_name", taken)
		}
		oneOf(v, "state", p.State, PlanHidden, PlanPublished)
		validDecimal(v, "setup_fee", p.SetupFee)
		validDecimal(v, "cost_per_month", p.CostPerMonth)
		nonNegative(v, "trial_period_days", float64(p.TrialPeriodDays))
		nonNegative(v, "cancellation_period", float64(p.CancellationPeriod))
		return nil
	},
	AfterCreate: unsetOtherDefaultAccountPlans,
	AfterUpdate: unsetOtherDefaultAccountPlans,
	CheckDelete: func(c *Composition, p *AccountPlan) error {
		if _, used := c.Accounts.Find(func(a *Account) bool { return a.PlanID == p.ID }); used {
			return Invalid("base", "cannot be deleted because it has accounts")
		}
		return nil
	},
	Cascade: func(tx *Tx, p *AccountPlan) { tx.disableFeaturesOn(p.ID) },
	// An AccountPlan document declares it. No document owns one, so a
	// prune never deletes it: other tenants' accounts may be on it.
	NaturalKey: func(_ *keyIndex, p *AccountPlan) (string, string, error) {
		return childKey("", "account_plan", p.SystemName), "", nil
	},
}

// unsetOtherDefaultAccountPlans keeps the provider at one default account
// plan at most.
func unsetOtherDefaultAccountPlans(tx *Tx, p *AccountPlan) error {
	if p.Default {
		keepOneDefault(tx, p, tx.c.AccountPlans.All(), func(o *AccountPlan) *bool { return &o.Default },
			func(o *AccountPlan) { o.UpdatedAt = tx.now })
	}
	return nil
}

// DefaultAccountPlan returns the provider's default account plan.
func (c *Composition) DefaultAccountPlan() (*AccountPlan, bool) {
	return c.AccountPlans.Find(func(p *AccountPlan) bool { return p.Default })
}

// accountPlanMatches reports whether planID is an account plan and, if so,
// whether f may be enabled on it: only the provider's account features may
// (3scale looks the feature up among the plan issuer's, so a service's is
// not found).
func (c *Composition) accountPlanMatches(f *Feature, planID int64) (bool, error) {
	if _, ok := c.AccountPlans.Get(planID); !ok {
		return false, nil
	}
	if f.OwnerType != OwnerAccount || f.OwnerID != ProviderAccountID {
		return true, NotFound(KindFeature, f.ID)
	}
	return true, nil
}

// prepareAccountPlan puts a new account without a plan on the default
// account plan, as 3scale's signup does.
func prepareAccountPlan(c *Composition, a, old *Account) {
	if old != nil || a.PlanID != 0 {
		return
	}
	if p, ok := c.DefaultAccountPlan(); ok {
		a.PlanID = p.ID
	}
}

// validateAccountPlan checks the plan an account is on exists.
func validateAccountPlan(c *Composition, a *Account) error {
	if a.PlanID == 0 {
		return nil
	}
	if _, ok := c.AccountPlans.Get(a.PlanID); !ok {
		return NotFound(KindAccountPlan, a.PlanID)
	}
	return nil
}
