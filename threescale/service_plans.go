package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

type servicePlanCollection = collection[composition.ServicePlan, *composition.ServicePlan]

// servicePlans is the service plans of the service at the path wildcard
// param ("id" on the list, "service_id" on a member, as 3scale's paths
// have them), or of every service when param is "".
func servicePlans(param string) *servicePlanCollection {
	col := &servicePlanCollection{
		kind:    composition.KindServicePlan,
		names:   fixedNames("service_plan", "plans"),
		table:   func(c *composition.Composition) *composition.Table[*composition.ServicePlan] { return &c.ServicePlans },
		prepare: prepareServicePlan,
		view:    servicePlanView,
		unpaged: true, // 3scale lists service plans whole
	}
	if param != "" {
		col.scope = func(c *call, s *composition.Composition) (func(*composition.ServicePlan) bool, func(*composition.ServicePlan), error) {
			sid, err := ownerOf(c, s, composition.OwnerService, param)
			if err != nil {
				return nil, nil, err
			}
			return func(p *composition.ServicePlan) bool { return p.ServiceID == sid },
				func(p *composition.ServicePlan) { p.ServiceID = sid }, nil
		}
	}
	col.scope = reachable(col.scope, func(p *composition.ServicePlan) int64 { return p.ServiceID })
	return col
}

func (a *API) servicePlanRoutes() []Route {
	const tag = "Service Plans"
	formats := []Format{JSON, XML}
	list, member := servicePlans("id"), servicePlans("service_id")
	base := "/admin/api/services/{id}/service_plans"
	one := "/admin/api/services/{service_id}/service_plans/{id}"
	features := "/admin/api/service_plans/{service_plan_id}/features"
	rs := []Route{
		{Method: http.MethodGet, Path: "/admin/api/service_plans", Tag: tag, Summary: "Service Plan List (all services)",
			Formats: formats, handle: servicePlans("").list},
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: "Service Plan List", Formats: formats, handle: list.list},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: "Service Plan Create", Formats: formats,
			Status: http.StatusCreated, handle: list.create},
		{Method: http.MethodGet, Path: one, Tag: tag, Summary: "Service Plan Read", Formats: formats, handle: member.read("id")},
		{Method: http.MethodPut, Path: one, Tag: tag, Summary: "Service Plan Update", Formats: formats, handle: member.update("id")},
		{Method: http.MethodDelete, Path: one, Tag: tag, Summary: "Service Plan Delete", Formats: formats, handle: member.remove("id")},
		{Method: http.MethodPut, Path: one + "/default", Tag: tag, Summary: "Service Plan Set to Default", Formats: formats,
			handle: member.change("id", func(_ *call, _ *composition.Tx, n, _ *composition.ServicePlan) error {
				n.Default = true
				return nil
			})},
	}
	return append(rs, planFeatureRoutes(tag, features,
		"Service Plan Feature List", "Service Plan Feature Enable", "Service Plan Feature Disable", idOf(servicePlanOf))...)
}

// prepareServicePlan applies state_event, 3scale's only way to publish or
// hide a plan. 3scale takes name, approval_required and state_event (and
// system_name on create) and ignores the rest, as Bind does with the
// read-only fields.
func prepareServicePlan(c *call, _ *composition.Tx, n, _ *composition.ServicePlan) error {
	ev, ok := c.params.Get("state_event")
	if !ok || ev == "" {
		return nil
	}
	switch ev {
	case "publish":
		n.State = composition.PlanPublished
	case "hide":
		n.State = composition.PlanHidden
	default:
		return composition.Invalid("state_event", "is not included in the list (publish, hide)")
	}
	return nil
}

// servicePlanWire adds the type element of 3scale's plan XML.
type servicePlanWire struct {
	*composition.ServicePlan
	Type string `json:"type"`
}

// servicePlanView names a service plan "service_plan" in JSON and "plan"
// (custom and default as attributes, type service_plan) in XML, as 3scale's
// Plan#to_xml does.
func servicePlanView(c *call, p *composition.ServicePlan) (string, any) {
	if c.format == XML {
		return "plan", servicePlanWire{ServicePlan: p, Type: "service_plan"}
	}
	return "service_plan", p
}

// servicePlanOf resolves the service plan at {service_plan_id}.
func servicePlanOf(c *call, s *composition.Composition) (*composition.ServicePlan, error) {
	id, err := c.id("service_plan_id")
	if err != nil {
		return nil, err
	}
	return get(&s.ServicePlans, id)
}
