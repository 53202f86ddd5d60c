package policy

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// fapi is APIcast's fapi policy ("The Financial-grade API (FAPI)": "This
// policy adding support for Financial-grade API (API) profiles", FAPI 1.0
// Baseline and Advanced).
//
// Every response, whoever made it (the upstream, a policy, the gateway's
// own refusals), gets x-fapi-interaction-id in the header filter, as FAPI
// 1.0 Baseline 6.2.1.11 asks: the request's x-fapi-interaction-id when it
// brings a non-empty one, else the upstream response's, else a new random
// RFC 4122 (version 4) UUID. The request's value is echoed whatever its
// form, as APIcast echoes it: a value that is not a UUID is not refused.
//
// In the access phase, validate_x_fapi_customer_ip_address (6.2.1.13:
// "shall not reject requests with a x-fapi-customer-ip-address header
// containing a valid IPv4 or IPv6 address") refuses a request whose
// x-fapi-customer-ip-address is not one IPv4 or IPv6 address (empty, given
// twice, a list, with a zone or a prefix) with 403 {"error":
// "invalid_request"}; a request without the header passes.
// validate_oauth2_certificate_bound_access_token refuses a request whose
// verified token (an OpenID Connect service's, or jwt_parser's before
// this policy) is not bound to the TLS client certificate it came with
// (RFC 8705 section 3, the check oauth_mtls makes: certificateBound) with
// 401 {"error": "invalid_token"}.
//
// Differences: APIcast's schema spells the second option with a trailing
// space ("validate_oauth2_certificate_bound_access_token "), which its Lua
// never reads, so a chain saved from a form built on the schema asks for
// the check and APIcast skips it; here either spelling turns it on. A
// request without a verified token makes APIcast's check fail with a Lua
// error (its error() called with the service table as the status); here it
// is refused as an unbound token, 401 invalid_token. With that check, the
// gateway's TLS handshake asks for a certificate (UsesClientCertificate); a
// request without one (plain HTTP, h2c, or a client that offered none) is
// refused.
type fapi struct {
	customerIP, certBound bool

	invalidIP, unbound prometheus.Counter
}

type fapiConfig struct {
	CustomerIP bool `json:"validate_x_fapi_customer_ip_address"`
	CertBound  bool `json:"validate_oauth2_certificate_bound_access_token"`
	// CertBoundSchema is the option as APIcast's schema spells it.
	CertBoundSchema bool `json:"validate_oauth2_certificate_bound_access_token "`
}

// The headers, in Go's canonical form, read and written as map keys.
var (
	fapiInteractionID = http.CanonicalHeaderKey("x-fapi-interaction-id")
	fapiCustomerIP    = http.CanonicalHeaderKey("x-fapi-customer-ip-address")
)

// APIcast's answers, written with ngx.print: no newline.
var (
	fapiInvalidRequest = []byte(`{"error": "invalid_request"}`)
	fapiInvalidToken   = []byte(`{"error": "invalid_token"}`)
)

const fapiContentType = "application/json; charset=utf-8"

func newFAPI(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg fapiConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	return &fapi{
		customerIP: cfg.CustomerIP,
		certBound:  cfg.CertBound || cfg.CertBoundSchema,
		invalidIP:  env.Metrics.Policy.WithLabelValues("fapi", "invalid_customer_ip"),
		unbound:    env.Metrics.Policy.WithLabelValues("fapi", "unbound_token"),
	}, nil
}

func (p *fapi) Name() string { return "fapi" }

// UsesClientCertificate: the handshake asks for a certificate only when
// tokens must be bound to it.
func (p *fapi) UsesClientCertificate() bool { return p.certBound }

// Access runs the checks in APIcast's order: the token's binding, then the
// customer's address.
func (p *fapi) Access(c *Context) {
	if p.certBound {
		if !certificateBound(c) { // oauth_mtls's check, written once for both
			p.unbound.Inc()
			c.Respond(http.StatusUnauthorized, fapiContentType, fapiInvalidToken)
			return
		}
	}
	if p.customerIP {
		if v, given := c.R.Header[fapiCustomerIP]; given && !oneIP(v) {
			p.invalidIP.Inc()
			c.Respond(http.StatusForbidden, fapiContentType, fapiInvalidRequest)
		}
	}
}

// oneIP reports whether the header's values are one IPv4 or IPv6 address
// as inet_pton reads them (APIcast's resty.ipmatcher): no zone, no prefix.
func oneIP(v []string) bool {
	if len(v) != 1 {
		return false
	}
	a, err := netip.ParseAddr(v[0])
	return err == nil && a.Zone() == ""
}

// HeaderFilter sets x-fapi-interaction-id on the response.
func (p *fapi) HeaderFilter(c *Context) {
	h := c.W.Header()
	if v := c.R.Header[fapiInteractionID]; len(v) > 1 || len(v) == 1 && v[0] != "" {
		h[fapiInteractionID] = slices.Clone(v)
		return
	}
	if h.Get(fapiInteractionID) != "" {
		return
	}
	h[fapiInteractionID] = []string{uuid.NewString()}
}
