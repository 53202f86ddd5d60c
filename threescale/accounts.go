package threescale

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// signupAppName is what 3scale names the applications a signup creates.
const signupAppName = "API signup"

// accountRejected is the state of a rejected account (composition has no
// constant for it).
const accountRejected = "rejected"

func accountTable(c *composition.Composition) *composition.Table[*composition.Account] {
	return &c.Accounts
}

func (a *API) accountRoutes() []Route {
	const tag = "Accounts"
	formats := []Format{JSON, XML}
	accounts := &collection[composition.Account, *composition.Account]{
		kind:  composition.KindAccount,
		names: fixedNames("account", "accounts"),
		table: accountTable,
	}
	listed := &collection[composition.Account, *composition.Account]{
		kind:  composition.KindAccount,
		names: fixedNames("account", "accounts"),
		table: accountTable,
		scope: func(c *call, _ *composition.Composition) (func(*composition.Account) bool, func(*composition.Account), error) {
			// porta: "params[:state].presence", blank (white space too) is every state.
			state, _ := searchParam(c, "state")
			return func(acc *composition.Account) bool { return state == "" || acc.State == state }, func(*composition.Account) {}, nil
		},
	}
	return []Route{
		{Method: http.MethodGet, Path: "/admin/api/accounts", Tag: tag, Summary: "Account List", Formats: formats, handle: listed.list},
		{Method: http.MethodGet, Path: "/admin/api/accounts/find", Tag: tag, Summary: "Account Find", Formats: formats, handle: findAccount},
		{Method: http.MethodGet, Path: "/admin/api/accounts/{id}", Tag: tag, Summary: "Account Read", Formats: formats, handle: accounts.read("id")},
		{Method: http.MethodPut, Path: "/admin/api/accounts/{id}", Tag: tag, Summary: "Account Update", Formats: formats, handle: accounts.update("id")},
		{Method: http.MethodDelete, Path: "/admin/api/accounts/{id}", Tag: tag, Summary: "Account Delete", Formats: formats, handle: accounts.remove("id")},
		{Method: http.MethodPost, Path: "/admin/api/signup", Tag: tag, Summary: "Signup Express (Account Create)", Formats: formats,
			Status: http.StatusCreated, handle: signup},
		{Method: http.MethodPut, Path: "/admin/api/accounts/{id}/approve", Tag: tag, Summary: "Account Approve", Formats: formats,
			handle: accounts.change("id", accountEvent("approve", composition.AccountApproved, composition.AccountPending, accountRejected))},
		{Method: http.MethodPut, Path: "/admin/api/accounts/{id}/reject", Tag: tag, Summary: "Account Reject", Formats: formats,
			handle: accounts.change("id", accountEvent("reject", accountRejected, composition.AccountPending, composition.AccountApproved))},
		{Method: http.MethodPut, Path: "/admin/api/accounts/{id}/make_pending", Tag: tag, Summary: "Account Reset to Pending", Formats: formats,
			handle: accounts.change("id", accountEvent("make_pending", composition.AccountPending, composition.AccountApproved, accountRejected))},
		{Method: http.MethodPut, Path: "/admin/api/accounts/{id}/change_plan", Tag: tag, Summary: "Account Change Plan", Formats: formats,
			handle: changeAccountPlan(accounts)},
	}
}

// findAccount finds the account of a user by username, else email, else
// user_id.
func findAccount(c *call) error {
	s := c.snapshot()
	var user *composition.User
	ok := false
	if v, _ := c.params.Get("username"); v != "" {
		user, ok = firstUser(s, func(u *composition.User) bool { return u.Username == v })
	} else if v, _ := c.params.Get("email"); v != "" {
		user, ok = firstUser(s, func(u *composition.User) bool { return u.Email == v })
	} else if v, _ := c.params.Get("user_id"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			user, ok = s.Users.Get(id)
		}
	}
	if !ok {
		return ErrNotFound
	}
	acc, err := get(&s.Accounts, user.AccountID)
	if err != nil {
		return err
	}
	return c.one("account", acc)
}

func firstUser(s *composition.Composition, match func(*composition.User) bool) (*composition.User, bool) {
	us := s.Users.Filter(match)
	if len(us) == 0 {
		return nil, false
	}
	return us[0], true
}

