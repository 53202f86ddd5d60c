package manifest

import (
	"encoding/json"
	"slices"

	"github.com/portolan/portolan/composition"
)

// ExportOptions says what Export writes.
type ExportOptions struct {
	// IncludeSecrets writes application credentials, user passwords (as
	// stored: hashed), proxy secret tokens and the credentials of policy
	// configurations; without it each of the last is SecretPlaceholder
	// (HidePolicySecrets).
	IncludeSecrets bool
}

// Export writes a composition as documents: its backends, services,
// account plans, developer accounts and placements, in Sort's canonical order (mapping
// rules by position), so two homes holding the same composition export the
// same documents. Custom plans (one application's copy of a plan) are left out;
// their applications name the plan they were copied from.
func Export(c *composition.Composition, opts ExportOptions) []Document {
	x := newExporter(c, opts)
	var docs []Document
	for _, b := range c.BackendAPIs.All() {
		docs = append(docs, Document{Kind: KindBackend, Backend: x.backend(b)})
	}
	for _, s := range c.Services.All() {
		docs = append(docs, Document{Kind: KindService, Service: x.service(s)})
	}
	for _, p := range c.AccountPlans.All() {
		docs = append(docs, Document{Kind: KindAccountPlan, AccountPlan: &AccountPlan{
			SystemName: p.SystemName, Name: p.Name, State: p.State, Default: p.Default, ApprovalRequired: p.ApprovalRequired,
			SetupFee: fee(p.SetupFee), CostPerMonth: fee(p.CostPerMonth), TrialPeriodDays: p.TrialPeriodDays, CancellationPeriod: p.CancellationPeriod,
		}})
	}
	for _, a := range c.Accounts.All() {
		docs = append(docs, Document{Kind: KindAccount, Account: x.account(a)})
	}
	for _, p := range c.Placements.All() {
		docs = append(docs, Document{Kind: KindPlacement, Placement: x.placement(p)})
	}
	Sort(docs)
	return docs
}

// metricRef is how a document names a metric: by system_name, and the
// system_name of its backend when a backend owns it.
type metricRef struct{ name, backend string }

type exporter struct {
	c       *composition.Composition
	opts    ExportOptions
	metrics map[int64]metricRef
	// What entities own, grouped once, in id order: a scan of the whole
	// table per owner made an export of n accounts cost n² (10,000 of
	// them took 6 s).
	usages  map[int64][]*composition.BackendUsage // by service
	limits  map[int64][]*composition.UsageLimit   // by plan
	pricing map[int64][]*composition.PricingRule  // by plan
	users   map[int64][]*composition.User         // by account
	apps    map[int64][]*composition.Application  // by account
}

func newExporter(c *composition.Composition, opts ExportOptions) *exporter {
	x := &exporter{c: c, opts: opts, metrics: map[int64]metricRef{},
		usages: map[int64][]*composition.BackendUsage{}, limits: map[int64][]*composition.UsageLimit{},
		pricing: map[int64][]*composition.PricingRule{}, users: map[int64][]*composition.User{},
		apps: map[int64][]*composition.Application{}}
	for _, u := range c.BackendUsages.All() {
		x.usages[u.ServiceID] = append(x.usages[u.ServiceID], u)
	}
	for _, l := range c.UsageLimits.All() {
		x.limits[l.PlanID] = append(x.limits[l.PlanID], l)
	}
	for _, r := range c.PricingRules.All() {
		x.pricing[r.PlanID] = append(x.pricing[r.PlanID], r)
	}
	for _, u := range c.Users.All() {
		x.users[u.AccountID] = append(x.users[u.AccountID], u)
	}
	for _, app := range c.Applications.All() {
		x.apps[app.AccountID] = append(x.apps[app.AccountID], app)
	}
	return x
}

