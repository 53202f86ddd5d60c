package threescale

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portolan/portolan/composition"
)

// Provider Users: the users of the provider's own account (3scale's admin
// portal team), stored as users of account composition.ProviderAccountID
// and shaped as 3scale shapes developer users. A new one is a pending
// member and needs an email, not a password (porta's signup_type
// :created_by_provider); passwords are hashed before they are bound and
// never rendered. A member's permissions (the admin portal sections and the
// services it may use) are stored and answered, and bind the access tokens
// the member owns (permissions.go).

func (a *API) providerUserRoutes() []Route {
	const tag = "Provider Users"
	formats := []Format{JSON, XML}
	users := providerUsers(false)
	base := "/admin/api/users"
	member := base + "/{id}"
	const of = " (provider account)"
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "User List" + of, Formats: formats, handle: providerUsers(true).list},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "User Create" + of, Formats: formats, Status: http.StatusCreated, handle: users.create},
		{Method: http.MethodGet, Path: member, Tag: tag, Summary: "User Read" + of, Formats: formats, handle: users.read("id")},
		{Method: http.MethodPut, Path: member, Tag: tag, Summary: "User Update" + of, Formats: formats, handle: users.update("id")},
		{Method: http.MethodDelete, Path: member, Tag: tag, Summary: "User Delete" + of, Formats: formats, handle: users.remove("id")},
		{Method: http.MethodPut, Path: member + "/activate", Tag: tag, Summary: "User Activate" + of, Formats: formats,
			handle: users.change("id", userEvent("activate", composition.UserActive, composition.UserPending))},
		{Method: http.MethodPut, Path: member + "/admin", Tag: tag, Summary: "User Change Role to Admin" + of, Formats: formats,
			handle: users.change("id", userRole(composition.RoleAdmin))},
		{Method: http.MethodPut, Path: member + "/member", Tag: tag, Summary: "User Change Role to Member" + of, Formats: formats,
			handle: users.change("id", userRole(composition.RoleMember))},
		{Method: http.MethodGet, Path: member + "/permissions", Tag: tag, Summary: "User Permissions Read", Formats: formats,
			handle: readPermissions(users)},
		{Method: http.MethodPut, Path: member + "/permissions", Tag: tag, Summary: "User Permissions Update", Formats: formats,
			handle: updatePermissions(users)},
		{Method: http.MethodPut, Path: member + "/suspend", Tag: tag, Summary: "User Suspend" + of, Formats: formats,
			handle: suspendUser(users)},
		{Method: http.MethodPut, Path: member + "/unsuspend", Tag: tag, Summary: "User Unsuspend" + of, Formats: formats,
			handle: users.change("id", userEvent("unsuspend", composition.UserActive, composition.UserSuspended))},
	}
}

type userCollectionT = collection[composition.User, *composition.User]

// providerUsers is the users of the provider's account; filtered, it keeps
// those matching the state and role parameters (User List's filters).
func providerUsers(filtered bool) *userCollectionT {
	return &userCollectionT{
		kind:  composition.KindUser,
		names: fixedNames("user", "users"),
		table: func(c *composition.Composition) *composition.Table[*composition.User] { return &c.Users },
		scope: func(c *call, _ *composition.Composition) (func(*composition.User) bool, func(*composition.User), error) {
			keep := userListFilter(c, filtered)
			return func(u *composition.User) bool { return u.AccountID == composition.ProviderAccountID && keep(u) },
				func(u *composition.User) { u.AccountID = composition.ProviderAccountID }, nil
		},
		insert: func(tx *composition.Tx, u *composition.User) error { return requireEmail(u, tx.Create(u)) },
		prepare: func(_ *call, _ *composition.Tx, n, old *composition.User) error {
			if old != nil && n.Email == "" {
				return composition.Invalid("email", "can't be blank")
			}
			return nil
		},
	}
}

