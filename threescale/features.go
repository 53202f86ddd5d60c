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
	rs := serviceFeatures().routes("Service Features", "Service Feature", "/admin/api/services/{service_id}/features", "id", JSON, XML)
	return append(rs, planFeatureRoutes("Application Plans", "/admin/api/application_plans/{application_plan_id}/features",
		"Application Plan Feature List", "Application Plan Feature Enable", "Application Plan Feature Disable", idOf(planOf))...)
}

// planIDFunc resolves the plan of a path (an application, service or
// account plan), 404 when there is none.
type planIDFunc func(c *call, s *composition.Composition) (int64, error)

// planFeatureRoutes are the three routes every kind of plan has for its
// features under base: list, enable (feature_id) and disable ({id}), with
// 3scale's summaries for that kind. As in 3scale, enabling a feature_id that
// is missing or names no feature of the plan's owner is 404, one of another
// kind of plan 422 (plan_type mismatch), one already enabled 422; disabling
// one the plan does not enable is 404.
func planFeatureRoutes(tag, base string, list, enable, disable string, planID planIDFunc) []Route {
	formats := []Format{JSON, XML}
	return []Route{
		{Method: http.MethodGet, Path: base, Tag: tag, Summary: list, Formats: formats,
			handle: func(c *call) error {
				s := c.snapshot()
				id, err := planID(c, s)
				if err != nil {
					return err
				}
				features := s.PlanFeatures(id)
				items := make([]viewItem, len(features))
				for i, f := range features {
					items[i].name, items[i].v = featureView(c, f)
				}
				return writeViewList(c, "features", items)
			}},
		{Method: http.MethodPost, Path: base, Tag: tag, Summary: enable, Formats: formats, Status: http.StatusCreated,
			handle: func(c *call) error {
				v, _ := c.params.Get("feature_id")
				featureID, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return ErrNotFound
				}
				var f *composition.Feature
				_, err = c.update(func(tx *composition.Tx) error {
					id, err := planID(c, tx.View())
					if err != nil {
						return err
					}
					f, err = tx.EnableFeature(featureID, id)
					return err
				})
				if err != nil {
					return err
				}
				return c.one(featureView(c, f))
			}},
		{Method: http.MethodDelete, Path: base + "/{id}", Tag: tag, Summary: disable, Formats: formats,
			handle: func(c *call) error {
				_, err := c.update(func(tx *composition.Tx) error {
					id, err := planID(c, tx.View())
					if err != nil {
						return err
					}
					featureID, err := c.id("id")
					if err != nil {
						return err
					}
					return tx.DisableFeature(featureID, id)
				})
				if err != nil {
					return err
				}
				return c.empty()
			}},
	}
}

// idOf adapts a typed plan lookup to a planIDFunc.
func idOf[P interface{ Key() int64 }](of func(*call, *composition.Composition) (P, error)) planIDFunc {
	return func(c *call, s *composition.Composition) (int64, error) {
		p, err := of(c, s)
		if err != nil {
			return 0, err
		}
		return p.Key(), nil
	}
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
