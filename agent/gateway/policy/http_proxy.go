package policy

import (
	"encoding/json"
	"net/url"
)

// httpProxy is APIcast's http_proxy ("Proxy Service"): "With this policy
// all the traffic for this service will be routed accross the defined
// proxy". all_proxy "Defines a HTTP proxy to be used for connecting to
// services if a protocol-specific proxy is not specified", http_proxy
// "... for connecting to HTTP services", https_proxy "... for connecting to
// HTTPS services"; "Authentication is not supported". Its README: "If
// http_proxy or https_proxy is not defined the all_proxy will be taken",
// and "All APIcast traffic to 3scale backend will not use the proxy": only
// the connections to the upstream do.
//
// As APIcast (lua-resty-http under resty.http.proxy), a request to an http
// upstream goes to the proxy in absolute form ("GET http://upstream/path",
// its Host header the upstream's); one to an https upstream asks the proxy
// for a tunnel (CONNECT upstream:443) and speaks TLS with the upstream
// inside it, verified by the gateway as any https upstream is (with
// upstream_mtls's settings when the chain has it), HTTP/2 when the upstream
// offers it. An upstream whose scheme has no proxy (http_proxy given, no
// https_proxy nor all_proxy) is reached directly. Every other upstream of
// the service goes through the proxy: the service's, a policy's choice
// (routing, upstream) and, with plan-aware routing, a peer's app ("This
// policy will disable all load-balancing policies and traffic will be
// always send to the proxy"), but a loopback one. The connections through
// the proxy are kept for the requests of this chain only.
//
// Differences from APIcast:
//   - A proxy URL must be http:// (APIcast's resty.http.proxy: "proxy
//     connection supports only http"), is checked when the chain is built,
//     and may not hold credentials: user:password@ is refused with an
//     error naming the field rather than sent (recent APIcast sends them
//     as Proxy-Authorization, against the manifest's word).
//   - No proxy setting may lead to a link-local, multicast or unspecified
//     address (169.254.169.254 and the other cloud metadata services): an
//     IP address is refused when the chain is built, a name that resolves
//     there when the gateway dials.
//   - A loopback upstream (localhost, 127.0.0.0/8, ::1: usually the app
//     beside the agent) is reached directly, never through the proxy, as
//     Go's and curl's proxy settings never proxy loopback: a proxy on
//     another host would reach its own loopback instead, with the
//     client's credentials and the secret token. The rest of the chain's
//     upstream settings (upstream_mtls, grpc) still apply to it. Other
//     names are not resolved: one that resolves to loopback is proxied.
//   - A proxy's host must be ASCII (an IDN in its punycode form, xn--...):
//     it is dialed so, and guarded by that address.
//   - The agent's environment (HTTP_PROXY and the like) never applies to
//     the upstream: only this policy (or camel) sends it through a proxy,
//     so the policy overrides nothing.
//   - A configuration naming no proxy is inert, with a warning when the
//     chain is built.
type httpProxy struct {
	tr *Transport // nil: no proxy named
}

// proxyConfig is http_proxy's and camel's configuration.
type proxyConfig struct {
	AllProxy   string `json:"all_proxy"`
	HTTPProxy  string `json:"http_proxy"`
	HTTPSProxy string `json:"https_proxy"`
}

func newHTTPProxy(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg proxyConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	httpURL, httpsURL, err := cfg.proxies(false)
	if err != nil {
		return nil, err
	}
	if httpURL == nil && httpsURL == nil {
		warnNoProxy(env, "http_proxy")
		return &httpProxy{}, nil
	}
	tr := &Transport{Proxy: &UpstreamProxy{HTTP: httpURL, HTTPS: httpsURL}}
	return &httpProxy{tr: sharedTransport(env, transportKey("http_proxy", conf), tr)}, nil
}

func (p *httpProxy) Name() string { return "http_proxy" }

// Access sends the request's upstream connection through the proxy; in the
// access phase, which nothing but an answer skips, as APIcast's proxy
// holds for every phase of the request.
func (p *httpProxy) Access(c *Context) {
	if p.tr != nil {
		c.Transport = p.tr.Over(c.Transport)
	}
}

// proxies reads the proxies of http and of https upstreams, all_proxy
// standing for the one not given.
func (cfg proxyConfig) proxies(allowHTTPS bool) (httpURL, httpsURL *url.URL, err error) {
	all, err := proxyURL("all_proxy", cfg.AllProxy, allowHTTPS)
	if err != nil {
		return nil, nil, err
	}
	if httpURL, err = proxyURL("http_proxy", cfg.HTTPProxy, allowHTTPS); err != nil {
		return nil, nil, err
	}
	if httpsURL, err = proxyURL("https_proxy", cfg.HTTPSProxy, allowHTTPS); err != nil {
		return nil, nil, err
	}
	if httpURL == nil {
		httpURL = all
	}
	if httpsURL == nil {
		httpsURL = all
	}
	return httpURL, httpsURL, nil
}

// warnNoProxy says that a proxy policy names no proxy, so does nothing.
func warnNoProxy(env *Env, policy string) {
	if env == nil || env.Saving { // home's check: the 422 is not the place
		return
	}
	env.Log.Warn().Str("policy", policy).Str("service", env.ServiceSystemName).
		Msg("names no proxy (all_proxy, http_proxy, https_proxy): requests go to the upstream directly")
}
