package composition

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// A proxy shares its service's id: it is created and deleted with the
// service, and each update bumps its lock version.
var proxyDef = &kindDef[Proxy, *Proxy]{
	Kind:     KindProxy,
	Table:    func(c *Composition) *Table[*Proxy] { return &c.Proxies },
	Document: func(d *Document) *[]*Proxy { return &d.Proxies },
	SharesID: true,
	Keep:     func(p, old *Proxy) { p.LockVersion = old.LockVersion + 1 },
	Prepare:  prepareProxy,
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
	HideSecrets: hideProxySecrets,
	// A proxy is its service's one: updated, never created or deleted alone.
	NaturalKey: func(x *keyIndex, p *Proxy) (string, string, error) {
		svc, err := x.ref("service_id", p.ServiceID)
		return svc + "/proxy", svc, err
	},
	Derived: []string{"lock_version"},
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

// prepareProxy gives a proxy without public base URLs its service's default
// ones, on create as 3scale does and on update too: a proxy never shows an
// empty endpoint, which 3scale's clients cannot resolve paths against.
func prepareProxy(c *Composition, p, _ *Proxy) error {
	s, ok := c.Services.Get(p.ServiceID)
	if !ok {
		return nil // validateProxy reports it
	}
	production, staging := DefaultEndpoints(s)
	p.Endpoint = defaultStr(p.Endpoint, production)
	p.SandboxEndpoint = defaultStr(p.SandboxEndpoint, staging)
	return nil
}

// DefaultEndpoints returns the public base URLs (production, staging) a new
// product's proxy gets. 3scale builds them from a template per deployment
// (hosted APIcast: "<system_name>-<account_id>.<staging.>domain"); Portolan's
// gateways run beside each app, at addresses home does not know, so the
// defaults name the product under portolan.localhost, a name that resolves
// to the loopback (RFC 6761) and can never reach someone else's host:
//
//	http://<system-name>-<account_id>.portolan.localhost:8080
//	http://<system-name>-<account_id>.staging.portolan.localhost:8080
//
// <system-name> is the system name as a DNS label (a-z, 0-9 and "-"). The
// port is written out, as 3scale writes it. Set endpoint and
// sandbox_endpoint to the gateways' real public URLs.
func DefaultEndpoints(s *Service) (production, staging string) {
	host := endpointLabel(s.SystemName, strconv.FormatInt(s.AccountID, 10))
	return "http://" + host + ".portolan.localhost:8080", "http://" + host + ".staging.portolan.localhost:8080"
}

// endpointLabel is "<name>-<suffix>" as one DNS label: name lowercased,
// every run of other characters than a-z and 0-9 made one "-", cut so the
// label stays within 63 characters.
func endpointLabel(name, suffix string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	label := b.String()
	if limit := 63 - len(suffix) - 1; len(label) > limit {
		label = label[:max(limit, 0)]
	}
	label = strings.TrimRight(label, "-")
	if label == "" {
		label = "product"
	}
	return label + "-" + suffix
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
		// Absent and null are the same (a nil configuration copied through
		// JSON comes back null); anything else must be an object.
		if len(pc.Configuration) > 0 && string(pc.Configuration) != "null" && !isJSONObject(pc.Configuration) {
			v.Add("policies_config", "policy "+pc.Name+" configuration must be a JSON object")
		}
	}
	return nil
}

// NormalizePolicyChain returns chain as 3scale's Proxy Policies Chain
// Update stores it: every configuration an object (an absent or null one
// the empty object) and APIcast's own policy added at the end when missing.
// chain is not modified.
func NormalizePolicyChain(chain []PolicyConfig) []PolicyConfig {
	out := make([]PolicyConfig, 0, len(chain)+1)
	hasAPIcast := false
	for _, pc := range chain {
		if len(pc.Configuration) == 0 || string(pc.Configuration) == "null" {
			pc.Configuration = json.RawMessage(`{}`)
		} else {
			pc.Configuration = slices.Clone(pc.Configuration)
		}
		hasAPIcast = hasAPIcast || pc.Name == "apicast"
		out = append(out, pc)
	}
	if !hasAPIcast {
		out = append(out, PolicyConfig{Name: "apicast", Version: "builtin", Configuration: json.RawMessage(`{}`), Enabled: true})
	}
	return out
}
