package threescale

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// The content of a proxy config is what a stock APIcast boots from: the
// service with its proxy, as 3scale serializes it (Apicast::ProxySource),
// rendered once at deploy time from the snapshot.

// proxyBackend is the Service Management endpoint APIcast reports to: this
// coordinator, as the deploying request reached it.
type proxyBackend struct {
	Endpoint string `json:"endpoint"`
	Host     string `json:"host"`
}

// pcContent is the content of a config, in 3scale's field order.
type pcContent struct {
	ID                          int64   `json:"id"`
	AccountID                   int64   `json:"account_id"`
	Name                        string  `json:"name"`
	OnelineDescription          *string `json:"oneline_description"`
	Description                 string  `json:"description"`
	TxtAPI                      *string `json:"txt_api"`
	TxtSupport                  *string `json:"txt_support"`
	TxtFeatures                 *string `json:"txt_features"`
	CreatedAt                   *string `json:"created_at"`
	UpdatedAt                   *string `json:"updated_at"`
	LogoFileName                *string `json:"logo_file_name"`
	LogoContentType             *string `json:"logo_content_type"`
	LogoFileSize                *int64  `json:"logo_file_size"`
	State                       string  `json:"state"`
	IntentionsRequired          bool    `json:"intentions_required"`
	DraftName                   string  `json:"draft_name"`
	Infobar                     *string `json:"infobar"`
	Terms                       *string `json:"terms"`
	DisplayProviderKeys         bool    `json:"display_provider_keys"`
	TechSupportEmail            *string `json:"tech_support_email"`
	AdminSupportEmail           *string `json:"admin_support_email"`
	CreditCardSupportEmail      *string `json:"credit_card_support_email"`
	BuyersManageApps            bool    `json:"buyers_manage_apps"`
	BuyersManageKeys            bool    `json:"buyers_manage_keys"`
	CustomKeysEnabled           bool    `json:"custom_keys_enabled"`
	BuyerPlanChangePermission   string  `json:"buyer_plan_change_permission"`
	BuyerCanSelectPlan          bool    `json:"buyer_can_select_plan"`
	NotificationSettings        *string `json:"notification_settings"`
	DefaultApplicationPlanID    *int64  `json:"default_application_plan_id"`
	DefaultServicePlanID        *int64  `json:"default_service_plan_id"`
	DefaultEndUserPlanID        *int64  `json:"default_end_user_plan_id"`
	EndUserRegistrationRequired bool    `json:"end_user_registration_required"`
	TenantID                    int64   `json:"tenant_id"`
	SystemName                  string  `json:"system_name"`
	BackendVersion              string  `json:"backend_version"`
	MandatoryAppKey             bool    `json:"mandatory_app_key"`
	BuyerKeyRegenerateEnabled   bool    `json:"buyer_key_regenerate_enabled"`
	SupportEmail                string  `json:"support_email"`
	ReferrerFiltersRequired     bool    `json:"referrer_filters_required"`
	DeploymentOption            string  `json:"deployment_option"`
	Proxiable                   bool    `json:"proxiable?"`
	BackendAuthenticationType   string  `json:"backend_authentication_type"`
	BackendAuthenticationValue  string  `json:"backend_authentication_value"`
	Proxy                       pcProxy `json:"proxy"`
}

