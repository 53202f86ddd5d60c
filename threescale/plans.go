package threescale

import (
	"net/http"
	"strings"

	"github.com/portolan/portolan/composition"
)

type planTable = composition.Table[*composition.ApplicationPlan]

func (a *API) planRoutes() []Route {
	const tag = "Application Plans"
	plans := planCollection()
	all := &collection[composition.ApplicationPlan, *composition.ApplicationPlan]{
		kind:  composition.KindApplicationPlan,
		names: planNames,
		table: func(c *composition.Composition) *planTable { return &c.ApplicationPlans },
		view:  planView,
	}
	base := "/admin/api/services/{service_id}/application_plans"
	rs := plans.routes(tag, "Application Plan", base, "id", JSON, XML)
	return append(rs,
		Route{Method: http.MethodPut, Path: base + "/{id}/default", Tag: tag, Summary: "Application Plan Set to Default",
			Formats: []Format{JSON, XML}, handle: plans.change("id", setDefaultPlan)},
		Route{Method: http.MethodGet, Path: "/admin/api/application_plans", Tag: tag, Summary: "Application Plan List (all services)",
			Formats: []Format{JSON, XML}, handle: all.list},
	)
}

// planCollection is the application plans of the service at {service_id}.
func planCollection() *collection[composition.ApplicationPlan, *composition.ApplicationPlan] {
	return &collection[composition.ApplicationPlan, *composition.ApplicationPlan]{
		kind:  composition.KindApplicationPlan,
		names: planNames,
		table: func(c *composition.Composition) *planTable { return &c.ApplicationPlans },
		scope: func(c *call, s *composition.Composition) (func(*composition.ApplicationPlan) bool, func(*composition.ApplicationPlan), error) {
			sid, err := ownerOf(c, s, composition.OwnerService, "service_id")
			if err != nil {
				return nil, nil, err
			}
			return func(p *composition.ApplicationPlan) bool { return p.ServiceID == sid },
				func(p *composition.ApplicationPlan) { p.ServiceID = sid }, nil
		},
		prepare: preparePlan,
		view:    planView,
	}
}

// preparePlan applies state_event (3scale's only way to change a plan's
// state) and default, which marks the service's default plan (the domain
// unsets the previous one).
func preparePlan(c *call, _ *composition.Tx, n, _ *composition.ApplicationPlan) error {
	if ev, ok := c.params.Get("state_event"); ok && ev != "" {
		switch ev {
		case "publish":
			n.State = composition.PlanPublished
		case "hide":
			n.State = composition.PlanHidden
		default:
			return composition.Invalid("state_event", "is not included in the list (publish, hide)")
		}
	}
	if b, ok, err := boolParam(c, "default"); err != nil {
		return err
	} else if ok {
		n.Default = b
	}
	return nil
}

// boolParam reads an optional boolean parameter the way Bind does.
func boolParam(c *call, key string) (value, ok bool, err error) {
	s, ok := c.params.Get(key)
	if !ok || s == "" {
		return false, false, nil
	}
	switch strings.ToLower(s) {
	case "true", "1":
		return true, true, nil
	case "false", "0":
		return false, true, nil
	}
	return false, false, &composition.FieldError{Field: key, Message: "is not a boolean"}
}

func planNames(f Format) (string, string) {
	if f == XML {
		return "plan", "plans"
	}
	return "application_plan", "plans"
}

// planWire adds the type element of 3scale's plan XML.
type planWire struct {
	*composition.ApplicationPlan
	Type string `json:"type"`
}

// planView names a plan "application_plan" in JSON and "plan" (with custom
// and default as attributes) in XML, as 3scale does.
func planView(c *call, p *composition.ApplicationPlan) (string, any) {
	name, _ := planNames(c.format)
	if c.format == XML {
		return name, planWire{ApplicationPlan: p, Type: "application_plan"}
	}
	return name, p
}

// setDefaultPlan makes n its service's default plan.
func setDefaultPlan(_ *call, _ *composition.Tx, n, _ *composition.ApplicationPlan) error {
	n.Default = true
	return nil
}
