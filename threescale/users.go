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
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "User Create", Formats: formats, Status: http.StatusCreated, handle: createUser(users)},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: "User Read", Formats: formats, handle: users.read("id")},
		{Method: http.MethodPut, Path: member, Tag: tag, Summary: "User Update", Formats: formats, handle: users.update("id")},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: "User Delete", Formats: formats, handle: users.remove("id")},
		{Method: http.MethodPut, Path: member + "/activate", Tag: tag, Summary: "User Activate", Formats: formats,
			handle: userEvent(users, "activate", composition.UserActive, composition.UserPending)},
		{Method: http.MethodPut, Path: member + "/suspend", Tag: tag, Summary: "User Suspend", Formats: formats,
			handle: userEvent(users, "suspend", composition.UserSuspended, composition.UserPending, composition.UserActive)},
		{Method: http.MethodPut, Path: member + "/unsuspend", Tag: tag, Summary: "User Unsuspend", Formats: formats,
			handle: userEvent(users, "unsuspend", composition.UserActive, composition.UserSuspended)},
		{Method: http.MethodPut, Path: member + "/admin", Tag: tag, Summary: "User change Role to Admin", Formats: formats,
			handle: userRole(users, composition.RoleAdmin)},
		{Method: http.MethodPut, Path: member + "/member", Tag: tag, Summary: "User Change Role to Member", Formats: formats,
			handle: userRole(users, composition.RoleMember)},
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
			var state, role string
			if filtered {
				state, _ = c.params.Get("state")
				role, _ = c.params.Get("role")
			}
			return func(u *composition.User) bool {
					return u.AccountID == id && (state == "" || u.State == state) && (role == "" || u.Role == role)
				},
				func(u *composition.User) { u.AccountID = id }, nil
		},
	}
}

// createUser is a collection create that also requires a password.
func createUser(users *collection[composition.User, *composition.User]) func(*call) error {
	return func(c *call) error {
		n := &composition.User{}
		_, err := c.update(func(tx *composition.Tx) error {
			_, attach, err := users.scoped(c, tx.View())
			if err != nil {
				return err
			}
			if err := c.bind(n, true); err != nil {
				return err
			}
			attach(n)
			return requirePassword(n, tx.Create(n))
		})
		if err != nil {
			return err
		}
		return c.one("user", n)
	}
}

// userEvent moves a user to state, from one of the states 3scale's user
// state machine allows for the event.
func userEvent(users *collection[composition.User, *composition.User], event, to string, from ...string) func(*call) error {
	return func(c *call) error {
		n, err := users.modify(c, "id", func(_ *composition.Tx, n, _ *composition.User) error {
			if !slices.Contains(from, n.State) {
				return composition.Invalid("state", "cannot "+event+" a user that is "+n.State)
			}
			n.State = to
			return nil
		})
		if err != nil {
			return err
		}
		return c.one("user", n)
	}
}

func userRole(users *collection[composition.User, *composition.User], role string) func(*call) error {
	return func(c *call) error {
		n, err := users.modify(c, "id", func(_ *composition.Tx, n, _ *composition.User) error {
			n.Role = role
			return nil
		})
		if err != nil {
			return err
		}
		return c.one("user", n)
	}
}
