package threescale

import "github.com/portolan/portolan/composition"

// accountFeatures is the provider account's features: 3scale's Account
// Features, which account plans enable. A new one is visible; its scope is
// always account_plan.
func accountFeatures() *featureCollection {
	return &featureCollection{
		kind:  composition.KindFeature,
		names: fixedNames("feature", "features"),
		table: func(c *composition.Composition) *composition.Table[*composition.Feature] { return &c.Features },
		scope: func(*call, *composition.Composition) (func(*composition.Feature) bool, func(*composition.Feature), error) {
			return func(f *composition.Feature) bool {
					return f.OwnerType == composition.OwnerAccount && f.OwnerID == composition.ProviderAccountID
				}, func(f *composition.Feature) {
					f.OwnerType, f.OwnerID = composition.OwnerAccount, composition.ProviderAccountID
				}, nil
		},
		defaults: func(f *composition.Feature) {
			f.Visible, f.Scope = true, composition.ScopeAccountPlan
		},
		view:    featureView,
		unpaged: true, // porta lists the account's features whole
	}
}

func (a *API) accountFeatureRoutes() []Route {
	rs := accountFeatures().routes("Account Features", "Account Feature", "/admin/api/features", "id", JSON, XML)
	rs[0].Summary = "Account Features List" // 3scale's summary
	return rs
}