type pcProxy struct {
	ID                         int64         `json:"id"`
	TenantID                   int64         `json:"tenant_id"`
	ServiceID                  int64         `json:"service_id"`
	Endpoint                   string        `json:"endpoint"`
	DeployedAt                 *string       `json:"deployed_at"`
	APIBackend                 *string       `json:"api_backend"`
	AuthAppKey                 string        `json:"auth_app_key"`
	AuthAppID                  string        `json:"auth_app_id"`
	AuthUserKey                string        `json:"auth_user_key"`
	CredentialsLocation        string        `json:"credentials_location"`
	ErrorAuthFailed            string        `json:"error_auth_failed"`
	ErrorAuthMissing           string        `json:"error_auth_missing"`
	CreatedAt                  string        `json:"created_at"`
	UpdatedAt                  string        `json:"updated_at"`
	ErrorStatusAuthFailed      int64         `json:"error_status_auth_failed"`
	ErrorHeadersAuthFailed     string        `json:"error_headers_auth_failed"`
	ErrorStatusAuthMissing     int64         `json:"error_status_auth_missing"`
	ErrorHeadersAuthMissing    string        `json:"error_headers_auth_missing"`
	ErrorNoMatch               string        `json:"error_no_match"`
	ErrorStatusNoMatch         int64         `json:"error_status_no_match"`
	ErrorHeadersNoMatch        string        `json:"error_headers_no_match"`
	SecretToken                string        `json:"secret_token"`
	HostnameRewrite            *string       `json:"hostname_rewrite"`
	OauthLoginURL              *string       `json:"oauth_login_url"`
	SandboxEndpoint            string        `json:"sandbox_endpoint"`
	APITestPath                string        `json:"api_test_path"`
	APITestSuccess             *bool         `json:"api_test_success"`
	ApicastConfigurationDriven bool          `json:"apicast_configuration_driven"`
	OidcIssuerEndpoint         *string       `json:"oidc_issuer_endpoint"`
	OidcIssuerType             string        `json:"oidc_issuer_type"`
	LockVersion                int64         `json:"lock_version"`
	AuthenticationMethod       string        `json:"authentication_method"`
	HostnameRewriteForSandbox  string        `json:"hostname_rewrite_for_sandbox"`
	EndpointPort               int64         `json:"endpoint_port"`
	Valid                      bool          `json:"valid?"`
	ServiceBackendVersion      string        `json:"service_backend_version"`
	Hosts                      []string      `json:"hosts"`
	Backend                    proxyBackend  `json:"backend"`
	PolicyChain                []any         `json:"policy_chain"`
	ProxyRules                 []pcProxyRule `json:"proxy_rules"`
	ErrorStatusLimitsExceeded  int64         `json:"error_status_limits_exceeded"`
	ErrorHeadersLimitsExceeded string        `json:"error_headers_limits_exceeded"`
	ErrorLimitsExceeded        string        `json:"error_limits_exceeded"`
	JwtClaimWithClientID       *string       `json:"jwt_claim_with_client_id"`
	JwtClaimWithClientIDType   string        `json:"jwt_claim_with_client_id_type"`
}

type pcProxyRule struct {
	ID                    int64             `json:"id"`
	ProxyID               int64             `json:"proxy_id"`
	HTTPMethod            string            `json:"http_method"`
	Pattern               string            `json:"pattern"`
	MetricID              int64             `json:"metric_id"`
	MetricSystemName      string            `json:"metric_system_name"`
	Delta                 int64             `json:"delta"`
	TenantID              int64             `json:"tenant_id"`
	CreatedAt             string            `json:"created_at"`
	UpdatedAt             string            `json:"updated_at"`
	RedirectURL           *string           `json:"redirect_url"`
	Position              int64             `json:"position"`
	Last                  bool              `json:"last"`
	OwnerID               int64             `json:"owner_id"`
	OwnerType             string            `json:"owner_type"`
	Parameters            []string          `json:"parameters"`
	QuerystringParameters map[string]string `json:"querystring_parameters"`
}

// pcChainEntry is a policy as the chain APIcast runs holds it.
type pcChainEntry struct {
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Configuration json.RawMessage `json:"configuration"`
}

func pcNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// proxyOf returns the proxy of service id in s; exists is false when the
// service has none stored yet (an imported composition may lack it), and a
// default one is returned.
func proxyOf(s *composition.Composition, id int64) (p *composition.Proxy, exists bool, err error) {
	if _, ok := s.Services.Get(id); !ok {
		return nil, false, ErrNotFound
	}
	if p, ok := s.Proxies.Get(id); ok {
		return p, true, nil
	}
	return composition.DefaultProxy(id), false, nil
}

// proxyUsages returns the backend usages of a service with their backends,
// in id order; usages whose backend is gone are left out.
func proxyUsages(s *composition.Composition, serviceID int64) ([]*composition.BackendUsage, map[int64]*composition.BackendAPI) {
	backends := map[int64]*composition.BackendAPI{}
	var out []*composition.BackendUsage
	for _, u := range s.BackendUsages.Filter(func(u *composition.BackendUsage) bool { return u.ServiceID == serviceID }) {
		if b, ok := s.BackendAPIs.Get(u.BackendAPIID); ok {
			backends[u.BackendAPIID] = b
			out = append(out, u)
		}
	}
	return out, backends
}

