package threescale

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// Object Deletion Status: whether an object 3scale deletes in the background
// (a service, account, proxy or backend API) is still there: 200 with no
// body while it is, 404 once it is gone. Portolan deletes at once, so the
// answer is whether the object exists. An object_type 3scale does not list is
// 403, as in 3scale; a missing parameter is 400.

func (a *API) objectRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/admin/api/objects/status", Tag: "Object Deletion Status",
			Summary: "Object deletion status for objects that are deleted asynchronously", handle: objectStatus},
	}
}

// objectTypes are the object_type values 3scale answers for.
func objectTypes() []string { return []string{"service", "proxy", "backend_api", "account"} }

// objectExists reports whether the object of type typ and id is stored. A
// proxy's id is its service's.
func objectExists(s *composition.Composition, typ string, id int64) (exists bool) {
	switch typ {
	case "service", "proxy":
		_, exists = s.Services.Get(id)
	case "backend_api":
		_, exists = s.BackendAPIs.Get(id)
	case "account":
		_, exists = s.Accounts.Get(id)
		exists = exists || id == composition.ProviderAccountID
	}
	return exists
}

func objectStatus(c *call) error {
	typ, ok := c.params.Get("object_type")
	if !ok || typ == "" {
		return BadRequest("param is missing or the value is empty: object_type")
	}
	if !slices.Contains(objectTypes(), typ) {
		return Forbidden("")
	}
	ref, ok := c.params.Get("object_id")
	if !ok || ref == "" {
		return BadRequest("param is missing or the value is empty: object_id")
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return ErrNotFound
	}
	if !objectExists(c.snapshot(), typ, id) {
		return ErrNotFound
	}
	return c.empty()
}
