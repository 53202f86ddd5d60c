package threescale

import (
	"net/http"
	"slices"

	"github.com/portolan/portolan/composition"
)

// maxPlacementBytes bounds a placement document.
const maxPlacementBytes = 64 << 10

// placementInput is what a client may set on a placement; a PUT replaces
// all of it.
type placementInput struct {
	Name      string               `json:"name"`
	Selector  composition.Selector `json:"selector"`
	ServiceID int64                `json:"service_id"`
	PlanIDs   []int64              `json:"plan_ids"`
}

// HandlePlacements serves placements, Portolan's own addition to the 3scale
// model, as plain JSON under /admin/portolan/placements on mux: list,
// create, read, update (PUT) and delete. The caller checks the token.
func (a *API) HandlePlacements(mux *http.ServeMux) {
	col := &collection[composition.Placement, *composition.Placement]{
		kind:    composition.KindPlacement,
		names:   fixedNames("placement", "placements"),
		table:   func(c *composition.Composition) *composition.Table[*composition.Placement] { return &c.Placements },
		unpaged: true,
		decode: func(c *call) (func(*composition.Placement), error) {
			var in placementInput
			if err := DecodeJSON(c.w, c.r, &in, maxPlacementBytes, "malformed placement"); err != nil {
				return nil, err
			}
			return func(p *composition.Placement) {
				p.Name, p.Selector, p.ServiceID, p.PlanIDs = in.Name, in.Selector, in.ServiceID, in.PlanIDs
			}, nil
		},
	}
	routes := col.routes("Placement", "Placement", "/admin/portolan/placements", "id")
	// 3scale updates with PATCH too; placements never did.
	routes = slices.DeleteFunc(routes, func(rt Route) bool { return rt.Method == http.MethodPatch })
	a.handleOwn(mux, routes)
}
