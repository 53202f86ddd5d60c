package threescale

import (
	"net/http"
	"strconv"
	"time"

	"github.com/portolan/portolan/composition"
)

type accountPlanCollection = collection[composition.AccountPlan, *composition.AccountPlan]

// accountPlans is the provider's account plans (3scale's Account Plans),
// listed whole as porta lists them.
func accountPlans() *accountPlanCollection {
	return &accountPlanCollection{
		kind:    composition.KindAccountPlan,
		names:   fixedNames("account_plan", "plans"),
		table:   func(c *composition.Composition) *composition.Table[*composition.AccountPlan] { return &c.AccountPlans },
		prepare: accountPlanStateEvent,
		view:    accountPlanView,
		unpaged: true,
	}
}

func (a *API) accountPlanRoutes() []Route {
	const tag = "Account Plans"
	formats := []Format{JSON, XML}
	plans := accountPlans()
	rs := plans.routes(tag, "Account Plan", "/admin/api/account_plans", "id", formats...)
	features := "/admin/api/account_plans/{account_plan_id}/features"
	rs = append(rs,
		Route{Method: http.MethodPut, Path: "/admin/api/account_plans/{id}/default", Tag: tag, Summary: "Account Plan set to Default",
			Formats: formats, handle: plans.change("id", setDefaultAccountPlan)},
		Route{Method: http.MethodGet, Path: "/admin/api/accounts/{account_id}/plan", Tag: "Accounts", Summary: "Account Fetch Account Plan",
			Formats: formats, handle: readAccountsPlan},
	)
	return append(rs, planFeatureRoutes(tag, features,
		"Account Plan Features List", "Account Plan Feature Enable", "Account Plan Feature Disable", idOf(accountPlanOf))...)
}

// accountPlanStateEvent applies state_event, 3scale's only way to change a
// plan's state; porta permits name, approval_required and (on create)
// system_name besides, which bind as fields.
func accountPlanStateEvent(c *call, _ *composition.Tx, n, _ *composition.AccountPlan) error {
	ev, ok := c.params.Get("state_event")
	if !ok || ev == "" {
		return nil
	}
	switch ev {
	case "publish":
		n.State = composition.PlanPublished
	case "hide":
		n.State = composition.PlanHidden
	default:
		return composition.Invalid("state_event", "is not included in the list (publish, hide)")
	}
	return nil
}

// setDefaultAccountPlan makes n the provider's default account plan; the
// domain makes the previous one plain.
func setDefaultAccountPlan(_ *call, _ *composition.Tx, n, _ *composition.AccountPlan) error {
	n.Default = true
	return nil
}

// accountPlanJSON is 3scale's JSON account plan (AccountPlanRepresenter:
// PlanRepresenter's properties, default meaning the provider's default; the
// fees as floats, PlanRepresenter's to_f, where XML has their decimals).
type accountPlanJSON struct {
	ID                 int64     `json:"id"`
	Name               string    `json:"name"`
	State              string    `json:"state"`
	SetupFee           float64   `json:"setup_fee"`
	CostPerMonth       float64   `json:"cost_per_month"`
	TrialPeriodDays    int64     `json:"trial_period_days"`
	CancellationPeriod int64     `json:"cancellation_period"`
	Default            bool      `json:"default"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// accountPlanXML is 3scale's XML account plan (Plan#to_xml): default="true"
// only on the default plan, and the plan's type.
type accountPlanXML struct {
	Default            bool                `json:"default" wire:"attr,omitempty"`
	ID                 int64               `json:"id"`
	Name               string              `json:"name"`
	Type               string              `json:"type"`
	State              string              `json:"state"`
	SetupFee           composition.Decimal `json:"setup_fee"`
	CostPerMonth       composition.Decimal `json:"cost_per_month"`
	TrialPeriodDays    int64               `json:"trial_period_days"`
	CancellationPeriod int64               `json:"cancellation_period"`
}

// accountPlanView names an account plan "account_plan" in JSON and "plan"
// in XML, as 3scale does.
func accountPlanView(c *call, p *composition.AccountPlan) (string, any) {
	if c.format == XML {
		return "plan", accountPlanXML{Default: p.Default, ID: p.ID, Name: p.Name, Type: "account_plan", State: p.State,
			SetupFee: p.SetupFee, CostPerMonth: p.CostPerMonth, TrialPeriodDays: p.TrialPeriodDays, CancellationPeriod: p.CancellationPeriod}
	}
	return "account_plan", accountPlanJSON{ID: p.ID, Name: p.Name, State: p.State, SetupFee: p.SetupFee.Float64(), CostPerMonth: p.CostPerMonth.Float64(),
		TrialPeriodDays: p.TrialPeriodDays, CancellationPeriod: p.CancellationPeriod, Default: p.Default,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// readAccountsPlan is Account Fetch Account Plan: the account plan the
// account at {account_id} is on. An account on none (Portolan's accounts
// made before any default account plan) is 404, as a missing plan is.
func readAccountsPlan(c *call) error {
	s := c.snapshot()
	id, err := c.id("account_id")
	if err != nil {
		return err
	}
	acc, err := get(&s.Accounts, id)
	if err != nil {
		return err
	}
	plan, err := get(&s.AccountPlans, acc.PlanID)
	if err != nil {
		return err
	}
	return c.one(accountPlanView(c, plan))
}

// changeAccountPlan is Account Change Plan: it puts the account at {id} on
// the account plan plan_id (a missing or unknown one is 404, as in 3scale)
// and answers that plan. The accounts collection resolves the account.
func changeAccountPlan(accounts *collection[composition.Account, *composition.Account]) func(*call) error {
	return func(c *call) error {
		var plan *composition.AccountPlan
		_, err := accounts.modify(c, "id", func(tx *composition.Tx, n, _ *composition.Account) error {
			v, _ := c.params.Get("plan_id")
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrNotFound
			}
			if plan, err = get(&tx.View().AccountPlans, id); err != nil {
				return err
			}
			n.PlanID = plan.ID
			return nil
		})
		if err != nil {
			return err
		}
		return c.one(accountPlanView(c, plan))
	}
}

// accountPlanOf resolves the account plan at {account_plan_id}.
func accountPlanOf(c *call, s *composition.Composition) (*composition.AccountPlan, error) {
	id, err := c.id("account_plan_id")
	if err != nil {
		return nil, err
	}
	return get(&s.AccountPlans, id)
}
