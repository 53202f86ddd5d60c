package composition

import (
	"fmt"
	"time"
)

// KindServiceContract is the kind of service subscriptions (3scale's service
// contracts): an account subscribed to a service through a service plan.
const KindServiceContract Kind = "service_contracts"

// The states of a service subscription.
const (
	ContractLive    = "live"
	ContractPending = "pending"
)

// ErrAlreadySubscribed is the refusal of a second subscription of an account
// to the same service.
const ErrAlreadySubscribed = "already subscribed to this service"

// ServiceContract subscribes an account to a service through one of its
// service plans, as 3scale's service contracts do. A subscription through a
// plan that requires approval starts pending. Portolan bills nothing: the
// billing fields are stored and answered as 3scale has them.
type ServiceContract struct {
	ID                    int64      `json:"id" wire:"ro"`
	PlanID                int64      `json:"plan_id"`
	AccountID             int64      `json:"user_account_id" wire:"ro"`
	ServiceID             int64      `json:"service_id" wire:"ro"`
	State                 string     `json:"state" wire:"ro"`
	SetupFee              Decimal    `json:"setup_fee" wire:"ro"`
	PaidUntil             *time.Time `json:"paid_until" wire:"ro"`
	TrialPeriodExpiresAt  *time.Time `json:"trial_period_expires_at" wire:"ro"`
	VariableCostPaidUntil *time.Time `json:"variable_cost_paid_until" wire:"ro"`
	AcceptedAt            *time.Time `json:"accepted_at" wire:"ro"`
	CreatedAt             time.Time  `json:"created_at" wire:"ro"`
	UpdatedAt             time.Time  `json:"updated_at" wire:"ro"`
}

func (e *ServiceContract) Key() int64 { return e.ID }
func (e *ServiceContract) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *ServiceContract) created() time.Time { return e.CreatedAt }
func (*ServiceContract) info() kindInfo       { return serviceContractDef }

// A subscription takes its service from its plan; an account subscribes to a
// service once, and a plan change stays within the service.
var serviceContractDef = &kindDef[ServiceContract, *ServiceContract]{
	Kind:     KindServiceContract,
	Table:    func(c *Composition) *Table[*ServiceContract] { return &c.ServiceContracts },
	Document: func(d *Document) *[]*ServiceContract { return &d.ServiceContracts },
	Keep:     func(s, old *ServiceContract) { s.AccountID, s.ServiceID = old.AccountID, old.ServiceID },
	Prepare:  prepareServiceContract,
	Validate: validateServiceContract,
	Import: func(s *ServiceContract, ref refFunc) {
		s.AccountID, s.PlanID, s.ServiceID = ref("user_account_id", s.AccountID), ref("plan_id", s.PlanID), ref("service_id", s.ServiceID)
	},
}

// prepareServiceContract fills a new subscription's service, state (pending
// when its plan requires approval), setup fee and acceptance time.
func prepareServiceContract(c *Composition, s, old *ServiceContract) error {
	plan, ok := c.ServicePlans.Get(s.PlanID)
	if !ok {
		return NotFound(KindServicePlan, s.PlanID)
	}
	if old != nil {
		return nil
	}
	s.ServiceID = plan.ServiceID
	s.SetupFee = plan.SetupFee
	if s.State == "" {
		s.State = ContractLive
		if plan.ApprovalRequired {
			s.State = ContractPending
		}
	}
	if s.State == ContractLive && s.AcceptedAt == nil {
		now := time.Now().UTC().Truncate(time.Second)
		s.AcceptedAt = &now
	}
	return nil
}

func validateServiceContract(c *Composition, s *ServiceContract, v *ValidationError) error {
	if _, ok := c.Accounts.Get(s.AccountID); !ok {
		return NotFound(KindAccount, s.AccountID)
	}
	plan, ok := c.ServicePlans.Get(s.PlanID)
	if !ok {
		return NotFound(KindServicePlan, s.PlanID)
	}
	if plan.ServiceID != s.ServiceID {
		v.Add("plan", "must belong to the same service")
	}
	oneOf(v, "state", s.State, ContractLive, ContractPending, "suspended")
	if _, dup := c.ServiceContracts.Find(func(o *ServiceContract) bool {
		return o.AccountID == s.AccountID && o.ServiceID == s.ServiceID && o.ID != s.ID
	}); dup {
		v.Add("base", ErrAlreadySubscribed)
	}
	return nil
}

// ServiceContractsOf returns an account's service subscriptions in id order.
func (c *Composition) ServiceContractsOf(accountID int64) []*ServiceContract {
	return c.ServiceContracts.Filter(func(s *ServiceContract) bool { return s.AccountID == accountID })
}

// dropServiceContractsOf removes an account's subscriptions: part of the
// account's cascade.
func (tx *Tx) dropServiceContractsOf(accountID int64) {
	for _, s := range tx.c.ServiceContractsOf(accountID) {
		tx.drop(s)
	}
}

// Unsubscribe ends subscription id of account accountID as 3scale's
// ServiceSubscriptionService does: refused (422 on base) while the account
// has applications of the service that are not suspended; otherwise the
// account's applications of the service go with the subscription.
func (tx *Tx) Unsubscribe(accountID, id int64) error {
	s, ok := tx.c.ServiceContracts.Get(id)
	if !ok || s.AccountID != accountID {
		return NotFound(KindServiceContract, id)
	}
	apps := tx.c.Applications.Filter(func(a *Application) bool { return a.AccountID == accountID && a.ServiceID == s.ServiceID })
	active := 0
	for _, a := range apps {
		if a.State != AppSuspended {
			active++
		}
	}
	if active > 0 {
		return Invalid("base", fmt.Sprintf("cannot unsubscribe: the account has %d unsuspended applications of the service", active))
	}
	for _, a := range apps {
		tx.purge(a)
	}
	return tx.Delete(KindServiceContract, id)
}