// permissionsWire is porta's MemberPermissionsRepresenter: sections sorted,
// allowed_service_ids null (JSON) or absent (XML) when every service is
// allowed, and in JSON a link to the user. In XML each list is wrapped and
// its items are admin_section and allowed_service_id.
type permissionsWire struct {
	UserID            int64    `json:"user_id"`
	Role              string   `json:"role"`
	AllowedSections   []string `json:"allowed_sections" wire:"item=admin_section"`
	AllowedServiceIDs *[]int64 `json:"allowed_service_ids" wire:"item=allowed_service_id"`
	Links             []link   `json:"links,omitempty"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// memberPermissions are what a user may use: an admin every section and
// every service, a member what it was allowed.
func memberPermissions(u *composition.User) (sections []string, services *[]int64) {
	if u.Role == composition.RoleAdmin {
		return slices.Clone(composition.AdminSections), nil
	}
	sections = slices.Clone(u.AllowedSections)
	slices.Sort(sections)
	if sections == nil {
		sections = []string{}
	}
	return sections, u.AllowedServiceIDs
}

func writePermissions(c *call, u *composition.User) error {
	sections, services := memberPermissions(u)
	w := permissionsWire{UserID: u.ID, Role: u.Role, AllowedSections: sections, AllowedServiceIDs: services}
	if c.format == JSON {
		w.Links = []link{{Rel: "user", Href: c.baseString() + "/admin/api/accounts/" +
			strconv.FormatInt(u.AccountID, 10) + "/users/" + strconv.FormatInt(u.ID, 10)}}
	}
	return c.one("permissions", w)
}

func readPermissions(users *userCollectionT) func(*call) error {
	return func(c *call) error {
		u, err := users.find(c, c.snapshot(), "id")
		if err != nil {
			return err
		}
		return writePermissions(c, u)
	}
}

// updatePermissions sets a user's allowed sections and services from
// allowed_sections[] and allowed_service_ids[] (also under permissions[...]
// or in a JSON body). As in 3scale, allowed_service_ids[] with no id (an
// empty value, or "[]") allows no service, and allowed_service_ids without
// brackets and without a value allows every service; a list not sent is
// left alone. An admin's permissions are all and change with no user's
// token (403); a token of no user may still set them.
func updatePermissions(users *userCollectionT) func(*call) error {
	return func(c *call) error {
		p := c.params
		if p.hasPrefix("permissions[") {
			p = p.sub("permissions")
		}
		secs, setSections, err := permissionList(p, "allowed_sections")
		if err != nil {
			return err
		}
		ids, setServices, err := permissionList(p, "allowed_service_ids")
		if err != nil {
			return err
		}
		var services *[]int64
		if setServices && ids != nil {
			list := make([]int64, 0, len(ids))
			for _, s := range ids {
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return composition.Invalid("allowed_service_ids", "is invalid")
				}
				if !slices.Contains(list, id) {
					list = append(list, id)
				}
			}
			services = &list
		}
		g, _ := GrantFrom(c.r.Context())
		u, err := users.modify(c, "id", func(_ *composition.Tx, n, old *composition.User) error {
			if g.UserID != 0 && old.Role == composition.RoleAdmin {
				// porta: "nobody can change user permissions of a provider
				// admin" (provider_admin.rb); the provider_key may.
				return Forbidden(errPermission)
			}
			if setSections {
				if secs == nil {
					secs = []string{}
				}
				n.AllowedSections = slices.Compact(slices.Sorted(slices.Values(secs)))
			}
			if setServices {
				n.AllowedServiceIDs = services
			}
			return nil
		})
		if err != nil {
			return err
		}
		return writePermissions(c, u)
	}
}

// permissionList reads a permission list param: set reports whether it was
// sent at all; a nil list with set means "no list" (every service), a
// non-nil empty one "none". Empty values and "[]" name nothing.
func permissionList(p *Params, key string) (list []string, set bool, err error) {
	if raw, ok := p.Raw(key); ok {
		switch jsonValueKind(raw) {
		case 'n':
			return nil, true, nil
		case '[':
			vs, err := listParamValues(p, key, key)
			if err != nil {
				return nil, false, err
			}
			return append([]string{}, vs...), true, nil
		}
	}
	if p.Has(key + "[]") {
		out := []string{}
		for _, v := range p.All(key + "[]") {
			if v = strings.TrimSpace(v); v != "" && v != "[]" {
				out = append(out, v)
			}
		}
		return out, true, nil
	}
	if p.Has(key) {
		vs := p.All(key)
		out := []string{}
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" && v != "[]" {
				out = append(out, v)
			}
		}
		if len(out) == 0 && !slices.Contains(vs, "[]") {
			return nil, true, nil // "key=" with no value: no list
		}
		return out, true, nil
	}
	return nil, false, nil
}