func (x *exporter) backend(b *composition.BackendAPI) *Backend {
	return &Backend{
		SystemName: b.SystemName, Name: b.Name, Description: b.Description, PrivateEndpoint: b.PrivateEndpoint,
		Metrics:      x.metricsOf(composition.OwnerBackendAPI, b.ID, b.SystemName),
		MappingRules: x.rulesOf(composition.OwnerBackendAPI, b.ID),
	}
}

func (x *exporter) service(s *composition.Service) *Service {
	c := x.c
	out := &Service{
		SystemName: s.SystemName, Name: s.Name, Description: s.Description,
		DeploymentOption: s.DeploymentOption, BackendVersion: s.BackendVersion, SupportEmail: s.SupportEmail,
		IntentionsRequired: s.IntentionsRequired, BuyersManageApps: s.BuyersManageApps, BuyersManageKeys: s.BuyersManageKeys,
		ReferrerFiltersRequired: s.ReferrerFiltersRequired, CustomKeysEnabled: s.CustomKeysEnabled,
		BuyerKeyRegenerateEnabled: s.BuyerKeyRegenerateEnabled, MandatoryAppKey: s.MandatoryAppKey,
		BuyerCanSelectPlan: s.BuyerCanSelectPlan, BuyerPlanChangePermission: s.BuyerPlanChangePermission,
		EndUserRegistrationRequired: s.EndUserRegistrationRequired,
		Metrics:                     x.metricsOf(composition.OwnerService, s.ID, ""),
		MappingRules:                x.rulesOf(composition.OwnerService, s.ID),
	}
	for _, l := range s.AlertLimits {
		out.AlertLimits = append(out.AlertLimits, int64(l))
	}
	if p, ok := c.Proxies.Get(s.ID); ok {
		out.Proxy = x.proxy(p)
	}
	for _, u := range x.usages[s.ID] {
		if b, ok := c.BackendAPIs.Get(u.BackendAPIID); ok {
			out.BackendUsages = append(out.BackendUsages, BackendUsage{Backend: b.SystemName, Path: u.Path})
		}
	}
	for _, f := range c.FeaturesOf(composition.OwnerService, s.ID) {
		scope := "application_plan"
		if f.Scope == composition.ScopeServicePlan {
			scope = "service_plan"
		}
		out.Features = append(out.Features, Feature{SystemName: f.SystemName, Name: f.Name, Description: f.Description, Scope: scope, Visible: f.Visible})
	}
	for _, p := range c.PlansOf(s.ID) {
		if !p.Custom {
			out.Plans = append(out.Plans, x.plan(p))
		}
	}
	return out
}

func (x *exporter) proxy(p *composition.Proxy) *Proxy {
	out := &Proxy{
		Endpoint: p.Endpoint, SandboxEndpoint: p.SandboxEndpoint, APIBackend: p.APIBackend,
		CredentialsLocation: p.CredentialsLocation, AuthAppKey: p.AuthAppKey, AuthAppID: p.AuthAppID, AuthUserKey: p.AuthUserKey,
		ErrorAuthFailed: p.ErrorAuthFailed, ErrorStatusAuthFailed: p.ErrorStatusAuthFailed, ErrorHeadersAuthFailed: p.ErrorHeadersAuthFailed,
		ErrorAuthMissing: p.ErrorAuthMissing, ErrorStatusAuthMissing: p.ErrorStatusAuthMissing, ErrorHeadersAuthMissing: p.ErrorHeadersAuthMissing,
		ErrorNoMatch: p.ErrorNoMatch, ErrorStatusNoMatch: p.ErrorStatusNoMatch, ErrorHeadersNoMatch: p.ErrorHeadersNoMatch,
		ErrorLimitsExceeded: p.ErrorLimitsExceeded, ErrorStatusLimitsExceeded: p.ErrorStatusLimitsExceeded,
		ErrorHeadersLimitsExceeded: p.ErrorHeadersLimitsExceeded,
		HostnameRewrite:            p.HostnameRewrite, APITestPath: p.APITestPath,
		OIDCIssuerEndpoint: p.OIDCIssuerEndpoint, OIDCIssuerType: p.OIDCIssuerType,
		JwtClaimWithClientID: p.JwtClaimWithClientID, JwtClaimWithClientIDType: p.JwtClaimWithClientIDType,
	}
	if x.opts.IncludeSecrets {
		out.SecretToken = p.SecretToken
	} else {
		out.OIDCIssuerEndpoint = composition.IssuerWithoutCredentials(p.OIDCIssuerEndpoint)
	}
	if p.OIDC != (composition.OIDCConfiguration{}) {
		out.OIDC = &OIDCFlows{
			StandardFlowEnabled: p.OIDC.StandardFlowEnabled, ImplicitFlowEnabled: p.OIDC.ImplicitFlowEnabled,
			ServiceAccountsEnabled: p.OIDC.ServiceAccountsEnabled, DirectAccessGrantsEnabled: p.OIDC.DirectAccessGrantsEnabled,
		}
	}
	for _, pc := range p.PolicyChain {
		config := compact(pc.Configuration)
		if !x.opts.IncludeSecrets {
			config = compact(HidePolicySecrets(config))
		}
		out.PolicyChain = append(out.PolicyChain, Policy{Name: pc.Name, Version: pc.Version, Configuration: config, Enabled: pc.Enabled})
	}
	return out
}

