package threescale

import (
	"strconv"

	"github.com/portolan/portolan/composition"
)

func (a *API) backendRoutes() []Route {
	backends := &collection[composition.BackendAPI, *composition.BackendAPI]{
		kind:  composition.KindBackendAPI,
		names: fixedNames("backend_api", "backend_apis"),
		table: func(c *composition.Composition) *composition.Table[*composition.BackendAPI] { return &c.BackendAPIs },
	}
	usages := &collection[composition.BackendUsage, *composition.BackendUsage]{
		kind: composition.KindBackendUsage,
		// 3scale lists backend usages as a bare JSON array.
		names: fixedNames("backend_usage", ""),
		table: func(c *composition.Composition) *composition.Table[*composition.BackendUsage] {
			return &c.BackendUsages
		},
		scope: func(c *call, s *composition.Composition) (func(*composition.BackendUsage) bool, func(*composition.BackendUsage), error) {
			id, err := ownerOf(c, s, composition.OwnerService, "service_id")
			if err != nil {
				return nil, nil, err
			}
			belongs := func(u *composition.BackendUsage) bool { return u.ServiceID == id }
			attach := func(u *composition.BackendUsage) { u.ServiceID = id }
			return belongs, attach, nil
		},
		prepare: prepareBackendUsage,
	}
	rs := backends.routes("Backend API", "Backend", "/admin/api/backend_apis", "id")
	return append(rs, usages.routes("Backend Usage", "Backend Usage", "/admin/api/services/{service_id}/backend_usages", "id")...)
}

// prepareBackendUsage takes the backend from backend_api_id, the create
// parameter (it is rendered as backend_id). 3scale finds it among the
// provider's backend APIs, so an unknown one is 404; the backend of a usage
// never changes.
func prepareBackendUsage(c *call, tx *composition.Tx, n, old *composition.BackendUsage) error {
	if old != nil {
		return nil
	}
	if v, ok := c.params.Get("backend_api_id"); ok {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return &composition.FieldError{Field: "backend_api_id", Message: "is not a number", Err: err}
		}
		n.BackendAPIID = id
	}
	if n.BackendAPIID == 0 {
		return composition.Invalid("backend_api_id", "can't be blank")
	}
	if _, ok := tx.View().BackendAPIs.Get(n.BackendAPIID); !ok {
		return ErrNotFound
	}
	return nil
}
