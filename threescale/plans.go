package threescale

import (
	"net/http"
	"strconv"
	"strings"
	"time"

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
		scope: reachable(nil, func(p *composition.ApplicationPlan) int64 { return p.ServiceID }),
		view:  planView,
	}
	base := "/admin/api/services/{service_id}/application_plans"
	rs := plans.routes(tag, "Application Plan", base, "id", JSON, XML)
	return append(rs,
		Route{Method: http.MethodPut, Path: base + "/{id}/default", Tag: tag, Summary: "Application Plan Set to Default",
			Formats: []Format{JSON, XML}, handle: plans.change("id", setDefaultPlan)},
		Route{Method: http.MethodGet, Path: "/admin/api/application_plans", Tag: tag, Summary: "Application Plan List (all services)",
			Formats: []Format{JSON, XML}, handle: all.list},
		Route{Method: http.MethodPut, Path: "/admin/api/accounts/{account_id}/applications/{id}/customize_plan", Tag: "Account Applications",
			Summary: "Application Create Plan Customization", Formats: []Format{JSON, XML}, handle: customizePlan},
		Route{Method: http.MethodPut, Path: "/admin/api/accounts/{account_id}/applications/{id}/decustomize_plan", Tag: "Account Applications",
			Summary: "Application Delete Plan Customization", Formats: []Format{JSON, XML}, handle: decustomizePlan},
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
	if b, ok := parseBool(s); ok {
		return b, true, nil
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

// customizePlan gives the application at {id} of the account at
// {account_id} a custom plan, as 3scale's customize_plan does: a hidden copy
// of its plan named "<name> (custom)", system_name
// "<system_name>_custom_<time>", with the plan's limits, pricing rules and
// features, which the application moves to. An application already on a
// custom plan keeps it. The answer is the custom plan.
func customizePlan(c *call) error {
	var plan *composition.ApplicationPlan
	_, err := c.update(func(tx *composition.Tx) error {
		app, err := accountApp(c, tx.View())
		if err != nil {
			return err
		}
		plan, err = customize(tx, app, time.Now())
		return err
	})
	if err != nil {
		return err
	}
	return c.one(planView(c, plan))
}

// customize moves app to a custom copy of its plan, made at now.
func customize(tx *composition.Tx, app *composition.Application, now time.Time) (*composition.ApplicationPlan, error) {
	s := tx.View()
	orig, err := get(&s.ApplicationPlans, app.PlanID)
	if err != nil {
		return nil, err
	}
	if orig.Custom {
		return orig, nil
	}
	custom := *orig
	custom.ID, custom.Default, custom.State, custom.OriginalID = 0, false, composition.PlanHidden, orig.ID
	custom.Name = orig.Name + " (custom)"
	custom.SystemName = orig.SystemName + "_custom_" + randomized(now)
	if err := tx.Create(&custom); err != nil {
		return nil, err
	}
	for _, l := range s.UsageLimits.Filter(func(l *composition.UsageLimit) bool { return l.PlanID == orig.ID }) {
		n := *l
		n.ID, n.PlanID = 0, custom.ID
		if err := tx.Create(&n); err != nil {
			return nil, err
		}
	}
	for _, r := range s.PricingRules.Filter(func(r *composition.PricingRule) bool { return r.PlanID == orig.ID }) {
		n := *r
		n.ID, n.PlanID = 0, custom.ID
		if err := tx.Create(&n); err != nil {
			return nil, err
		}
	}
	for _, f := range s.PlanFeatures(orig.ID) {
		if _, err := tx.EnableFeature(f.ID, custom.ID); err != nil {
			return nil, err
		}
	}
	moved := *app
	moved.PlanID = custom.ID
	if err := tx.Update(&moved); err != nil {
		return nil, err
	}
	return &custom, nil
}

// randomized is the suffix 3scale gives a custom plan's system_name: the
// time in seconds as a decimal with its point removed.
func randomized(now time.Time) string {
	return strings.Replace(strconv.FormatFloat(float64(now.UnixNano())/1e9, 'f', -1, 64), ".", "", 1)
}

// decustomizePlan moves the application at {id} of the account at
// {account_id} off its custom plan, back to the plan it was customized from,
// and deletes the custom plan, as 3scale's decustomize_plan does. An
// application on a stock plan stays on it. The answer is the application's
// plan.
func decustomizePlan(c *call) error {
	var plan *composition.ApplicationPlan
	_, err := c.update(func(tx *composition.Tx) error {
		s := tx.View()
		app, err := accountApp(c, s)
		if err != nil {
			return err
		}
		current, err := get(&s.ApplicationPlans, app.PlanID)
		if err != nil || !current.Custom {
			plan = current
			return err
		}
		if plan, err = get(&s.ApplicationPlans, current.OriginalID); err != nil {
			return err
		}
		moved := *app
		moved.PlanID = plan.ID
		return tx.Update(&moved) // the domain deletes the custom plan it leaves
	})
	if err != nil {
		return err
	}
	return c.one(planView(c, plan))
}

// accountApp resolves the application at {id} of the account at
// {account_id}; either missing is 404.
func accountApp(c *call, s *composition.Composition) (*composition.Application, error) {
	accountID, err := c.id("account_id")
	if err != nil {
		return nil, err
	}
	if _, err := get(&s.Accounts, accountID); err != nil {
		return nil, err
	}
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	app, err := get(&s.Applications, id)
	if err != nil || app.AccountID != accountID {
		return nil, ErrNotFound
	}
	return app, nil
}