// pcUsagePrefix is a backend usage path as a pattern prefix: "" for the root,
// "/v1" for "/v1" or "/v1/".
func pcUsagePrefix(path string) string {
	return strings.TrimRight(path, "/")
}

// renderProxyConfigContent renders the content of a new config of service
// id from snapshot s.
func renderProxyConfigContent(s *composition.Composition, id int64, backend proxyBackend) (json.RawMessage, error) {
	svc, ok := s.Services.Get(id)
	if !ok {
		return nil, ErrNotFound
	}
	stored, _, err := proxyOf(s, id)
	if err != nil {
		return nil, err
	}
	// As 3scale's api_backend, the upstream is the private endpoint of the
	// product's first backend, else the proxy's own (proxyView).
	p := proxyView(s, stored)
	usages, backends := proxyUsages(s, id)
	apiBackend := p.APIBackend

	var defaultPlan *int64
	for _, pl := range s.PlansOf(id) {
		if pl.Default {
			v := pl.ID
			defaultPlan = &v
			break
		}
	}
	content := pcContent{
		ID: svc.ID, AccountID: svc.AccountID, Name: svc.Name, Description: svc.Description,
		// The client parses these as time.Time: null, never "".
		CreatedAt: pcNullable(pcTime(svc.CreatedAt)),
		UpdatedAt: pcNullable(pcTime(svc.UpdatedAt)),
		State:     svc.State, IntentionsRequired: svc.IntentionsRequired,
		BuyersManageApps: svc.BuyersManageApps, BuyersManageKeys: svc.BuyersManageKeys,
		CustomKeysEnabled: svc.CustomKeysEnabled, BuyerPlanChangePermission: svc.BuyerPlanChangePermission,
		BuyerCanSelectPlan: svc.BuyerCanSelectPlan, DefaultApplicationPlanID: defaultPlan,
		EndUserRegistrationRequired: svc.EndUserRegistrationRequired, TenantID: svc.AccountID,
		SystemName: svc.SystemName, BackendVersion: svc.BackendVersion, MandatoryAppKey: svc.MandatoryAppKey,
		BuyerKeyRegenerateEnabled: svc.BuyerKeyRegenerateEnabled, SupportEmail: svc.SupportEmail,
		ReferrerFiltersRequired: svc.ReferrerFiltersRequired, DeploymentOption: svc.DeploymentOption,
		Proxiable: true,
		// Portolan keeps no service tokens: the value stays empty.
		BackendAuthenticationType: "service_token",
		Proxy: pcProxy{
			ID: p.ServiceID, TenantID: svc.AccountID, ServiceID: p.ServiceID, Endpoint: p.Endpoint,
			APIBackend: pcNullable(apiBackend), AuthAppKey: p.AuthAppKey, AuthAppID: p.AuthAppID,
			AuthUserKey: p.AuthUserKey, CredentialsLocation: p.CredentialsLocation,
			ErrorAuthFailed: p.ErrorAuthFailed, ErrorAuthMissing: p.ErrorAuthMissing,
			CreatedAt:             pcTime(p.CreatedAt),
			UpdatedAt:             pcTime(p.UpdatedAt),
			ErrorStatusAuthFailed: p.ErrorStatusAuthFailed, ErrorHeadersAuthFailed: p.ErrorHeadersAuthFailed,
			ErrorStatusAuthMissing: p.ErrorStatusAuthMissing, ErrorHeadersAuthMissing: p.ErrorHeadersAuthMissing,
			ErrorNoMatch: p.ErrorNoMatch, ErrorStatusNoMatch: p.ErrorStatusNoMatch,
			ErrorHeadersNoMatch: p.ErrorHeadersNoMatch, SecretToken: p.SecretToken,
			HostnameRewrite: pcNullable(p.HostnameRewrite), SandboxEndpoint: p.SandboxEndpoint,
			APITestPath: p.APITestPath, ApicastConfigurationDriven: true,
			OidcIssuerEndpoint: pcNullable(p.OIDCIssuerEndpoint), OidcIssuerType: p.OIDCIssuerType,
			LockVersion: p.LockVersion, AuthenticationMethod: svc.BackendVersion,
			HostnameRewriteForSandbox: pcHostnameRewriteForSandbox(p.HostnameRewrite, apiBackend),
			EndpointPort:              pcEndpointPort(p.Endpoint), Valid: true,
			ServiceBackendVersion:      svc.BackendVersion,
			Hosts:                      pcHosts(p.Endpoint, p.SandboxEndpoint),
			Backend:                    backend,
			PolicyChain:                contentPolicyChain(p, usages, backends),
			ProxyRules:                 contentProxyRules(s, svc, usages),
			ErrorStatusLimitsExceeded:  p.ErrorStatusLimitsExceeded,
			ErrorHeadersLimitsExceeded: p.ErrorHeadersLimitsExceeded,
			ErrorLimitsExceeded:        p.ErrorLimitsExceeded,
			JwtClaimWithClientID:       pcNullable(p.JwtClaimWithClientID),
			JwtClaimWithClientIDType:   p.JwtClaimWithClientIDType,
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(content); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes())), nil
}

