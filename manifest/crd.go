package manifest

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/composition"
)

// crd reads a Product or Backend resource into a Service or Backend
// document.
func (s *reader) crd(n *yaml.Node, kind string, depth int) {
	spec := value(n, "spec")
	name := ""
	if spec != nil {
		name = cmp.Or(scalar(spec, "systemName"), composition.SystemName(scalar(spec, "name")))
	}
	doc := Document{Origin: Origin{Source: s.source, Index: s.index, Line: n.Line}}
	body := without(n, "apiVersion", "kind")
	var err error
	switch kind {
	case "Product":
		var p crdProduct
		if err = s.dec.decode(body, reflectValue(&p), "", depth); err == nil {
			err = derivedSystemName(p.Spec.SystemName, p.Spec.Name, spec)
		}
		if err == nil {
			doc.Kind = KindService
			doc.Service, err = productService(&p.Spec)
		}
	case "Backend":
		var b crdBackend
		if err = s.dec.decode(body, reflectValue(&b), "", depth); err == nil {
			err = derivedSystemName(b.Spec.SystemName, b.Spec.Name, spec)
		}
		if err == nil {
			doc.Kind, doc.Backend = KindBackend, crdBackendOf(&b.Spec)
		}
	default:
		err = errorf("kind", n.Line, "%q is not one of Product, Backend (the kinds of %s Portolan reads)", kind, crdAPIVersion)
	}
	if err != nil {
		s.fail(n, kind, name, err)
		return
	}
	for _, e := range validateDocument(&doc) {
		s.fail(n, kind, name, e)
	}
	s.docs = append(s.docs, doc)
}

// derivedSystemName checks the system_name a resource without systemName
// gets from its name, as 3scale derives it, is one: a name of no letter or
// digit gives none, a long one one longer than a name may be.
func derivedSystemName(given, name string, spec *yaml.Node) error {
	if given != "" {
		return nil
	}
	line := 0
	if spec != nil {
		if v := value(resolved(spec), "name"); v != nil {
			line = v.Line
		}
	}
	switch derived := composition.SystemName(name); {
	case derived == "":
		return errorf("spec.systemName", line, "is required: no system name derives from name %q", short(name))
	case len(derived) > maxNameBytes:
		return errorf("spec.systemName", line, "is required: the system name derived from name is longer than %d bytes", maxNameBytes)
	}
	return nil
}

// productService converts a Product's spec as 3scale's operator applies it.
func productService(p *productSpec) (*Service, error) {
	out := &Service{
		SystemName: cmp.Or(p.SystemName, composition.SystemName(p.Name)), Name: p.Name, Description: p.Description,
		Metrics:      crdMetrics(p.Metrics, p.Methods),
		MappingRules: crdRules(p.MappingRules),
	}
	for _, name := range slices.Sorted(maps.Keys(p.BackendUsages)) {
		out.BackendUsages = append(out.BackendUsages, BackendUsage{Backend: name, Path: p.BackendUsages[name].Path})
	}
	for _, name := range slices.Sorted(maps.Keys(p.ApplicationPlans)) {
		out.Plans = append(out.Plans, crdPlanOf(name, p.ApplicationPlans[name]))
	}
	proxy := &Proxy{}
	for i, pc := range p.Policies {
		if len(pc.ConfigurationRef) > 0 && string(pc.ConfigurationRef) != "{}" {
			return nil, errorf("spec.policies["+strconv.Itoa(i)+"].configurationRef", 0,
				"a Kubernetes Secret is not read here: give the policy's configuration inline")
		}
		proxy.PolicyChain = append(proxy.PolicyChain, Policy{Name: pc.Name, Version: pc.Version, Configuration: compact(pc.Configuration), Enabled: pc.Enabled})
	}
	if d := p.Deployment; d != nil {
		if d.ApicastHosted != nil && d.ApicastSelfManaged != nil {
			return nil, errorf("spec.deployment", 0, "apicastHosted and apicastSelfManaged are given both: one only")
		}
		auth := (*crdAuthentication)(nil)
		if d.ApicastHosted != nil {
			out.DeploymentOption, auth = "hosted", d.ApicastHosted.Authentication
		}
		if sm := d.ApicastSelfManaged; sm != nil {
			out.DeploymentOption, auth = "self_managed", sm.Authentication
			proxy.Endpoint, proxy.SandboxEndpoint = sm.ProductionPublicBaseURL, sm.StagingPublicBaseURL
		}
		if err := authentication(out, proxy, auth); err != nil {
			return nil, err
		}
	}
	if !isZeroProxy(proxy) {
		out.Proxy = proxy
	}
	return out, nil
}

