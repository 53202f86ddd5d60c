package composition

import (
	"regexp"
	"time"
)

// KindApplication is the kind of applications.
const KindApplication Kind = "applications"

// Application states.
const (
	AppLive      = "live"
	AppSuspended = "suspended"
	AppPending   = "pending"
)

// Application is a consumer's subscription to a service through a plan, with its
// credentials: a user_key (backend_version 1) or an app_id with app keys (2).
type Application struct {
	ID                      int64     `json:"id" wire:"ro"`
	AccountID               int64     `json:"user_account_id" wire:"ro,string"`
	ServiceID               int64     `json:"service_id" wire:"ro"`
	PlanID                  int64     `json:"plan_id" wire:"ro"`
	State                   string    `json:"state" wire:"ro"`
	Name                    string    `json:"name"`
	Description             string    `json:"description"`
	UserKey                 string    `json:"user_key" wire:"omitempty"`
	AppID                   string    `json:"application_id" wire:"omitempty"`
	AppKeys                 []string  `json:"keys" wire:"ro,omitempty"`
	ProviderVerificationKey string    `json:"provider_verification_key" wire:"ro"`
	EndUserRequired         bool      `json:"end_user_required" wire:"ro"`
	CreatedAt               time.Time `json:"created_at" wire:"ro"`
	UpdatedAt               time.Time `json:"updated_at" wire:"ro"`
}

func (e *Application) Key() int64                     { return e.ID }
func (e *Application) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Application) created() time.Time             { return e.CreatedAt }
func (*Application) info() kindInfo                   { return applicationDef }

var applicationDef = &kindDef[Application, *Application]{
	Kind:     KindApplication,
	Table:    func(c *Composition) *Table[*Application] { return &c.Applications },
	Document: func(d *Document) *[]*Application { return &d.Applications },
	Prepare:  prepareApplication,
	Validate: validateApplication,
	Import: func(a *Application, ref func(string, int64) int64) {
		a.AccountID, a.ServiceID, a.PlanID = ref("user_account_id", a.AccountID), ref("service_id", a.ServiceID), ref("plan_id", a.PlanID)
	},
	HideSecrets: func(a *Application) {
		a.UserKey, a.AppID, a.AppKeys, a.ProviderVerificationKey = "", "", nil, ""
	},
}

// prepareApplication takes the service from the plan and, on create, fills the
// state and the credentials the service's authentication needs.
func prepareApplication(c *Composition, a, old *Application) error {
	plan, ok := c.ApplicationPlans.Get(a.PlanID)
	if !ok {
		return Invalid("plan_id", "does not exist")
	}
	a.ServiceID = plan.ServiceID
	if old != nil {
		a.AccountID = old.AccountID
		return nil
	}
	if a.State == "" {
		a.State = AppLive
		if plan.ApprovalRequired {
			a.State = AppPending
		}
	}
	svc, _ := c.Services.Get(plan.ServiceID)
	if svc != nil && svc.BackendVersion == "1" {
		if a.UserKey == "" {
			a.UserKey = randomHex(16)
		}
	} else if a.AppID == "" {
		a.AppID = randomHex(4)
		if svc != nil && svc.BackendVersion == "2" && len(a.AppKeys) == 0 {
			a.AppKeys = []string{randomHex(16)}
		}
	}
	if a.ProviderVerificationKey == "" {
		a.ProviderVerificationKey = randomHex(16)
	}
	return nil
}

var credentialRE = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)

func validateApplication(c *Composition, a *Application) error {
	if _, ok := c.Accounts.Get(a.AccountID); !ok {
		return NotFound(KindAccount, a.AccountID)
	}
	v := &ValidationError{}
	name(v, "name", a.Name)
	text(v, "description", a.Description)
	oneOf(v, "state", a.State, AppLive, AppSuspended, AppPending)
	if a.UserKey != "" {
		credential(v, "user_key", a.UserKey)
		if _, dup := c.Applications.Find(func(o *Application) bool {
			return o.ServiceID == a.ServiceID && o.UserKey == a.UserKey && o.ID != a.ID
		}); dup {
			v.Add("user_key", taken)
		}
	}
	if a.AppID != "" {
		credential(v, "application_id", a.AppID)
		if _, dup := c.Applications.Find(func(o *Application) bool {
			return o.ServiceID == a.ServiceID && o.AppID == a.AppID && o.ID != a.ID
		}); dup {
			v.Add("application_id", taken)
		}
	}
	for _, k := range a.AppKeys {
		credential(v, "key", k)
	}
	if len(a.AppKeys) > 5 {
		v.Add("keys", "too many keys (at most 5)")
	}
	return v.Err()
}

func credential(v *ValidationError, field, s string) {
	if !credentialRE.MatchString(s) {
		v.Add(field, invalidFormat)
	}
}
