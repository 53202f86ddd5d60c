package manifest

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/portolan/portolan/composition"
)

// service writes a service and everything its document declares, in the
// order 3scale needs: metrics before the rules, limits and pricing rules
// naming them, backend usages before limits on a backend's metrics,
// features before the plans enabling them.
func (b *builder) service(d *Service) error {
	s := &composition.Service{
		Name: d.Name, SystemName: d.SystemName, Description: d.Description,
		DeploymentOption: d.DeploymentOption, BackendVersion: d.BackendVersion, SupportEmail: d.SupportEmail,
		IntentionsRequired: d.IntentionsRequired, BuyersManageApps: d.BuyersManageApps, BuyersManageKeys: d.BuyersManageKeys,
		ReferrerFiltersRequired: d.ReferrerFiltersRequired, CustomKeysEnabled: d.CustomKeysEnabled,
		BuyerKeyRegenerateEnabled: d.BuyerKeyRegenerateEnabled, MandatoryAppKey: d.MandatoryAppKey,
		BuyerCanSelectPlan: d.BuyerCanSelectPlan, BuyerPlanChangePermission: d.BuyerPlanChangePermission,
		EndUserRegistrationRequired: d.EndUserRegistrationRequired, AlertLimits: alertLimits(d.AlertLimits),
	}
	if err := b.create("", s); err != nil {
		if _, ok := b.services[d.SystemName]; !ok {
			b.refuse(refusedService(d.SystemName))
		}
		return err
	}
	b.services[d.SystemName] = s.ID
	metrics := b.metrics(composition.OwnerService, s.ID, d.Metrics)
	b.rules(composition.OwnerService, s.ID, d.MappingRules, metrics)
	b.report(b.proxy(s.ID, d.SystemName, d.Proxy))
	for _, u := range d.BackendUsages {
		path := "backend_usages[" + u.Backend + "]"
		id, err := b.backendID(path+".backend", u.Backend)
		if err != nil {
			b.report(err)
			continue
		}
		b.report(b.create(path, &composition.BackendUsage{ServiceID: s.ID, BackendAPIID: id, Path: u.Path}))
	}
	features := map[string]int64{}
	for _, f := range d.Features {
		e := &composition.Feature{OwnerType: composition.OwnerService, OwnerID: s.ID, SystemName: f.SystemName,
			Name: f.Name, Description: f.Description, Visible: f.Visible, Scope: featureScope(f.Scope)}
		if err := b.create("features["+f.SystemName+"]", e); err != nil {
			b.report(err)
			b.refuse(refusedFeature(s.ID, f.SystemName))
			continue
		}
		features[f.SystemName] = e.ID
	}
	pm := &planMetrics{service: metrics, backends: map[int64]map[string]int64{}}
	for _, p := range d.Plans {
		b.report(b.plan(s.ID, p, pm, features))
	}
	return nil
}

// featureScope is the composition's scope for a document's.
func featureScope(scope string) string {
	if scope == "service_plan" {
		return composition.ScopeServicePlan
	}
	return composition.ScopeApplicationPlan
}

