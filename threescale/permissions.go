package threescale

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portolan/portolan/composition"
)

// What a provider member's access token may do, as porta's abilities allow
// API calls made with it (provider_member.rb, provider_any.rb, the API
// controllers' authorize! calls, AccessToken::Scope#permission_name):
//
//   - a token's scope counts only while its user holds the scope's admin
//     section: account_management needs partners, stats monitoring,
//     policy_registry policy_registry (porta's allowed_scopes), so a
//     member without partners can make no Account Management API call;
//   - account plans, service plans, backend APIs and ActiveDocs need plans
//     as well (authorize_account_plans!, authorize_service_plans!,
//     BackendApi, authorize_api_docs);
//     application plans, their limits, pricing rules and features need
//     partners only, as in porta, whose API checks no more for them;
//   - the provider's users, their roles and permissions, deleting a service
//     or creating or deleting a backend API, deleting, approving or
//     rejecting a developer account or creating its users, the Master API
//     and Portolan's own admin API are the admins'; a member may read and
//     change itself, read its own permissions and make its own tokens;
//   - a user's token, an admin's too, may neither delete its own user nor
//     change its role (porta's "can't destroy or update role of myself"),
//     and changes no admin's permissions (provider_users.go);
//   - with allowed_service_ids, a service outside the list, its plans, its
//     applications and its ActiveDocs are not found (404), as porta looks
//     them up in the user's accessible_services.
//
// An admin user's token has every right, as do tokens of no user (the
// bootstrap token, personal tokens of the provider admin). A suspended
// user's tokens are refused outright. Rights are read from the snapshot the
// request is checked against, so a change of role, permissions or state
// holds from the next call on.

// Sections a route may need (Route.Section) beyond its scope: porta's admin
// sections, and two of Portolan's for what no section opens.
const (
	sectionPartners       = "partners"
	sectionMonitoring     = "monitoring"
	sectionPlans          = "plans"
	sectionPolicyRegistry = "policy_registry"
	sectionPortal         = "portal"
	// sectionAdmin routes are refused to every member.
	sectionAdmin = "admin"
	// sectionSelf routes name a provider user ({id} or {user_id}): a
	// member may call them on itself only.
	sectionSelf = "self"
)

// scopeSection is the admin section a member needs for a token scope to
// count (porta's AccessToken::Scope#permission_name).
func scopeSection(scope string) string {
	switch scope {
	case composition.ScopeAccountManagement:
		return sectionPartners
	case composition.ScopeStats:
		return sectionMonitoring
	case "cms":
		return sectionPortal
	}
	return scope // finance, policy_registry: the section of the same name
}

// sectionOf is the admin section a member needs for the route method path,
// besides its scope's (scopeSection): the one place that maps routes to
// sections, as scopeOf maps them to scopes.
func sectionOf(method, path string) string {
	const api = "/admin/api"
	rest, ok := strings.CutPrefix(path, api)
	if !ok {
		return sectionAdmin // the Master API
	}
	switch {
	case strings.HasPrefix(rest, "/registry/"):
		return sectionPolicyRegistry
	case rest == "/users":
		return sectionAdmin // list (:manage, :multiple_users) and create
	case rest == "/users/{id}/permissions":
		if method == http.MethodGet {
			return sectionSelf
		}
		return sectionAdmin // members cannot :update_permissions
	case rest == "/users/{id}" && method == http.MethodDelete,
		rest == "/users/{id}/admin", rest == "/users/{id}/member":
		return sectionAdmin // destroy, update_role
	case strings.HasPrefix(rest, "/users/{"):
		return sectionSelf
	case rest == "/services/{id}" && method == http.MethodDelete:
		return sectionAdmin // authorize!(:destroy, service)
	case rest == "/accounts/{id}" && method == http.MethodDelete,
		rest == "/accounts/{id}/approve", rest == "/accounts/{id}/reject",
		rest == "/accounts/{account_id}/users" && method == http.MethodPost:
		return sectionAdmin // admin.rb: the admins'; partners gives update (provider_member.rb)
	case rest == "/backend_apis" && method == http.MethodPost,
		rest == "/backend_apis/{id}" && method == http.MethodDelete:
		return sectionAdmin // plans gives index, show, edit, update only
	case strings.HasPrefix(rest, "/backend_apis"),
		strings.HasPrefix(rest, "/active_docs"), // authorize_api_docs: :manage, :plans
		strings.HasPrefix(rest, "/account_plans"),
		strings.HasPrefix(rest, "/service_plans"),
		strings.HasPrefix(rest, "/services/{id}/service_plans"),
		strings.HasPrefix(rest, "/services/{service_id}/service_plans"):
		return sectionPlans
	}
	return sectionPartners
}

// selfRoutes are the provider user routes a user's token may not call on
// its own user: delete, and the role changes (admin.rb: "Admin can't
// delete himself/herself. Admin can't change his/her role.").
var selfRoutes = map[string]bool{
	http.MethodDelete + " /admin/api/users/{id}":     true,
	http.MethodPut + " /admin/api/users/{id}/admin":  true,
	http.MethodPut + " /admin/api/users/{id}/member": true,
}

// allowsOnSelf refuses, 403, a user's token deleting its own user or
// changing its own role; tokens of no user are the provider's, as porta's
// provider_key, and may. The id is read as the handler reads it (call.id),
// so "02" or "+2" names user 2 here as there.
func (g Grant) allowsOnSelf(rt *Route, r *http.Request) error {
	if g.UserID == 0 || !selfRoutes[rt.Method+" "+rt.Path] {
		return nil
	}
	if id, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err == nil && id == g.UserID {
		return Forbidden(errPermission)
	}
	return nil
}

