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
		rs[i].Scope, rs[i].OrScope = scopeOf(rs[i].Path)
		rs[i].Section = sectionOf(rs[i].Method, rs[i].Path)
	}
	return rs
}

// scopeOf is the scope 3scale asks of a route, and another it takes
// instead where porta's controller names two (access_token_scopes; its
// verify_access_token_scopes refuses only a token sharing none): the
// APIcast policy registry needs policy_registry; a product's policy chain
// takes it or account_management (Admin::Api::Services::Proxy::
// PoliciesController), a buyer's credit card finance or account_management
// (Admin::Api::CreditCardsController); everything else of the Account
// Management API (access tokens included) needs account_management.
// Whether the route writes (permission rw) follows from its method:
// Route.Writes.
func scopeOf(path string) (scope, or string) {
	switch {
	case strings.HasPrefix(path, "/admin/api/registry/"):
		return composition.ScopePolicyRegistry, ""
	case path == "/admin/api/services/{service_id}/proxy/policies":
		return composition.ScopeAccountManagement, composition.ScopePolicyRegistry
	case path == "/admin/api/accounts/{id}/credit_card":
		return composition.ScopeAccountManagement, composition.ScopeFinance
	}
	return composition.ScopeAccountManagement, ""
}
