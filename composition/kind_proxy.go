package composition

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// KindProxy is the kind of proxies.
const KindProxy Kind = "proxies"

// Credentials locations of a proxy.
const (
	CredentialsQuery         = "query"
	CredentialsHeaders       = "headers"
	CredentialsAuthorization = "authorization"
)

// PolicyConfig is one policy of a proxy's policy chain.
type PolicyConfig struct {
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Configuration json.RawMessage `json:"configuration"`
	Enabled       bool            `json:"enabled"`
}

// OIDCConfiguration holds the OAuth flows of an OIDC-authenticated service.
type OIDCConfiguration struct {
	StandardFlowEnabled       bool `json:"standard_flow_enabled"`
	ImplicitFlowEnabled       bool `json:"implicit_flow_enabled"`
	ServiceAccountsEnabled    bool `json:"service_accounts_enabled"`
	DirectAccessGrantsEnabled bool `json:"direct_access_grants_enabled"`
}

// Proxy holds a service's gateway settings; there is exactly one per service and
// it shares the service's id.
type Proxy struct {
	ServiceID                  int64             `json:"service_id" wire:"ro"`
	Endpoint                   string            `json:"endpoint"`
	SandboxEndpoint            string            `json:"sandbox_endpoint"`
	APIBackend                 string            `json:"api_backend"`
	CredentialsLocation        string            `json:"credentials_location"`
	AuthAppKey                 string            `json:"auth_app_key"`
	AuthAppID                  string            `json:"auth_app_id"`
	AuthUserKey                string            `json:"auth_user_key"`
	ErrorAuthFailed            string            `json:"error_auth_failed"`
	ErrorAuthMissing           string            `json:"error_auth_missing"`
	ErrorStatusAuthFailed      int64             `json:"error_status_auth_failed"`
	ErrorHeadersAuthFailed     string            `json:"error_headers_auth_failed"`
	ErrorStatusAuthMissing     int64             `json:"error_status_auth_missing"`
	ErrorHeadersAuthMissing    string            `json:"error_headers_auth_missing"`
	ErrorNoMatch               string            `json:"error_no_match"`
	ErrorStatusNoMatch         int64             `json:"error_status_no_match"`
	ErrorHeadersNoMatch        string            `json:"error_headers_no_match"`
	ErrorLimitsExceeded        string            `json:"error_limits_exceeded"`
	ErrorStatusLimitsExceeded  int64             `json:"error_status_limits_exceeded"`
	ErrorHeadersLimitsExceeded string            `json:"error_headers_limits_exceeded"`
	SecretToken                string            `json:"secret_token" wire:"secret"`
	HostnameRewrite            string            `json:"hostname_rewrite"`
	APITestPath                string            `json:"api_test_path"`
	OIDCIssuerEndpoint         string            `json:"oidc_issuer_endpoint"`
	OIDCIssuerType             string            `json:"oidc_issuer_type"`
	JwtClaimWithClientID       string            `json:"jwt_claim_with_client_id"`
	JwtClaimWithClientIDType   string            `json:"jwt_claim_with_client_id_type"`
	LockVersion                int64             `json:"lock_version" wire:"ro"`
	PolicyChain                []PolicyConfig    `json:"policy_chain" wire:"ro,-"`
	OIDC                       OIDCConfiguration `json:"oidc_configuration" wire:"ro,-"`
	CreatedAt                  time.Time         `json:"created_at" wire:"ro"`
	UpdatedAt                  time.Time         `json:"updated_at" wire:"ro"`
}

func (e *Proxy) Key() int64 { return e.ServiceID }

// A proxy's id is its service's, so stamp keeps it.
func (e *Proxy) stamp(_ int64, c, u time.Time) { e.CreatedAt, e.UpdatedAt = c, u }
func (e *Proxy) created() time.Time            { return e.CreatedAt }
func (*Proxy) info() kindInfo                  { return proxyDef }

var proxyDef = &kindDef[Proxy, *Proxy]{
	Kind:     KindProxy,
	Table:    func(c *Composition) *Table[*Proxy] { return &c.Proxies },
	Document: func(d *Document) *[]*Proxy { return &d.Proxies },
	SharesID: true,
	Prepare: func(_ *Composition, p, old *Proxy) error {
		if old != nil {
			p.LockVersion = old.LockVersion + 1
		}
		return nil
	},
	Validate: validateProxy,
	CheckDelete: func(*Composition, *Proxy) error {
		return Invalid("base", "a proxy is deleted with its service")
	},
	Import: func(p *Proxy, ref func(string, int64) int64) {
		p.ServiceID = ref("service_id", p.ServiceID)
		if p.SecretToken == "" {
			p.SecretToken = DefaultProxy(p.ServiceID).SecretToken
		}
	},
	HideSecrets: func(p *Proxy) { p.SecretToken = "" },
}

const defaultErrHeader = "text/plain; charset=us-ascii"

// DefaultProxy returns the proxy settings 3scale gives a new service.
func DefaultProxy(serviceID int64) *Proxy {
	return &Proxy{
		ServiceID:                  serviceID,
		CredentialsLocation:        CredentialsQuery,
		AuthUserKey:                "user_key",
		AuthAppID:                  "app_id",
		AuthAppKey:                 "app_key",
		ErrorAuthFailed:            "Authentication failed",
		ErrorAuthMissing:           "Authentication parameters missing",
		ErrorNoMatch:               "No Mapping Rule matched",
		ErrorLimitsExceeded:        "Usage limit exceeded",
		ErrorStatusAuthFailed:      403,
		ErrorStatusAuthMissing:     403,
		ErrorStatusNoMatch:         404,
		ErrorStatusLimitsExceeded:  429,
		ErrorHeadersAuthFailed:     defaultErrHeader,
		ErrorHeadersAuthMissing:    defaultErrHeader,
		ErrorHeadersNoMatch:        defaultErrHeader,
		ErrorHeadersLimitsExceeded: defaultErrHeader,
		APITestPath:                "/",
		SecretToken:                "Shared_secret_sent_from_proxy_to_API_backend_" + randomHex(8),
		PolicyChain: []PolicyConfig{{
			Name: "apicast", Version: "builtin", Configuration: json.RawMessage(`{}`), Enabled: true,
		}},
	}
}

func validateProxy(c *Composition, p *Proxy) error {
	v := &ValidationError{}
	if _, ok := c.Services.Get(p.ServiceID); !ok {
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
	return v.Err()
}
