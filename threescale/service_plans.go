package threescale

import (
	"net/http"
	"strconv"

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
	return col
}

func (a *API) servicePlanRoutes() []Route {
	const tag = "Service Plans"
	formats := []Format{JSON, XML}
	list, member := servicePlans("id"), servicePlans("service_id")
	base := "/admin/api/services/{id}/service_plans"
	one := "/admin/api/services/{service_id}/service_plans/{id}"
	features := "/admin/api/service_plans/{service_plan_id}/features"
	return []Route{
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
		{Method: http.MethodGet, Path: features, Tag: tag, Summary: "Service Plan Feature List",
			Formats: formats, handle: listServicePlanFeatures},
		{Method: http.MethodPost, Path: features, Tag: tag, Summary: "Service Plan Feature Enable",
			Formats: formats, Status: http.StatusCreated, handle: enableServicePlanFeature},
		{Method: http.MethodDelete, Path: features + "/{id}", Tag: tag, Summary: "Service Plan Feature Disable",
			Formats: formats, handle: disableServicePlanFeature},
	}
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

// listServicePlanFeatures answers the features the service plan enables.
func listServicePlanFeatures(c *call) error {
	s := c.snapshot()
	plan, err := servicePlanOf(c, s)
	if err != nil {
		return err
	}
	features := s.PlanFeatures(plan.ID)
	items := make([]viewItem, len(features))
	for i, f := range features {
		items[i].name, items[i].v = featureView(c, f)
	}
	return writeViewList(c, "features", items)
}

// enableServicePlanFeature enables the feature feature_id on the service
// plan and answers the feature: as in 3scale, one that is missing or not of
// the plan's service is 404, one for application plans 422 (plan_type
// mismatch).
func enableServicePlanFeature(c *call) error {
	v, _ := c.params.Get("feature_id")
	featureID, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return ErrNotFound
	}
	var f *composition.Feature
	_, err = c.update(func(tx *composition.Tx) error {
		plan, err := servicePlanOf(c, tx.View())
		if err != nil {
			return err
		}
		f, err = tx.EnableFeature(featureID, plan.ID)
		return err
	})
	if err != nil {
		return err
	}
	return c.one(featureView(c, f))
}

// disableServicePlanFeature disables the feature at {id} on the service
// plan; one the plan does not enable is 404.
func disableServicePlanFeature(c *call) error {
	_, err := c.update(func(tx *composition.Tx) error {
		plan, err := servicePlanOf(c, tx.View())
		if err != nil {
			return err
		}
		id, err := c.id("id")
		if err != nil {
			return err
		}
		return tx.DisableFeature(id, plan.ID)
	})
	if err != nil {
		return err
	}
	return c.empty()
}