// compact returns a policy's configuration as a document holds one
// (canonicalJSON): without insignificant space, its strings in UTF-8; a
// null, empty or invalid one is none.
func compact(raw json.RawMessage) json.RawMessage {
	out, err := canonicalJSON(raw)
	if err != nil || len(out) == 0 || string(out) == "null" {
		return nil
	}
	return out
}

// metricsOf returns an owner's metrics, hits first, methods under it, and
// records how documents name each.
func (x *exporter) metricsOf(ownerType string, ownerID int64, backend string) []Metric {
	all := x.c.MetricsOf(ownerType, ownerID)
	for _, m := range all {
		x.metrics[m.ID] = metricRef{name: m.SystemName, backend: backend}
	}
	var out []Metric
	for _, m := range all {
		if m.IsMethod() {
			continue
		}
		om := Metric{SystemName: m.SystemName, FriendlyName: m.FriendlyName, Unit: m.Unit, Description: m.Description}
		for _, child := range all {
			if child.ParentID == m.ID {
				om.Methods = append(om.Methods, Method{SystemName: child.SystemName, FriendlyName: child.FriendlyName, Unit: child.Unit, Description: child.Description})
			}
		}
		out = append(out, om)
	}
	return out
}

func (x *exporter) rulesOf(ownerType string, ownerID int64) []MappingRule {
	var out []MappingRule
	for _, r := range x.c.MappingRulesOf(ownerType, ownerID) {
		out = append(out, MappingRule{HTTPMethod: r.HTTPMethod, Pattern: r.Pattern, Metric: x.metrics[r.MetricID].name,
			Delta: r.Delta, Last: r.Last, Position: r.Position})
	}
	return out
}

func (x *exporter) plan(p *composition.ApplicationPlan) Plan {
	c := x.c
	out := Plan{
		SystemName: p.SystemName, Name: p.Name, State: p.State, Default: p.Default,
		ApprovalRequired: p.ApprovalRequired, EndUserRequired: p.EndUserRequired,
		SetupFee: fee(p.SetupFee), CostPerMonth: fee(p.CostPerMonth), TrialPeriodDays: p.TrialPeriodDays, CancellationPeriod: p.CancellationPeriod,
	}
	for _, l := range x.limits[p.ID] {
		m := x.metric(l.MetricID)
		out.Limits = append(out.Limits, Limit{Metric: m.name, Backend: m.backend, Period: l.Period, Value: l.Value})
	}
	for _, r := range x.pricing[p.ID] {
		m := x.metric(r.MetricID)
		cost, err := parseDecimal(r.CostPerUnit)
		if err != nil {
			cost = Decimal(r.CostPerUnit)
		}
		out.PricingRules = append(out.PricingRules, PricingRule{Metric: m.name, Backend: m.backend, CostPerUnit: cost, Min: r.Min, Max: r.Max})
	}
	for _, f := range c.PlanFeatures(p.ID) {
		if f.OwnerType == composition.OwnerService {
			out.Features = append(out.Features, f.SystemName)
		}
	}
	return out
}

