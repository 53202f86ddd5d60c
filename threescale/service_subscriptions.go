package threescale

import (
	"net/http"
	"strconv"
	"time"

	"github.com/portolan/portolan/composition"
)

func (a *API) serviceSubscriptionRoutes() []Route {
	const tag = "Service Subscriptions"
	formats := []Format{JSON, XML}
	base := "/admin/api/accounts/{account_id}/service_subscriptions"
	one := base + "/{id}"
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "Service Subscription List", Formats: formats, handle: listSubscriptions},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "Service Subscription Create", Formats: formats,
			Status: http.StatusCreated, handle: subscribe},
		{Method: http.MethodGet, Path: one, Tag: tag, Summary: "Service Subscription Show", Formats: formats, handle: readSubscription},
		{Method: http.MethodDelete, Path: one, Tag: tag, Summary: "Service Subscription Delete", Formats: formats, handle: unsubscribe},
		{Method: http.MethodPut, Path: one + "/approve", Tag: tag, Summary: "Service Subscription Approve", Formats: formats,
			handle: approveSubscription},
		{Method: http.MethodPut, Path: one + "/change_plan", Tag: tag, Summary: "Service Subscription Change Plan", Formats: formats,
			handle: changeSubscriptionPlan},
		// 3scale's deprecated names for the list and the delete, under its
		// Accounts tag: the same subscriptions, as service_contract elements.
		{Method: http.MethodGet, Path: "/admin/api/accounts/{account_id}/service_contracts", Tag: "Accounts",
			Summary: "[DEPRECATED] Service Subscription List", Formats: formats, handle: listContracts},
		{Method: http.MethodDelete, Path: "/admin/api/accounts/{account_id}/service_contracts/{id}", Tag: "Accounts",
			Summary: "[DEPRECATED] Service Subscription Delete", Formats: formats, handle: unsubscribe},
	}
}

