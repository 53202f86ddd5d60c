package threescale

import (
	"net/http"
	"strconv"
	"time"

	"github.com/portolan/portolan/composition"
)

type featureCollection = collection[composition.Feature, *composition.Feature]

// serviceFeatures is the features of the service at {service_id}: 3scale's
// Service Features. A new one is visible and for application plans unless
// the request says otherwise.
func serviceFeatures() *featureCollection {
	return &featureCollection{
		kind:  composition.KindFeature,
		names: fixedNames("feature", "features"),
		table: func(c *composition.Composition) *composition.Table[*composition.Feature] { return &c.Features },
		scope: func(c *call, s *composition.Composition) (func(*composition.Feature) bool, func(*composition.Feature), error) {
			sid, err := ownerOf(c, s, composition.OwnerService, "service_id")
			if err != nil {
				return nil, nil, err
			}
			return func(f *composition.Feature) bool {
					return f.OwnerType == composition.OwnerService && f.OwnerID == sid
				}, func(f *composition.Feature) {
					f.OwnerType, f.OwnerID = composition.OwnerService, sid
				}, nil
		},
		defaults: func(f *composition.Feature) {
			f.Visible, f.Scope = true, composition.ScopeApplicationPlan
		},
		view:    featureView,
		unpaged: true, // 3scale lists a service's features whole
	}
}

func (a *API) featureRoutes() []Route {
	formats := []Format{JSON, XML}
	rs := serviceFeatures().routes("Service Features", "Service Feature", "/admin/api/services/{service_id}/features", "id", formats...)
	const tag = "Application Plans"
	base := "/admin/api/application_plans/{application_plan_id}/features"
	return append(rs,
		Route{Method: http.MethodGet, Path: base, Tag: tag, Summary: "Application Plan Feature List",
			Formats: formats, handle: listPlanFeatures},
		Route{Method: http.MethodPost, Path: base, Tag: tag, Summary: "Application Plan Feature Enable",
			Formats: formats, Status: http.StatusCreated, handle: enablePlanFeature},
		Route{Method: http.MethodDelete, Path: base + "/{id}", Tag: tag, Summary: "Application Plan Feature Disable",
			Formats: formats, handle: disablePlanFeature},
	)
}

// listPlanFeatures answers the features the plan at {application_plan_id}
// enables.
func listPlanFeatures(c *call) error {
	s := c.snapshot()
	plan, err := planOf(c, s)
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

// enablePlanFeature enables the feature feature_id on the plan and answers
// the feature. As in 3scale, a feature_id that is missing or names no
// feature of the plan's service is 404, and a feature of another kind of
// plan is 422 (plan_type mismatch).
func enablePlanFeature(c *call) error {
	v, _ := c.params.Get("feature_id")
	featureID, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return ErrNotFound
	}
	var f *composition.Feature
	_, err = c.update(func(tx *composition.Tx) error {
		plan, err := planOf(c, tx.View())
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

// disablePlanFeature disables the feature at {id} on the plan; one the plan
// does not enable is 404.
func disablePlanFeature(c *call) error {
	_, err := c.update(func(tx *composition.Tx) error {
		plan, err := planOf(c, tx.View())
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

// featureJSON is 3scale's JSON feature (FeatureRepresenter): the scope
// underscored, no owner.
type featureJSON struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	SystemName  string    `json:"system_name"`
	Scope       string    `json:"scope"`
	Visible     bool      `json:"visible"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// featureXML is 3scale's XML feature (Feature#to_xml): the owner's id
// (service_id or account_id) after the system name, and no timestamps.
type featureXML struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	SystemName  string `json:"system_name"`
	ServiceID   int64  `json:"service_id" wire:"omitempty"`
	AccountID   int64  `json:"account_id" wire:"omitempty"`
	Scope       string `json:"scope"`
	Visible     bool   `json:"visible"`
	Description string `json:"description"`
}

func featureView(c *call, f *composition.Feature) (string, any) {
	if c.format == XML {
		x := featureXML{ID: f.ID, Name: f.Name, SystemName: f.SystemName, Scope: underscore(f.Scope),
			Visible: f.Visible, Description: f.Description}
		if f.OwnerType == composition.OwnerAccount {
			x.AccountID = f.OwnerID
		} else {
			x.ServiceID = f.OwnerID
		}
		return "feature", x
	}
	return "feature", featureJSON{ID: f.ID, Name: f.Name, SystemName: f.SystemName, Scope: underscore(f.Scope),
		Visible: f.Visible, Description: f.Description, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
}

// underscore is Rails' String#underscore for a class name:
// "ApplicationPlan" is "application_plan".
func underscore(s string) string {
	out := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' {
			if i > 0 {
				out = append(out, '_')
			}
			ch += 'a' - 'A'
		}
		out = append(out, ch)
	}
	return string(out)
}
