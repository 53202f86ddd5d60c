package manifest

import "encoding/json"

// Proxy is a service's gateway settings. An absent field keeps what 3scale
// gives a new service (composition.DefaultProxy).
type Proxy struct {
	Endpoint            string `json:"endpoint,omitempty"`
	SandboxEndpoint     string `json:"sandbox_endpoint,omitempty"`
	APIBackend          string `json:"api_backend,omitempty"`
	CredentialsLocation string `json:"credentials_location,omitempty" manifest:"oneof=query headers authorization"`
	AuthAppKey          string `json:"auth_app_key,omitempty"`
	AuthAppID           string `json:"auth_app_id,omitempty"`
	AuthUserKey         string `json:"auth_user_key,omitempty"`

	ErrorAuthFailed            string `json:"error_auth_failed,omitempty"`
	ErrorStatusAuthFailed      int64  `json:"error_status_auth_failed,omitempty" manifest:"min=100,max=599"`
	ErrorHeadersAuthFailed     string `json:"error_headers_auth_failed,omitempty"`
	ErrorAuthMissing           string `json:"error_auth_missing,omitempty"`
	ErrorStatusAuthMissing     int64  `json:"error_status_auth_missing,omitempty" manifest:"min=100,max=599"`
	ErrorHeadersAuthMissing    string `json:"error_headers_auth_missing,omitempty"`
	ErrorNoMatch               string `json:"error_no_match,omitempty"`
	ErrorStatusNoMatch         int64  `json:"error_status_no_match,omitempty" manifest:"min=100,max=599"`
	ErrorHeadersNoMatch        string `json:"error_headers_no_match,omitempty"`
	ErrorLimitsExceeded        string `json:"error_limits_exceeded,omitempty"`
	ErrorStatusLimitsExceeded  int64  `json:"error_status_limits_exceeded,omitempty" manifest:"min=100,max=599"`
	ErrorHeadersLimitsExceeded string `json:"error_headers_limits_exceeded,omitempty"`

	// SecretToken is sent to the API backend; exported only with secrets.
	SecretToken              string `json:"secret_token,omitempty"`
	HostnameRewrite          string `json:"hostname_rewrite,omitempty"`
	APITestPath              string `json:"api_test_path,omitempty"`
	OIDCIssuerEndpoint       string `json:"oidc_issuer_endpoint,omitempty"`
	OIDCIssuerType           string `json:"oidc_issuer_type,omitempty" manifest:"oneof=keycloak rest"`
	JwtClaimWithClientID     string `json:"jwt_claim_with_client_id,omitempty"`
	JwtClaimWithClientIDType string `json:"jwt_claim_with_client_id_type,omitempty" manifest:"oneof=plain liquid"`

	OIDC        *OIDCFlows `json:"oidc_configuration,omitempty"`
	PolicyChain []Policy   `json:"policy_chain,omitempty"`
}

// OIDCFlows are the OAuth flows of an OIDC-authenticated service.
type OIDCFlows struct {
	StandardFlowEnabled       bool `json:"standard_flow_enabled,omitempty"`
	ImplicitFlowEnabled       bool `json:"implicit_flow_enabled,omitempty"`
	ServiceAccountsEnabled    bool `json:"service_accounts_enabled,omitempty"`
	DirectAccessGrantsEnabled bool `json:"direct_access_grants_enabled,omitempty"`
}

// Policy is one policy of the gateway's policy chain, in chain order.
type Policy struct {
	Name    string `json:"name" manifest:"required"`
	Version string `json:"version,omitempty"`
	// Configuration is the policy's configuration, a JSON object.
	Configuration json.RawMessage `json:"configuration,omitempty"`
	Enabled       bool            `json:"enabled,omitempty"`
}