// signup creates an account, its active admin user, its service
// subscriptions and, as 3scale does, an application on application_plan_id
// or else on each service's default plan, all in one revision. The user is
// porta's "minimal" signup: a username is all it needs.
func signup(c *call) error {
	acc := &composition.Account{}
	_, err := c.update(func(tx *composition.Tx) error {
		if err := c.bind(acc, true); err != nil {
			return err
		}
		if err := signupAccountPlan(c, tx.View(), acc); err != nil {
			return err
		}
		if err := tx.Create(acc); err != nil {
			return err
		}
		// porta's signup_type :minimal: neither an email nor a password is
		// required, only the username.
		u := &composition.User{}
		if err := c.bind(u, true); err != nil {
			return err
		}
		u.AccountID, u.Role, u.State = acc.ID, composition.RoleAdmin, composition.UserActive
		if err := tx.Create(u); err != nil {
			return err
		}
		servicePlans, err := signupServicePlans(c, tx.View())
		if err != nil {
			return err
		}
		for _, p := range servicePlans {
			if err := tx.Create(&composition.ServiceContract{AccountID: acc.ID, PlanID: p.ID}); err != nil {
				return err
			}
		}
		plans, err := signupPlans(c, tx.View())
		if err != nil {
			return err
		}
		for _, p := range plans {
			app := &composition.Application{AccountID: acc.ID, PlanID: p.ID, Name: signupAppName, Description: signupAppName}
			if err := tx.Create(app); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.one("account", acc)
}

// signupAccountPlan puts acc on the account plan account_plan_id names, as
// 3scale's Signup Express does; without one it goes on the default plan.
// An unknown plan is 404, as for application_plan_id.
func signupAccountPlan(c *call, s *composition.Composition, acc *composition.Account) error {
	v, ok := c.params.Get("account_plan_id")
	if !ok || v == "" {
		return nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return &composition.FieldError{Field: "account_plan_id", Message: "is not a number", Err: err}
	}
	p, err := get(&s.AccountPlans, id)
	if err != nil {
		return err
	}
	acc.PlanID = p.ID
	return nil
}

// signupServicePlans are the service plans a signup subscribes the account
// through, as 3scale's: the one service_plan_id names for its service, each
// other service's default one (a service without one gets no subscription).
func signupServicePlans(c *call, s *composition.Composition) ([]*composition.ServicePlan, error) {
	var chosen *composition.ServicePlan
	if v, ok := c.params.Get("service_plan_id"); ok && v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, &composition.FieldError{Field: "service_plan_id", Message: "is not a number", Err: err}
		}
		if chosen, err = get(&s.ServicePlans, id); err != nil {
			return nil, err
		}
	}
	plans := s.ServicePlans.Filter(func(p *composition.ServicePlan) bool {
		return p.Default && (chosen == nil || p.ServiceID != chosen.ServiceID)
	})
	if chosen != nil {
		plans = append(plans, chosen)
	}
	return plans, nil
}

// signupPlans is the plan named by application_plan_id, or else every
// service's default plan.
func signupPlans(c *call, s *composition.Composition) ([]*composition.ApplicationPlan, error) {
	if v, ok := c.params.Get("application_plan_id"); ok && v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, &composition.FieldError{Field: "application_plan_id", Message: "is not a number", Err: err}
		}
		p, err := get(&s.ApplicationPlans, id)
		if err != nil {
			return nil, err
		}
		return []*composition.ApplicationPlan{p}, nil
	}
	return s.ApplicationPlans.Filter(func(p *composition.ApplicationPlan) bool { return p.Default }), nil
}

// requireEmail adds a missing email to err, the result of creating u: 3scale
// requires one for users a provider creates (not for signups).
func requireEmail(u *composition.User, err error) error {
	if u.Email != "" {
		return err
	}
	if err == nil {
		return composition.Invalid("email", "can't be blank")
	}
	var ve *composition.ValidationError
	if errors.As(err, &ve) {
		ve.Add("email", "can't be blank")
	}
	return err
}

// accountEvent moves an account to state, from one of the states porta's
// account state machine allows for the event.
func accountEvent(event, to string, from ...string) edit[*composition.Account] {
	return func(_ *call, _ *composition.Tx, n, _ *composition.Account) error {
		if !slices.Contains(from, n.State) {
			return invalidTransition(event)
		}
		n.State = to
		return nil
	}
}