// subscriptionWire is 3scale's ServiceSubscriptionRepresenter, in its order.
type subscriptionWire struct {
	ID                    int64      `json:"id"`
	PlanID                int64      `json:"plan_id"`
	UserAccountID         int64      `json:"user_account_id"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	State                 string     `json:"state"`
	PaidUntil             *time.Time `json:"paid_until"`
	TrialPeriodExpiresAt  *time.Time `json:"trial_period_expires_at"`
	SetupFee              float64    `json:"setup_fee"`
	Type                  string     `json:"type"`
	VariableCostPaidUntil *time.Time `json:"variable_cost_paid_until"`
	TenantID              int64      `json:"tenant_id"`
	ServiceID             int64      `json:"service_id"`
	AcceptedAt            *time.Time `json:"accepted_at"`
}

func subscriptionView(s *composition.ServiceContract) (string, any) {
	return "service_subscription", subscriptionFields(s)
}

// subscriptionFields is s as 3scale's representers render it.
func subscriptionFields(s *composition.ServiceContract) subscriptionWire {
	return subscriptionWire{
		ID: s.ID, PlanID: s.PlanID, UserAccountID: s.AccountID, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		State: s.State, PaidUntil: s.PaidUntil, TrialPeriodExpiresAt: s.TrialPeriodExpiresAt, SetupFee: s.SetupFee.Float64(),
		Type: "ServiceContract", VariableCostPaidUntil: s.VariableCostPaidUntil, TenantID: composition.ProviderAccountID,
		ServiceID: s.ServiceID, AcceptedAt: s.AcceptedAt,
	}
}

// subscriptionAccount resolves the account at {account_id}; a missing one is 404.
func subscriptionAccount(c *call, s *composition.Composition) (int64, error) {
	id, err := c.id("account_id")
	if err != nil {
		return 0, err
	}
	if _, err := get(&s.Accounts, id); err != nil {
		return 0, err
	}
	return id, nil
}

// subscriptionOf resolves the subscription at {id} of the account at
// {account_id}; either missing is 404.
func subscriptionOf(c *call, s *composition.Composition) (*composition.ServiceContract, error) {
	accountID, err := subscriptionAccount(c, s)
	if err != nil {
		return nil, err
	}
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	sub, err := get(&s.ServiceContracts, id)
	if err != nil || sub.AccountID != accountID || !c.reaches(sub.ServiceID) {
		return nil, ErrNotFound
	}
	return sub, nil
}

// subscriptionPlan resolves the service plan plan_id (or
// service_subscription[plan_id]) names; a missing one is 404, as 3scale's
// find.
func subscriptionPlan(c *call, s *composition.Composition) (*composition.ServicePlan, error) {
	v, ok := c.params.Get("plan_id")
	if !ok {
		v, _ = c.params.Get("service_subscription[plan_id]")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, ErrNotFound
	}
	p, err := get(&s.ServicePlans, id)
	if err == nil && !c.reaches(p.ServiceID) {
		return nil, ErrNotFound
	}
	return p, err
}

func listSubscriptions(c *call) error {
	return listAccountContracts(c, "service_subscriptions", "service_subscription")
}

// listContracts is the deprecated list: service_contract elements.
func listContracts(c *call) error {
	return listAccountContracts(c, "service_contracts", "service_contract")
}

// listAccountContracts answers the subscriptions of the account at
// {account_id} to the services the caller reaches, whole, under the list
// and element names given.
func listAccountContracts(c *call, many, one string) error {
	s := c.snapshot()
	accountID, err := subscriptionAccount(c, s)
	if err != nil {
		return err
	}
	var items []viewItem
	for _, sub := range s.ServiceContractsOf(accountID) {
		if c.reaches(sub.ServiceID) {
			items = append(items, viewItem{name: one, v: subscriptionFields(sub)})
		}
	}
	return writeViewList(c, many, items)
}

func readSubscription(c *call) error {
	sub, err := subscriptionOf(c, c.snapshot())
	if err != nil {
		return err
	}
	return c.one(subscriptionView(sub))
}

// subscribe subscribes the account to the service of the service plan
// plan_id: live, or pending when the plan requires approval.
func subscribe(c *call) error {
	var sub *composition.ServiceContract
	_, err := c.update(func(tx *composition.Tx) error {
		s := tx.View()
		accountID, err := subscriptionAccount(c, s)
		if err != nil {
			return err
		}
		plan, err := subscriptionPlan(c, s)
		if err != nil {
			return err
		}
		sub = &composition.ServiceContract{AccountID: accountID, PlanID: plan.ID}
		return tx.Create(sub)
	})
	if err != nil {
		return err
	}
	return c.one(subscriptionView(sub))
}

// unsubscribe ends the subscription with the account's (suspended)
// applications of the service; unsuspended ones make it a 422.
func unsubscribe(c *call) error {
	_, err := c.update(func(tx *composition.Tx) error {
		sub, err := subscriptionOf(c, tx.View())
		if err != nil {
			return err
		}
		return tx.Unsubscribe(sub.AccountID, sub.ID)
	})
	if err != nil {
		return err
	}
	return c.empty()
}

// approveSubscription accepts a pending subscription; one that is not
// pending cannot be accepted (422).
func approveSubscription(c *call) error {
	n, err := modifySubscription(c, func(_ *composition.Composition, n *composition.ServiceContract) error {
		if n.State != composition.ContractPending {
			return composition.Invalid("state", "cannot transition via \"accept\"")
		}
		now := time.Now().UTC().Truncate(time.Second)
		n.State, n.AcceptedAt = composition.ContractLive, &now
		return nil
	})
	if err != nil {
		return err
	}
	return c.one(subscriptionView(n))
}

// changeSubscriptionPlan moves the subscription to the service plan
// plan_id, which must be of the same service, and answers the plan, as
// 3scale does.
func changeSubscriptionPlan(c *call) error {
	var plan *composition.ServicePlan
	_, err := modifySubscription(c, func(s *composition.Composition, n *composition.ServiceContract) error {
		var err error
		if plan, err = subscriptionPlan(c, s); err != nil {
			return err
		}
		n.PlanID = plan.ID
		return nil
	})
	if err != nil {
		return err
	}
	return c.one(servicePlanView(c, plan))
}

// modifySubscription lets change edit a copy of the subscription at {id}
// and stores it.
func modifySubscription(c *call, change func(*composition.Composition, *composition.ServiceContract) error) (*composition.ServiceContract, error) {
	var n composition.ServiceContract
	_, err := c.update(func(tx *composition.Tx) error {
		s := tx.View()
		old, err := subscriptionOf(c, s)
		if err != nil {
			return err
		}
		n = *old
		if err := change(s, &n); err != nil {
			return err
		}
		return tx.Update(&n)
	})
	return &n, err
}