// memberRights are a member user's, from one snapshot; nil means every
// right (no user, or an admin).
type memberRights struct {
	userID   int64
	sections []string
	services *[]int64 // nil: every service
	snap     *composition.Snapshot
}

// rightsOf returns u's rights in snap, nil for an admin; ok is false for a
// user whose tokens are refused: suspended, or not a provider user.
func rightsOf(u *composition.User, snap *composition.Snapshot) (m *memberRights, ok bool) {
	if u.AccountID != composition.ProviderAccountID || u.State == composition.UserSuspended {
		return nil, false
	}
	if u.Role == composition.RoleAdmin {
		return nil, true
	}
	return &memberRights{userID: u.ID, sections: u.AllowedSections, services: u.AllowedServiceIDs, snap: snap}, true
}

// has reports whether the rights include section; nil rights have them all.
func (m *memberRights) has(section string) bool {
	return m == nil || slices.Contains(m.sections, section)
}

// service reports whether the rights reach service id.
func (m *memberRights) service(id int64) bool {
	return m == nil || m.services == nil || slices.Contains(*m.services, id)
}

// allowsRoute checks what the route needs beyond its scope: 403 for a
// section the member lacks or a user not its own, 404 for a service out of
// its reach.
func (m *memberRights) allowsRoute(rt *Route, r *http.Request) error {
	if m == nil {
		return nil
	}
	switch rt.Section {
	case sectionAdmin:
		return Forbidden(errPermission)
	case sectionSelf:
		id := r.PathValue("id")
		if id == "" {
			id = r.PathValue("user_id")
		}
		if id != strconv.FormatInt(m.userID, 10) {
			return Forbidden(errPermission)
		}
	default:
		if !m.has(rt.Section) {
			return Forbidden(errPermission)
		}
	}
	if id, ok := m.serviceOfRoute(rt.Path, r.PathValue); ok && !m.service(id) {
		return ErrNotFound
	}
	return nil
}

// serviceOfRoute returns the service a route's path names, directly or
// through a plan or an application of it; ok is false for routes of no
// service, or naming one that does not exist (the handler answers that).
func (m *memberRights) serviceOfRoute(pattern string, value func(string) string) (int64, bool) {
	num := func(name string) int64 {
		v, _ := strconv.ParseInt(value(name), 10, 64)
		return v
	}
	s := m.snap
	switch {
	case strings.Contains(pattern, "{service_id}"):
		return num("service_id"), true
	case strings.HasPrefix(pattern, "/admin/api/services/{id}"):
		return num("id"), true
	case strings.Contains(pattern, "{application_plan_id}"):
		if p, ok := s.ApplicationPlans.Get(num("application_plan_id")); ok {
			return p.ServiceID, true
		}
	case strings.Contains(pattern, "{service_plan_id}"):
		if p, ok := s.ServicePlans.Get(num("service_plan_id")); ok {
			return p.ServiceID, true
		}
	case strings.HasPrefix(pattern, "/admin/api/accounts/{account_id}/applications/{application_id}"):
		return m.serviceOfApplication(num("application_id"))
	case strings.HasPrefix(pattern, "/admin/api/accounts/{account_id}/applications/{id}"):
		return m.serviceOfApplication(num("id"))
	}
	return 0, false
}

func (m *memberRights) serviceOfApplication(id int64) (int64, bool) {
	if a, ok := m.snap.Applications.Get(id); ok {
		return a.ServiceID, true
	}
	return 0, false
}

// allowsStatsPath applies the service restriction to an Analytics API path
// (/stats/services/{id}/..., /stats/applications/{id}/...): porta finds
// the service among the user's accessible ones, or answers 404. Backend
// APIs belong to no service and stay readable.
func (m *memberRights) allowsStatsPath(path string) error {
	if m == nil {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) < 3 || segs[0] != "stats" {
		return nil
	}
	id, _ := strconv.ParseInt(segs[2], 10, 64)
	sid, ok := id, segs[1] == "services"
	if segs[1] == "applications" {
		sid, ok = m.serviceOfApplication(id)
	}
	if ok && !m.service(sid) {
		return ErrNotFound
	}
	return nil
}

// entityScope is a collection's scope (collection.scope).
type entityScope[P any] = func(*call, *composition.Composition) (func(P) bool, func(P), error)

// reachable narrows scope (nil: every entity) to the entities of the
// services the call's grant reaches: a member lists and finds those only,
// as porta looks them up from the user's accessible_services.
func reachable[P any](scope entityScope[P], serviceOf func(P) int64) entityScope[P] {
	return func(c *call, s *composition.Composition) (func(P) bool, func(P), error) {
		belongs, attach := func(P) bool { return true }, func(P) {}
		if scope != nil {
			var err error
			if belongs, attach, err = scope(c, s); err != nil {
				return nil, nil, err
			}
		}
		if g, _ := GrantFrom(c.r.Context()); g.member != nil {
			return func(e P) bool { return belongs(e) && g.member.service(serviceOf(e)) }, attach, nil
		}
		return belongs, attach, nil
	}
}

// reaches reports whether the call's grant reaches service id.
func (c *call) reaches(id int64) bool {
	g, _ := GrantFrom(c.r.Context())
	return g.member.service(id)
}