// metric names a metric by id, whichever owner's it is.
func (x *exporter) metric(id int64) metricRef {
	if ref, ok := x.metrics[id]; ok {
		return ref
	}
	m, ok := x.c.Metrics.Get(id)
	if !ok {
		return metricRef{}
	}
	ref := metricRef{name: m.SystemName}
	if m.OwnerType == composition.OwnerBackendAPI {
		if b, ok := x.c.BackendAPIs.Get(m.OwnerID); ok {
			ref.backend = b.SystemName
		}
	}
	return ref
}

func (x *exporter) account(a *composition.Account) *Account {
	c := x.c
	out := &Account{
		OrgName: a.OrgName, MonthlyBillingEnabled: a.MonthlyBillingEnabled, MonthlyChargingEnabled: a.MonthlyChargingEnabled,
		VatRate: a.VatRate, OrgLegalAddress: a.OrgLegalAddress, OrgLegalAddressCont: a.OrgLegalAddressCont,
		City: a.City, StateRegion: a.StateRegion, Country: a.Country, Zip: a.Zip, TelephoneNumber: a.TelephoneNumber,
		VatCode: a.VatCode, FiscalCode: a.FiscalCode, BusinessCategory: a.BusinessCategory, PrimaryBusiness: a.PrimaryBusiness,
		PoNumber: a.PoNumber,
	}
	if len(a.BillingAddress) > 0 {
		out.BillingAddress = a.BillingAddress
	}
	if p, ok := c.AccountPlans.Get(a.PlanID); ok {
		out.Plan = p.SystemName
	}
	for _, u := range x.users[a.ID] {
		ou := User{Username: u.Username, Email: u.Email, Role: u.Role}
		if x.opts.IncludeSecrets {
			ou.Password = u.Password
		}
		out.Users = append(out.Users, ou)
	}
	for _, app := range x.apps[a.ID] {
		out.Applications = append(out.Applications, x.application(app))
	}
	return out
}

func (x *exporter) application(app *composition.Application) Application {
	c := x.c
	out := Application{Name: app.Name, Description: app.Description, RedirectURL: app.RedirectURL}
	if s, ok := c.Services.Get(app.ServiceID); ok {
		out.Service = s.SystemName
	}
	if p, ok := c.ApplicationPlans.Get(app.PlanID); ok {
		if o, ok := c.ApplicationPlans.Get(p.OriginalID); ok && p.Custom {
			p = o // a custom plan is the application's copy of this one
		}
		out.Plan = p.SystemName
	}
	for _, f := range app.ReferrerFilters {
		out.ReferrerFilters = append(out.ReferrerFilters, f.Value)
	}
	if x.opts.IncludeSecrets {
		out.UserKey, out.ApplicationID = app.UserKey, app.AppID
		out.Keys = slices.Clone(app.AppKeys)
	}
	return out
}

func (x *exporter) placement(p *composition.Placement) *Placement {
	out := &Placement{Name: p.Name, Selector: Selector{Service: p.Selector.Service, Labels: p.Selector.Labels}}
	if len(out.Selector.Labels) == 0 {
		out.Selector.Labels = nil
	}
	if s, ok := x.c.Services.Get(p.ServiceID); ok {
		out.Service = s.SystemName
	}
	for _, id := range p.PlanIDs {
		if plan, ok := x.c.ApplicationPlans.Get(id); ok {
			out.Plans = append(out.Plans, plan.SystemName)
		}
	}
	return out
}
