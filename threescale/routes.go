package threescale

// routeTable lists every operation the API serves, group by group.
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
		a.accountRoutes(),
		a.userRoutes(),
		a.applicationRoutes(),
		a.proxyRoutes(),
		a.policyRoutes(),
		a.oidcRoutes(),
		a.activeDocRoutes(),
		a.unsupportedRoutes(),
		a.openAPIRoutes(),
	} {
		rs = append(rs, group...)
	}
	return rs
}