func (b *builder) plan(serviceID int64, d Plan, metrics *planMetrics, features map[string]int64) error {
	path := "plans[" + d.SystemName + "]"
	p := &composition.ApplicationPlan{
		ServiceID: serviceID, Name: d.Name, SystemName: d.SystemName, State: d.State, Default: d.Default,
		ApprovalRequired: d.ApprovalRequired, EndUserRequired: d.EndUserRequired, SetupFee: composition.Decimal(d.SetupFee),
		CostPerMonth: composition.Decimal(d.CostPerMonth), TrialPeriodDays: d.TrialPeriodDays, CancellationPeriod: d.CancellationPeriod,
	}
	if err := b.create(path, p); err != nil {
		b.refuse(refusedPlan(serviceID, d.SystemName))
		return err
	}
	for i, l := range d.Limits {
		at := fmt.Sprintf("%s.limits[%d]", path, i)
		id, err := b.planMetric(at, serviceID, metrics, l.Backend, l.Metric)
		if err != nil {
			b.report(err)
			continue
		}
		b.report(b.create(at, &composition.UsageLimit{PlanID: p.ID, MetricID: id, Period: l.Period, Value: l.Value}))
	}
	for i, r := range d.PricingRules {
		at := fmt.Sprintf("%s.pricing_rules[%d]", path, i)
		id, err := b.planMetric(at, serviceID, metrics, r.Backend, r.Metric)
		if err != nil {
			b.report(err)
			continue
		}
		b.report(b.create(at, &composition.PricingRule{PlanID: p.ID, MetricID: id, CostPerUnit: string(r.CostPerUnit), Min: r.Min, Max: r.Max}))
	}
	for i, name := range d.Features {
		at := fmt.Sprintf("%s.features[%d]", path, i)
		id, ok := features[name]
		if !ok {
			b.report(b.missing(refusedFeature(serviceID, name), b.errorf(at, "%q is not a feature of the service", name)))
			continue
		}
		if f, ok := b.view().Features.Get(id); ok && f.Scope != composition.ScopeApplicationPlan {
			b.report(b.errorf(at, "%q is a service plan feature: an application plan cannot enable it", name))
			continue
		}
		if _, err := b.tx.EnableFeature(id, p.ID); err != nil {
			b.report(b.fail(at, err))
		}
	}
	return nil
}

// planMetrics are the metrics a service's limits and pricing rules may
// name, by system_name: the service's, and each backend's as first named.
// A plan may hold thousands of limits and Desired runs under the store's
// writer, so a limit costs a map lookup, never a scan of the metrics.
type planMetrics struct {
	service  map[string]int64
	backends map[int64]map[string]int64 // backend id → system_name → id
}

// planMetric resolves the metric a limit or pricing rule names: one of the
// service's, or of backend's when set (a backend the service uses).
func (b *builder) planMetric(path string, serviceID int64, metrics *planMetrics, backend, metric string) (int64, error) {
	if backend == "" {
		id, ok := metrics.service[metric]
		if !ok {
			return 0, b.missing(refusedMetric(composition.OwnerService, serviceID, metric),
				b.errorf(path+".metric", "%q is not a metric or method of the service", metric))
		}
		return id, nil
	}
	bid, ok := b.backends[backend]
	if !ok {
		return 0, b.missing(refusedBackend(backend),
			b.errorf(path+".backend", "%q is not a backend the service uses (backend_usages)", backend))
	}
	names, ok := metrics.backends[bid]
	if !ok {
		// The service's backend usages are written by now, carried
		// backends included, so the backend's metrics no longer change.
		ms := b.view().MetricsOf(composition.OwnerBackendAPI, bid)
		names = make(map[string]int64, len(ms))
		for _, m := range ms {
			names[m.SystemName] = m.ID
		}
		metrics.backends[bid] = names
	}
	id, ok := names[metric]
	if !ok {
		return 0, b.missing(refusedMetric(composition.OwnerBackendAPI, bid, metric),
			b.errorf(path+".metric", "%q is not a metric or method of backend %q", metric, backend))
	}
	return id, nil
}

