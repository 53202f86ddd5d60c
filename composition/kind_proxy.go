package composition

import (
	"encoding/json"
	"strconv"
)

// A proxy shares its service's id: it is created and deleted with the
// service, and each update bumps its lock version.
var proxyDef = &kindDef[Proxy, *Proxy]{
	Kind:     KindProxy,
	Table:    func(c *Composition) *Table[*Proxy] { return &c.Proxies },
	Document: func(d *Document) *[]*Proxy { return &d.Proxies },
	SharesID: true,
	Keep:     func(p, old *Proxy) { p.LockVersion = old.LockVersion + 1 },
	Validate: validateProxy,
	CheckDelete: func(*Composition, *Proxy) error {
		return Invalid("base", "a proxy is deleted with its service")
	},
	Import: func(p *Proxy, ref refFunc) {
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

func validateProxy(c *Composition, p *Proxy, v *ValidationError) error {
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
	for field, name := range map[string]string{"auth_user_key": p.AuthUserKey, "auth_app_id": p.AuthAppID, "auth_app_key": p.AuthAppKey} {
		headerName(v, field, name)
	}
	for field, s := range map[string]string{
		"error_headers_auth_failed": p.ErrorHeadersAuthFailed, "error_headers_auth_missing": p.ErrorHeadersAuthMissing,
		"error_headers_no_match": p.ErrorHeadersNoMatch, "error_headers_limits_exceeded": p.ErrorHeadersLimitsExceeded,
		"secret_token": p.SecretToken, "hostname_rewrite": p.HostnameRewrite,
	} {
		headerValue(v, field, s)
	}
	for i, pc := range p.PolicyChain {
		if pc.Name == "" {
			v.Add("policies_config", "policy "+strconv.Itoa(i)+" has no name")
		}
		if len(pc.Configuration) > 0 && !isJSONObject(pc.Configuration) {
			v.Add("policies_config", "policy "+pc.Name+" configuration must be a JSON object")
		}
	}
	return nil
}