// authentication sets a service's backend_version and gateway settings
// from the one authentication a Product's deployment gives.
func authentication(s *Service, p *Proxy, a *crdAuthentication) error {
	if a == nil {
		return nil
	}
	given := 0
	var sec *crdSecurity
	var gw *crdGatewayResponse
	if u := a.UserKey; u != nil {
		given++
		s.BackendVersion = "1"
		p.AuthUserKey, p.CredentialsLocation, sec, gw = u.AuthUserKey, u.Credentials, u.Security, u.GatewayResponse
	}
	if k := a.AppKeyAppID; k != nil {
		given++
		s.BackendVersion = "2"
		p.AuthAppID, p.AuthAppKey, p.CredentialsLocation, sec, gw = k.AppID, k.AppKey, k.Credentials, k.Security, k.GatewayResponse
	}
	if o := a.OIDC; o != nil {
		given++
		s.BackendVersion = "oidc"
		p.OIDCIssuerType, p.OIDCIssuerEndpoint, p.CredentialsLocation = o.IssuerType, o.IssuerEndpoint, o.Credentials
		p.JwtClaimWithClientID, p.JwtClaimWithClientIDType, sec, gw = o.JwtClaimWithClientID, o.JwtClaimWithClientIDType, o.Security, o.GatewayResponse
		if f := o.AuthenticationFlow; f != nil {
			p.OIDC = &OIDCFlows{StandardFlowEnabled: f.StandardFlowEnabled, ImplicitFlowEnabled: f.ImplicitFlowEnabled,
				ServiceAccountsEnabled: f.ServiceAccountsEnabled, DirectAccessGrantsEnabled: f.DirectAccessGrantsEnabled}
		}
	}
	if given > 1 {
		return errorf("spec.deployment.authentication", 0, "userkey, appKeyAppID and oidc are exclusive: give one")
	}
	if sec != nil {
		p.HostnameRewrite, p.SecretToken = sec.HostHeader, sec.SecretToken
	}
	if gw != nil {
		p.ErrorAuthFailed, p.ErrorStatusAuthFailed, p.ErrorHeadersAuthFailed = gw.ErrorAuthFailed, int64(gw.ErrorStatusAuthFailed), gw.ErrorHeadersAuthFailed
		p.ErrorAuthMissing, p.ErrorStatusAuthMissing, p.ErrorHeadersAuthMissing = gw.ErrorAuthMissing, int64(gw.ErrorStatusAuthMissing), gw.ErrorHeadersAuthMissing
		p.ErrorNoMatch, p.ErrorStatusNoMatch, p.ErrorHeadersNoMatch = gw.ErrorNoMatch, int64(gw.ErrorStatusNoMatch), gw.ErrorHeadersNoMatch
		p.ErrorLimitsExceeded, p.ErrorStatusLimitsExceeded, p.ErrorHeadersLimitsExceeded = gw.ErrorLimitsExceeded, int64(gw.ErrorStatusLimitsExceeded), gw.ErrorHeadersLimitsExceeded
		for field, status := range map[string]int64{"errorStatusAuthFailed": p.ErrorStatusAuthFailed, "errorStatusAuthMissing": p.ErrorStatusAuthMissing,
			"errorStatusNoMatch": p.ErrorStatusNoMatch, "errorStatusLimitsExceeded": p.ErrorStatusLimitsExceeded} {
			if status != 0 && (status < 100 || status > 599) {
				return errorf("spec.deployment.authentication.gatewayResponse."+field, 0, "%d is not an HTTP status (100-599)", status)
			}
		}
	}
	return nil
}

func isZeroProxy(p *Proxy) bool { return reflect.ValueOf(*p).IsZero() }

// crdMetrics turns the CRDs' metric and method maps into metrics, hits
// first (with 3scale's defaults when the resource leaves it out, as the
// operator adds it), every method under hits.
func crdMetrics(metrics map[string]crdMetric, methods map[string]crdMethod) []Metric {
	hits := Metric{SystemName: "hits", FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits"}
	if m, ok := metrics["hits"]; ok {
		hits = Metric{SystemName: "hits", FriendlyName: m.FriendlyName, Unit: m.Unit, Description: m.Description}
	}
	for _, name := range slices.Sorted(maps.Keys(methods)) {
		m := methods[name]
		hits.Methods = append(hits.Methods, Method{SystemName: name, FriendlyName: m.FriendlyName, Description: m.Description})
	}
	out := []Metric{hits}
	for _, name := range slices.Sorted(maps.Keys(metrics)) {
		if name != "hits" {
			m := metrics[name]
			out = append(out, Metric{SystemName: name, FriendlyName: m.FriendlyName, Unit: m.Unit, Description: m.Description})
		}
	}
	return out
}

// crdRules keeps the resource's order as positions.
func crdRules(rules []crdMappingRule) []MappingRule {
	var out []MappingRule
	for i, r := range rules {
		out = append(out, MappingRule{HTTPMethod: r.HTTPMethod, Pattern: r.Pattern, Metric: r.MetricMethodRef,
			Delta: int64(r.Increment), Last: r.Last, Position: int64(i + 1)})
	}
	return out
}

func crdPlanOf(name string, p crdPlan) Plan {
	out := Plan{
		SystemName: name, Name: cmp.Or(p.Name, name), State: p.State, ApprovalRequired: p.AppsRequireApproval,
		TrialPeriodDays: int64(p.TrialPeriod), SetupFee: nonZero(p.SetupFee), CostPerMonth: nonZero(p.CostMonth),
	}
	if out.State == "" {
		out.State = composition.PlanHidden
		if p.Published != nil && *p.Published {
			out.State = composition.PlanPublished
		}
	}
	for _, l := range p.Limits {
		out.Limits = append(out.Limits, Limit{Metric: l.MetricMethodRef.SystemName, Backend: l.MetricMethodRef.Backend, Period: l.Period, Value: int64(l.Value)})
	}
	for _, r := range p.PricingRules {
		out.PricingRules = append(out.PricingRules, PricingRule{Metric: r.MetricMethodRef.SystemName, Backend: r.MetricMethodRef.Backend,
			CostPerUnit: r.PricePerUnit, Min: int64(r.From), Max: int64(r.To)})
	}
	return out
}

func crdBackendOf(b *backendSpec) *Backend {
	return &Backend{
		SystemName: cmp.Or(b.SystemName, composition.SystemName(b.Name)), Name: b.Name, Description: b.Description,
		PrivateEndpoint: b.PrivateBaseURL,
		Metrics:         crdMetrics(b.Metrics, b.Methods),
		MappingRules:    crdRules(b.MappingRules),
	}
}