// proxy writes the document's gateway settings over those 3scale gave the
// new service: an absent field keeps its default, an absent secret token
// base's (desired_secrets.go).
func (b *builder) proxy(serviceID int64, service string, d *Proxy) error {
	if d == nil {
		d = &Proxy{}
	}
	old, ok := b.view().Proxies.Get(serviceID)
	if !ok {
		return b.errorf("proxy", "the service has no proxy") // never: creating the service made it
	}
	p := *old
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	status := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	str(&p.Endpoint, d.Endpoint)
	str(&p.SandboxEndpoint, d.SandboxEndpoint)
	str(&p.APIBackend, d.APIBackend)
	str(&p.CredentialsLocation, d.CredentialsLocation)
	str(&p.AuthAppKey, d.AuthAppKey)
	str(&p.AuthAppID, d.AuthAppID)
	str(&p.AuthUserKey, d.AuthUserKey)
	str(&p.ErrorAuthFailed, d.ErrorAuthFailed)
	status(&p.ErrorStatusAuthFailed, d.ErrorStatusAuthFailed)
	str(&p.ErrorHeadersAuthFailed, d.ErrorHeadersAuthFailed)
	str(&p.ErrorAuthMissing, d.ErrorAuthMissing)
	status(&p.ErrorStatusAuthMissing, d.ErrorStatusAuthMissing)
	str(&p.ErrorHeadersAuthMissing, d.ErrorHeadersAuthMissing)
	str(&p.ErrorNoMatch, d.ErrorNoMatch)
	status(&p.ErrorStatusNoMatch, d.ErrorStatusNoMatch)
	str(&p.ErrorHeadersNoMatch, d.ErrorHeadersNoMatch)
	str(&p.ErrorLimitsExceeded, d.ErrorLimitsExceeded)
	status(&p.ErrorStatusLimitsExceeded, d.ErrorStatusLimitsExceeded)
	str(&p.ErrorHeadersLimitsExceeded, d.ErrorHeadersLimitsExceeded)
	issuer := d.OIDCIssuerEndpoint
	if home, ok := b.homeProxy(service); ok {
		if d.SecretToken == "" {
			p.SecretToken = home.SecretToken
		}
		if issuer != "" && issuer == composition.IssuerWithoutCredentials(home.OIDCIssuerEndpoint) {
			issuer = home.OIDCIssuerEndpoint // exported without secrets: home's client credentials kept
		}
	}
	str(&p.SecretToken, d.SecretToken)
	str(&p.HostnameRewrite, d.HostnameRewrite)
	str(&p.APITestPath, d.APITestPath)
	str(&p.OIDCIssuerEndpoint, issuer)
	str(&p.OIDCIssuerType, d.OIDCIssuerType)
	str(&p.JwtClaimWithClientID, d.JwtClaimWithClientID)
	str(&p.JwtClaimWithClientIDType, d.JwtClaimWithClientIDType)
	if d.OIDC != nil {
		p.OIDC = composition.OIDCConfiguration{
			StandardFlowEnabled: d.OIDC.StandardFlowEnabled, ImplicitFlowEnabled: d.OIDC.ImplicitFlowEnabled,
			ServiceAccountsEnabled: d.OIDC.ServiceAccountsEnabled, DirectAccessGrantsEnabled: d.OIDC.DirectAccessGrantsEnabled,
		}
	}
	if d.PolicyChain != nil {
		// A chain refused is reported, and the other settings still
		// checked: the default chain stands in for it.
		chain, err := b.policyChain(d.PolicyChain)
		if err == nil {
			err = b.keepPolicySecrets(service, chain)
		}
		if err == nil {
			if home, ok := b.homeProxy(service); ok {
				keepConfigurations(chain, home.PolicyChain)
			}
			p.PolicyChain = chain
		}
		b.report(err)
	}
	return b.update("proxy", &p)
}

// keepConfigurations gives each policy of chain home's configuration, as
// home holds it, where home has the same policy at the same place with a
// configuration that means the same: a document reads a configuration as
// what it means (1.0 is 1, "\u00e9" is "é"), and a diff of the stored JSON
// would otherwise change the chain at each apply of an export.
func keepConfigurations(chain, home []composition.PolicyConfig) {
	for i := range min(len(chain), len(home)) {
		c, h := &chain[i], home[i]
		if c.Name == h.Name && c.Version == h.Version && c.Enabled == h.Enabled &&
			!bytes.Equal(c.Configuration, h.Configuration) && sameJSON(c.Configuration, h.Configuration) {
			c.Configuration = slices.Clone(h.Configuration)
		}
	}
}

// policyChain returns a document's chain as 3scale's Proxy Policies Chain
// Update stores it (composition.NormalizePolicyChain), a version required:
// each policy without one is refused.
func (b *builder) policyChain(in []Policy) ([]composition.PolicyConfig, error) {
	chain := make([]composition.PolicyConfig, 0, len(in))
	var blank Errors
	for i, pc := range in {
		if pc.Version == "" {
			blank = append(blank, b.errorf(fmt.Sprintf("proxy.policy_chain[%d].version", i), "can't be blank").(Errors)...)
		}
		chain = append(chain, composition.PolicyConfig{Name: pc.Name, Version: pc.Version, Configuration: pc.Configuration, Enabled: pc.Enabled})
	}
	if len(blank) > 0 {
		return nil, blank
	}
	return composition.NormalizePolicyChain(chain), nil
}
