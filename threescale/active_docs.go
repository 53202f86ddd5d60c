package threescale

import (
	"github.com/portolan/portolan/composition"
)

// ActiveDocs: OpenAPI documents, optionally bound to a service. 3scale names
// them api_doc/api_docs on the wire.

func (a *API) activeDocRoutes() []Route {
	col := &collection[composition.ActiveDoc, *composition.ActiveDoc]{
		kind:  composition.KindActiveDoc,
		names: fixedNames("api_doc", "api_docs"),
		table: func(c *composition.Composition) *composition.Table[*composition.ActiveDoc] { return &c.ActiveDocs },
	}
	return col.routes("Active Docs", "ActiveDocs Spec", "/admin/api/active_docs", "id")
}
