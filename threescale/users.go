package threescale

import (
	"net/http"
	"slices"

	"github.com/portolan/portolan/composition"
)

func (a *API) userRoutes() []Route {
	const tag = "Users"
	formats := []Format{JSON, XML}
	users := userCollection(false)
	base := "/admin/api/accounts/{account_id}/users"
	member := base + "/{id}"
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "User List", Formats: formats, handle: userCollection(true).list},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "User Create", Formats: formats, Status: http.StatusCreated, handle: users.create},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: "User Read", Formats: formats, handle: users.read("id")},
		{Method: http.MethodPut, Path: member, Tag: tag, Summary: "User Update", Formats: formats, handle: users.update("id")},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: "User Delete", Formats: formats, handle: users.remove("id")},
		{Method: http.MethodPut, Path: member + "/activate", Tag: tag, Summary: "User Activate", Formats: formats,
			handle: activateDeveloperUser(users)},
		{Method: http.MethodPut, Path: member + "/suspend", Tag: tag, Summary: "User Suspend", Formats: formats,
			handle: suspendUser(users)},
		{Method: http.MethodPut, Path: member + "/unsuspend", Tag: tag, Summary: "User Unsuspend", Formats: formats,
			handle: users.change("id", userEvent("unsuspend", composition.UserActive, composition.UserSuspended))},
		{Method: http.MethodPut, Path: member + "/admin", Tag: tag, Summary: "User change Role to Admin", Formats: formats,
			handle: users.change("id", userRole(composition.RoleAdmin))},
		{Method: http.MethodPut, Path: member + "/member", Tag: tag, Summary: "User Change Role to Member", Formats: formats,
			handle: users.change("id", userRole(composition.RoleMember))},
	}
}

// userCollection is the users of the account at {account_id}; filtered, it
// keeps those matching the state and role parameters (User List's filters).
func userCollection(filtered bool) *collection[composition.User, *composition.User] {
	return &collection[composition.User, *composition.User]{
		kind:  composition.KindUser,
		names: fixedNames("user", "users"),
		table: func(c *composition.Composition) *composition.Table[*composition.User] { return &c.Users },
		scope: func(c *call, s *composition.Composition) (func(*composition.User) bool, func(*composition.User), error) {
			id, err := c.id("account_id")
			if err != nil {
				return nil, nil, err
			}
			if _, err := get(&s.Accounts, id); err != nil {
				return nil, nil, err
			}
			keep := userListFilter(c, filtered)
			return func(u *composition.User) bool { return u.AccountID == id && keep(u) },
				func(u *composition.User) { u.AccountID = id }, nil
		},
		// 3scale requires an email, not a password, of the users a provider
		// creates (porta's signup_type :created_by_provider).
		insert: func(tx *composition.Tx, u *composition.User) error { return requireEmail(u, tx.Create(u)) },
		// Nor may an update blank the email of a user who has one (only a
		// signup's user may go without).
		prepare: func(_ *call, _ *composition.Tx, n, old *composition.User) error {
			if old != nil && old.Email != "" && n.Email == "" {
				return composition.Invalid("email", "can't be blank")
			}
			return nil
		},
	}
}

// userEvent moves a user to state, from one of the states 3scale's user
// state machine allows for the event; from another it is state_machine's
// invalid_transition error, as porta's users controllers answer it.
func userEvent(event, to string, from ...string) edit[*composition.User] {
	return func(_ *call, _ *composition.Tx, n, _ *composition.User) error {
		if !slices.Contains(from, n.State) {
			return invalidTransition(event)
		}
		n.State = to
		return nil
	}
}

// activateDeveloperUser is porta's BuyersUsersController#activate,
// "user.activate! unless user.active?": an active user is answered as it
// is, with no write; a pending one is activated, a suspended one refused.
func activateDeveloperUser(users *userCollectionT) func(*call) error {
	return userEventOrAsIs(users, "activate", composition.UserActive, composition.UserPending)
}

// suspendUser is porta's "user.suspend!" (both users controllers): its user
// state machine takes suspended => suspended, so a suspended user is
// answered as it is, with no write.
func suspendUser(users *userCollectionT) func(*call) error {
	return userEventOrAsIs(users, "suspend", composition.UserSuspended, composition.UserPending, composition.UserActive)
}

// userEventOrAsIs answers a user already in state to as it is, with no
// write, and otherwise moves it there from one of from.
func userEventOrAsIs(users *userCollectionT, event, to string, from ...string) func(*call) error {
	move := userEvent(event, to, from...)
	change := users.change("id", func(c *call, tx *composition.Tx, n, old *composition.User) error {
		if n.State == to {
			return nil // moved there meanwhile
		}
		return move(c, tx, n, old)
	})
	return func(c *call) error {
		u, err := users.find(c, c.snapshot(), "id")
		if err != nil {
			return err
		}
		if u.State == to {
			return users.one(c, u)
		}
		return change(c)
	}
}

func userRole(role string) edit[*composition.User] {
	return func(_ *call, _ *composition.Tx, n, _ *composition.User) error {
		n.Role = role
		return nil
	}
}