// pcTime renders a timestamp as 3scale does; a zero one as "".
func pcTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func pcHostnameRewriteForSandbox(rewrite, apiBackend string) string {
	if rewrite != "" {
		return rewrite
	}
	if u, err := url.Parse(apiBackend); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "none"
}

func pcEndpointPort(endpoint string) int64 {
	u, err := url.Parse(endpoint)
	if err != nil || endpoint == "" {
		return 80
	}
	if p, err := strconv.ParseInt(u.Port(), 10, 64); err == nil {
		return p
	}
	if u.Scheme == "https" || u.Scheme == "wss" {
		return 443
	}
	return 80
}

// pcHosts are the hosts APIcast routes to this service: those of the
// production and staging endpoints.
func pcHosts(endpoints ...string) []string {
	hosts := []string{}
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Hostname() == "" {
			continue
		}
		h := u.Hostname()
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// proxyConfigsOf returns the configs of a service in env, by version.
func proxyConfigsOf(s *composition.Composition, serviceID int64, env string) []*composition.ProxyConfig {
	items := s.ProxyConfigs.Filter(func(pc *composition.ProxyConfig) bool {
		return pc.ServiceID == serviceID && pc.Environment == env
	})
	sort.SliceStable(items, func(i, j int) bool { return items[i].Version < items[j].Version })
	return items
}

func latestProxyConfig(s *composition.Composition, serviceID int64, env string) *composition.ProxyConfig {
	items := proxyConfigsOf(s, serviceID, env)
	if len(items) == 0 {
		return nil
	}
	return items[len(items)-1]
}

// deployProxyConfig adds the next sandbox config of a service, rendered from
// what tx sees. With onlyChanged, as after a proxy or policy update in
// 3scale, nothing is added when the newest sandbox config has the same
// content. A service without any upstream is deployed too, as in 3scale
// (porta's ProxyDeploymentService): its config's api_backend is null.
func deployProxyConfig(tx *composition.Tx, serviceID int64, backend proxyBackend, onlyChanged bool) (*composition.ProxyConfig, error) {
	s := tx.View()
	content, err := renderProxyConfigContent(s, serviceID, backend)
	if err != nil {
		return nil, err
	}
	latest := latestProxyConfig(s, serviceID, composition.EnvSandbox)
	if onlyChanged && latest != nil && bytes.Equal(latest.Content, content) {
		return latest, nil
	}
	next := int64(1)
	if latest != nil {
		next = latest.Version + 1
	}
	pc := &composition.ProxyConfig{ServiceID: serviceID, Environment: composition.EnvSandbox, Version: next, Content: content}
	if err := tx.Create(pc); err != nil {
		return nil, err
	}
	return pc, nil
}

// proxyConfigHosts reads the hosts a config serves from its content.
func proxyConfigHosts(pc *composition.ProxyConfig) []string {
	var c struct {
		Proxy struct {
			Hosts []string `json:"hosts"`
		} `json:"proxy"`
	}
	if json.Unmarshal(pc.Content, &c) != nil {
		return nil
	}
	return c.Proxy.Hosts
}
