package threescale

import (
	"github.com/portolan/portolan/composition"
)

func (a *API) serviceRoutes() []Route {
	col := &collection[composition.Service, *composition.Service]{
		kind:  composition.KindService,
		names: fixedNames("service", "services"),
		table: func(c *composition.Composition) *composition.Table[*composition.Service] { return &c.Services },
		scope: reachable(nil, func(s *composition.Service) int64 { return s.ID }),
	}
	return col.routes("Service", "Service", "/admin/api/services", "id", JSON, XML)
}
