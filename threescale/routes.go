package threescale

import (
	"strings"

	"github.com/portolan/portolan/composition"
)

// routeTable lists every operation the API serves, group by group, each
// tagged with the access-token scope it needs (scopeOf) and the admin
// section a provider member needs for it (sectionOf).
func (a *API) routeTable() []Route {
	var rs []Route
	for _, group := range [][]Route{
		a.serviceRoutes(),
		a.metricRoutes(),
		a.mappingRuleRoutes(),
		a.backendRoutes(),
		a.planRoutes(),
		a.limitRoutes(),
		a.pricingRuleRoutes(),
		a.featureRoutes(),
		a.servicePlanRoutes(),
		a.serviceSubscriptionRoutes(),
		a.accountRoutes(),
		a.accountPlanRoutes(),
		a.accountFeatureRoutes(),
		a.userRoutes(),
		a.providerUserRoutes(),
		a.fieldsDefinitionRoutes(),
		a.notificationPreferenceRoutes(),
		a.applicationRoutes(),
		a.applicationKeyRoutes(),
		a.referrerFilterRoutes(),
		a.providerRoutes(),
		a.proxyRoutes(),
		a.policyRoutes(),
		a.builtinPolicyRoutes(),
		a.objectRoutes(),
		a.settingsRoutes(),
		a.webhookRoutes(),
		a.oidcRoutes(),
		a.activeDocRoutes(),
		a.accessTokenRoutes(),
		a.authenticationProviderRoutes(),
		a.creditCardRoutes(),
		a.messageRoutes(),
		a.unsupportedRoutes(),
		a.openAPIRoutes(),
	} {
		rs = append(rs, group...)
	}
	for i := range rs {
		rs[i].Scope = scopeOf(rs[i].Path)
		rs[i].Section = sectionOf(rs[i].Method, rs[i].Path)
	}
	return rs
}

// scopeOf is the scope 3scale asks of a route: the APIcast policy registry
// needs policy_registry, everything else of the Account Management API
// (access tokens included) account_management. Whether the route writes
// (permission rw) follows from its method: Route.Writes.
func scopeOf(path string) string {
	if strings.HasPrefix(path, "/admin/api/registry/") {
		return composition.ScopePolicyRegistry
	}
	return composition.ScopeAccountManagement
}
