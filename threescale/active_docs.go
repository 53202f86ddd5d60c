package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// ActiveDocs: OpenAPI documents, optionally bound to a service. 3scale names
// them api_doc/api_docs on the wire.
//
// A member's docs are those of no service or of a service it reaches, as
// porta finds them through permitted_for(current_user): another service's
// doc is not found. Binding one to a service out of reach is porta's 422
// "Service not found" (new_service_id_permitted), on create and update.

func (a *API) activeDocRoutes() []Route {
	col := &collection[composition.ActiveDoc, *composition.ActiveDoc]{
		kind:  composition.KindActiveDoc,
		names: fixedNames("api_doc", "api_docs"),
		table: func(c *composition.Composition) *composition.Table[*composition.ActiveDoc] { return &c.ActiveDocs },
		scope: func(c *call, _ *composition.Composition) (func(*composition.ActiveDoc) bool, func(*composition.ActiveDoc), error) {
			return func(d *composition.ActiveDoc) bool { return d.ServiceID == 0 || c.reaches(d.ServiceID) },
				func(*composition.ActiveDoc) {}, nil
		},
		prepare: func(c *call, _ *composition.Tx, n, _ *composition.ActiveDoc) error {
			if n.ServiceID != 0 && !c.reaches(n.ServiceID) {
				return &statusError{status: http.StatusUnprocessableEntity, msg: "Service not found"}
			}
			return nil
		},
	}
	return col.routes("Active Docs", "ActiveDocs Spec", "/admin/api/active_docs", "id")
}
