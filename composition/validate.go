package composition

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const (
	maxNameLen       = 255
	maxTextLen       = 64 << 10
	blank            = "can't be blank"
	taken            = "has already been taken"
	notIncluded      = "is not included in the list"
	invalidFormat    = "is invalid"
	defaultErrHeader = "text/plain; charset=us-ascii"
)

var systemNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-/\[\]]+$`)

// SystemName derives a system_name from a display name the way 3scale does:
// lower case, runs of other characters folded into one underscore.
func SystemName(name string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
			underscore = false
		} else if !underscore && b.Len() > 0 {
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// prepare fills the defaults 3scale fills and keeps what may not change.
func (tx *Tx) prepare(e Entity, old Entity) error {
	switch v := e.(type) {
	case *Service:
		if old == nil {
			v.AccountID = ProviderAccountID
			v.State = defaultStr(v.State, "incomplete")
			v.DeploymentOption = defaultStr(v.DeploymentOption, "hosted")
			v.BackendVersion = defaultStr(v.BackendVersion, "1")
			v.BuyerPlanChangePermission = defaultStr(v.BuyerPlanChangePermission, "request")
			v.SystemName = defaultStr(v.SystemName, SystemName(v.Name))
		} else {
			o := old.(*Service)
			v.SystemName, v.AccountID = o.SystemName, o.AccountID
		}
	case *BackendAPI:
		if old == nil {
			v.AccountID = ProviderAccountID
			v.SystemName = defaultStr(v.SystemName, SystemName(v.Name))
		} else {
			v.SystemName = old.(*BackendAPI).SystemName
		}
	case *Metric:
		if old == nil {
			v.SystemName = defaultStr(v.SystemName, SystemName(v.FriendlyName))
			if v.IsMethod() {
				v.Unit = defaultStr(v.Unit, "hit")
			}
		} else {
			o := old.(*Metric)
			v.SystemName, v.OwnerType, v.OwnerID, v.ParentID = o.SystemName, o.OwnerType, o.OwnerID, o.ParentID
		}
		v.Name = v.SystemName
	case *MappingRule:
		v.HTTPMethod = strings.ToUpper(v.HTTPMethod)
		if old == nil {
			if v.Position == 0 {
				v.Position = int64(tx.c.MappingRules.Count(func(r *MappingRule) bool {
					return r.OwnerType == v.OwnerType && r.OwnerID == v.OwnerID
				})) + 1
			}
		} else {
			o := old.(*MappingRule)
			v.OwnerType, v.OwnerID = o.OwnerType, o.OwnerID
		}
	case *BackendUsage:
		v.Path = defaultStr(v.Path, "/")
		if old != nil {
			o := old.(*BackendUsage)
			v.ServiceID, v.BackendAPIID = o.ServiceID, o.BackendAPIID
		}
	case *ApplicationPlan:
		if old == nil {
			v.State = defaultStr(v.State, PlanHidden)
			v.SystemName = defaultStr(v.SystemName, SystemName(v.Name))
		} else {
			o := old.(*ApplicationPlan)
			v.SystemName, v.ServiceID = o.SystemName, o.ServiceID
		}
	case *UsageLimit:
		if old != nil {
			o := old.(*UsageLimit)
			v.PlanID, v.MetricID = o.PlanID, o.MetricID
		}
	case *PricingRule:
		v.CostPerUnit = defaultStr(v.CostPerUnit, "0.0")
		if old != nil {
			o := old.(*PricingRule)
			v.PlanID, v.MetricID = o.PlanID, o.MetricID
		}
	case *Proxy:
		if old != nil {
			v.LockVersion = old.(*Proxy).LockVersion + 1
		}
	case *ActiveDoc:
		if old == nil {
			v.SystemName = defaultStr(v.SystemName, SystemName(v.Name))
		} else {
			v.SystemName = old.(*ActiveDoc).SystemName
		}
	case *Account:
		if old == nil {
			v.State = defaultStr(v.State, AccountApproved)
		}
	case *User:
		if old == nil {
			v.Role = defaultStr(v.Role, RoleMember)
			v.State = defaultStr(v.State, UserPending)
		} else {
			v.AccountID = old.(*User).AccountID
		}
	case *Application:
		return tx.prepareApplication(v, old)
	case *Placement:
		if v.Name == "" {
			v.Name = v.Selector.Service
		}
	}
	return nil
}

func (tx *Tx) prepareApplication(a *Application, old Entity) error {
	plan, ok := tx.c.ApplicationPlans.Get(a.PlanID)
	if !ok {
		return Invalid("plan_id", "does not exist")
	}
	a.ServiceID = plan.ServiceID
	if old != nil {
		o := old.(*Application)
		a.AccountID = o.AccountID
		return nil
	}
	if a.State == "" {
		a.State = AppLive
		if plan.ApprovalRequired {
			a.State = AppPending
		}
	}
	svc, _ := tx.c.Services.Get(plan.ServiceID)
	if svc != nil && svc.BackendVersion == "1" {
		if a.UserKey == "" {
			a.UserKey = randomHex(16)
		}
	} else if a.AppID == "" {
		a.AppID = randomHex(4)
		if svc != nil && svc.BackendVersion == "2" && len(a.AppKeys) == 0 {
			a.AppKeys = []string{randomHex(16)}
		}
	}
	if a.ProviderVerificationKey == "" {
		a.ProviderVerificationKey = randomHex(16)
	}
	return nil
}

func defaultStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// validate checks e with 3scale's rules; old is the entity it replaces, or nil.
func (tx *Tx) validate(e Entity, old Entity) error {
	v := &ValidationError{}
	c := tx.c
	switch x := e.(type) {
	case *Service:
		name(v, "name", x.Name)
		systemName(v, x.SystemName)
		if _, dup := c.Services.Find(func(s *Service) bool { return s.SystemName == x.SystemName && s.ID != x.ID }); dup {
			v.Add("system_name", taken)
		}
		oneOf(v, "deployment_option", x.DeploymentOption, "hosted", "self_managed")
		oneOf(v, "backend_version", x.BackendVersion, "1", "2", "oidc")
		oneOf(v, "buyer_plan_change_permission", x.BuyerPlanChangePermission, "request", "direct", "credit_card", "request_credit_card", "none")
		text(v, "description", x.Description)
	case *BackendAPI:
		name(v, "name", x.Name)
		systemName(v, x.SystemName)
		if _, dup := c.BackendAPIs.Find(func(b *BackendAPI) bool { return b.SystemName == x.SystemName && b.ID != x.ID }); dup {
			v.Add("system_name", taken)
		}
		if x.PrivateEndpoint == "" {
			v.Add("private_endpoint", blank)
		} else {
			endpointURL(v, "private_endpoint", x.PrivateEndpoint)
		}
		text(v, "description", x.Description)
	case *Metric:
		tx.validateMetric(v, x)
	case *MappingRule:
		tx.validateMappingRule(v, x)
	case *BackendUsage:
		if _, ok := c.Services.Get(x.ServiceID); !ok {
			return NotFound(KindService, x.ServiceID)
		}
		if _, ok := c.BackendAPIs.Get(x.BackendAPIID); !ok {
			v.Add("backend_api_id", "does not exist")
		}
		if !strings.HasPrefix(x.Path, "/") || strings.ContainsAny(x.Path, " ?#") {
			v.Add("path", invalidFormat)
		}
		if _, dup := c.BackendUsages.Find(func(u *BackendUsage) bool {
			return u.ServiceID == x.ServiceID && u.BackendAPIID == x.BackendAPIID && u.ID != x.ID
		}); dup {
			v.Add("backend_api_id", taken)
		}
	case *ApplicationPlan:
		if _, ok := c.Services.Get(x.ServiceID); !ok {
			return NotFound(KindService, x.ServiceID)
		}
		name(v, "name", x.Name)
		systemName(v, x.SystemName)
		if _, dup := c.ApplicationPlans.Find(func(p *ApplicationPlan) bool {
			return p.ServiceID == x.ServiceID && p.SystemName == x.SystemName && p.ID != x.ID
		}); dup {
			v.Add("system_name", taken)
		}
		oneOf(v, "state", x.State, PlanHidden, PlanPublished)
		nonNegative(v, "setup_fee", x.SetupFee)
		nonNegative(v, "cost_per_month", x.CostPerMonth)
		nonNegative(v, "trial_period_days", float64(x.TrialPeriodDays))
		nonNegative(v, "cancellation_period", float64(x.CancellationPeriod))
	case *UsageLimit:
		plan, ok := c.ApplicationPlans.Get(x.PlanID)
		if !ok {
			return NotFound(KindApplicationPlan, x.PlanID)
		}
		if _, ok := c.ServiceMetricIDs(plan.ServiceID)[x.MetricID]; !ok {
			return NotFound(KindMetric, x.MetricID)
		}
		oneOf(v, "period", x.Period, Periods...)
		nonNegative(v, "value", float64(x.Value))
		if _, dup := c.UsageLimits.Find(func(l *UsageLimit) bool {
			return l.PlanID == x.PlanID && l.MetricID == x.MetricID && l.Period == x.Period && l.ID != x.ID
		}); dup {
			v.Add("period", taken)
		}
	case *PricingRule:
		plan, ok := c.ApplicationPlans.Get(x.PlanID)
		if !ok {
			return NotFound(KindApplicationPlan, x.PlanID)
		}
		if _, ok := c.ServiceMetricIDs(plan.ServiceID)[x.MetricID]; !ok {
			return NotFound(KindMetric, x.MetricID)
		}
		if f, err := strconv.ParseFloat(x.CostPerUnit, 64); err != nil || f < 0 {
			v.Add("cost_per_unit", "is not a number")
		}
		if x.Min < 1 {
			v.Add("min", "must be greater than 0")
		}
		if x.Max != 0 && x.Max < x.Min {
			v.Add("max", "must be greater than or equal to min")
		}
	case *Proxy:
		tx.validateProxy(v, x)
	case *ProxyConfig:
		if _, ok := c.Services.Get(x.ServiceID); !ok {
			return NotFound(KindService, x.ServiceID)
		}
		oneOf(v, "environment", x.Environment, EnvSandbox, EnvProduction)
		if x.Version < 1 {
			v.Add("version", "must be greater than 0")
		}
		if !json.Valid(x.Content) {
			v.Add("content", "is not valid JSON")
		}
	case *ActiveDoc:
		name(v, "name", x.Name)
		systemName(v, x.SystemName)
		if _, dup := c.ActiveDocs.Find(func(d *ActiveDoc) bool { return d.SystemName == x.SystemName && d.ID != x.ID }); dup {
			v.Add("system_name", taken)
		}
		if x.ServiceID != 0 {
			if _, ok := c.Services.Get(x.ServiceID); !ok {
				v.Add("service_id", "does not exist")
			}
		}
		validateSpecBody(v, x)
	case *Account:
		name(v, "org_name", x.OrgName)
		oneOf(v, "state", x.State, AccountApproved, AccountPending, "rejected", "suspended")
	case *User:
		if _, ok := c.Accounts.Get(x.AccountID); !ok {
			return NotFound(KindAccount, x.AccountID)
		}
		name(v, "username", x.Username)
		if x.Username != "" && !usernameRE.MatchString(x.Username) {
			v.Add("username", invalidFormat)
		}
		if x.Email == "" {
			v.Add("email", blank)
		} else if !strings.Contains(x.Email, "@") || len(x.Email) > maxNameLen {
			v.Add("email", "should look like an email address")
		}
		if _, dup := c.Users.Find(func(u *User) bool { return u.Username == x.Username && u.ID != x.ID }); dup && x.Username != "" {
			v.Add("username", taken)
		}
		if _, dup := c.Users.Find(func(u *User) bool { return u.Email == x.Email && u.ID != x.ID }); dup && x.Email != "" {
			v.Add("email", taken)
		}
		oneOf(v, "role", x.Role, RoleAdmin, RoleMember)
		oneOf(v, "state", x.State, UserPending, UserActive, UserSuspended)
	case *Application:
		if _, ok := c.Accounts.Get(x.AccountID); !ok {
			return NotFound(KindAccount, x.AccountID)
		}
		name(v, "name", x.Name)
		text(v, "description", x.Description)
		oneOf(v, "state", x.State, AppLive, AppSuspended, AppPending)
		if x.UserKey != "" {
			credential(v, "user_key", x.UserKey)
			if _, dup := c.Applications.Find(func(a *Application) bool {
				return a.ServiceID == x.ServiceID && a.UserKey == x.UserKey && a.ID != x.ID
			}); dup {
				v.Add("user_key", taken)
			}
		}
		if x.AppID != "" {
			credential(v, "application_id", x.AppID)
			if _, dup := c.Applications.Find(func(a *Application) bool {
				return a.ServiceID == x.ServiceID && a.AppID == x.AppID && a.ID != x.ID
			}); dup {
				v.Add("application_id", taken)
			}
		}
		for _, k := range x.AppKeys {
			credential(v, "key", k)
		}
		if len(x.AppKeys) > 5 {
			v.Add("keys", "too many keys (at most 5)")
		}
	case *RegistryPolicy:
		name(v, "name", x.Name)
		name(v, "version", x.Version)
		if _, dup := c.RegistryPolicies.Find(func(p *RegistryPolicy) bool {
			return p.Name == x.Name && p.Version == x.Version && p.ID != x.ID
		}); dup {
			v.Add("version", taken)
		}
		if !isJSONObject(x.Schema) {
			v.Add("schema", "must be a JSON object")
		}
	case *Placement:
		name(v, "selector.service", x.Selector.Service)
		name(v, "name", x.Name)
		if _, ok := c.Services.Get(x.ServiceID); !ok {
			v.Add("service_id", "does not exist")
		}
		for _, id := range x.PlanIDs {
			if p, ok := c.ApplicationPlans.Get(id); !ok || p.ServiceID != x.ServiceID {
				v.Add("plan_ids", "plan "+strconv.FormatInt(id, 10)+" is not a plan of the service")
			}
		}
	}
	return v.Err()
}

var (
	usernameRE   = regexp.MustCompile(`^[A-Za-z0-9_.@+\-]+$`)
	credentialRE = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)
)

func (tx *Tx) validateMetric(v *ValidationError, m *Metric) {
	c := tx.c
	if !tx.ownerExists(m.OwnerType, m.OwnerID) {
		v.Add("owner_id", "does not exist")
		return
	}
	name(v, "friendly_name", m.FriendlyName)
	systemName(v, m.SystemName)
	name(v, "unit", m.Unit)
	text(v, "description", m.Description)
	if _, dup := c.Metrics.Find(func(o *Metric) bool {
		return o.OwnerType == m.OwnerType && o.OwnerID == m.OwnerID && o.SystemName == m.SystemName && o.ID != m.ID
	}); dup {
		v.Add("system_name", taken)
	}
	if m.IsMethod() {
		parent, ok := c.Metrics.Get(m.ParentID)
		if !ok || parent.OwnerType != m.OwnerType || parent.OwnerID != m.OwnerID || parent.SystemName != "hits" {
			v.Add("parent_id", "methods can only be children of hits")
		}
	}
}

func (tx *Tx) validateMappingRule(v *ValidationError, r *MappingRule) {
	if !tx.ownerExists(r.OwnerType, r.OwnerID) {
		v.Add("owner_id", "does not exist")
		return
	}
	if m, ok := tx.c.Metrics.Get(r.MetricID); !ok || m.OwnerType != r.OwnerType || m.OwnerID != r.OwnerID {
		v.Add("metric_id", "does not exist")
	}
	if !ValidHTTPMethod(r.HTTPMethod) {
		v.Add("http_method", notIncluded)
	}
	if r.Pattern == "" {
		v.Add("pattern", blank)
	} else if _, err := ParsePattern(r.Pattern); err != nil {
		v.Add("pattern", err.Error())
	}
	if r.Delta <= 0 {
		v.Add("delta", "must be greater than 0")
	}
	if r.Position < 0 {
		v.Add("position", "must be greater than or equal to 0")
	}
}

func (tx *Tx) validateProxy(v *ValidationError, p *Proxy) {
	if _, ok := tx.c.Services.Get(p.ServiceID); !ok {
		v.Add("service_id", "does not exist")
	}
	oneOf(v, "credentials_location", p.CredentialsLocation, CredentialsQuery, CredentialsHeaders, CredentialsAuthorization)
	for field, u := range map[string]string{"endpoint": p.Endpoint, "sandbox_endpoint": p.SandboxEndpoint, "api_backend": p.APIBackend} {
		if u != "" {
			endpointURL(v, field, u)
		}
	}
	for field, s := range map[string]int64{
		"error_status_auth_failed": p.ErrorStatusAuthFailed, "error_status_auth_missing": p.ErrorStatusAuthMissing,
		"error_status_no_match": p.ErrorStatusNoMatch, "error_status_limits_exceeded": p.ErrorStatusLimitsExceeded,
	} {
		if s < 100 || s > 599 {
			v.Add(field, "must be an HTTP status code (100-599)")
		}
	}
	for _, name := range []string{p.AuthUserKey, p.AuthAppID, p.AuthAppKey} {
		if name == "" || strings.ContainsAny(name, " \t\r\n") {
			v.Add("auth_user_key", "credential parameter names can't be blank or contain spaces")
			break
		}
	}
	for i, pc := range p.PolicyChain {
		if pc.Name == "" {
			v.Add("policies_config", "policy "+strconv.Itoa(i)+" has no name")
		}
		if len(pc.Configuration) > 0 && !isJSONObject(pc.Configuration) {
			v.Add("policies_config", "policy "+pc.Name+" configuration must be a JSON object")
		}
	}
}

func (tx *Tx) ownerExists(ownerType string, id int64) bool {
	switch ownerType {
	case OwnerService:
		_, ok := tx.c.Services.Get(id)
		return ok
	case OwnerBackendAPI:
		_, ok := tx.c.BackendAPIs.Get(id)
		return ok
	}
	return false
}

func validateSpecBody(v *ValidationError, d *ActiveDoc) {
	if strings.TrimSpace(d.Body) == "" {
		v.Add("body", blank)
		return
	}
	if len(d.Body) > 4<<20 {
		v.Add("body", "is too long (at most 4 MiB)")
		return
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(d.Body), &doc); err != nil {
		v.Add("body", "must be a JSON object: "+err.Error())
		return
	}
	if d.SkipSwaggerValidations {
		return
	}
	_, swagger := doc["swagger"]
	_, openapi := doc["openapi"]
	if !swagger && !openapi {
		v.Add("body", "is not a Swagger or OpenAPI document (no swagger or openapi field)")
	}
}

func name(v *ValidationError, field, s string) {
	if strings.TrimSpace(s) == "" {
		v.Add(field, blank)
	} else if len(s) > maxNameLen {
		v.Add(field, "is too long (maximum is 255 characters)")
	}
}

func text(v *ValidationError, field, s string) {
	if len(s) > maxTextLen {
		v.Add(field, "is too long (maximum is 65536 characters)")
	}
}

// systemName checks a system_name; an empty one derived from a blank name is
// already reported on the name.
func systemName(v *ValidationError, s string) {
	if s == "" {
		if _, nameBlank := v.Fields["name"]; !nameBlank {
			if _, fnBlank := v.Fields["friendly_name"]; !fnBlank {
				v.Add("system_name", blank)
			}
		}
	} else if len(s) > maxNameLen || !systemNameRE.MatchString(s) {
		v.Add("system_name", "invalid: use letters, numbers, '_', '-', '.', '/', '[', ']'")
	}
}

func oneOf(v *ValidationError, field, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.Add(field, notIncluded+" ("+strings.Join(allowed, ", ")+")")
	}
}

func nonNegative(v *ValidationError, field string, f float64) {
	if f < 0 {
		v.Add(field, "must be greater than or equal to 0")
	}
}

func credential(v *ValidationError, field, s string) {
	if !credentialRE.MatchString(s) {
		v.Add(field, invalidFormat)
	}
}

func endpointURL(v *ValidationError, field, s string) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") {
		v.Add(field, "must be an absolute http(s) URL")
	}
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}
