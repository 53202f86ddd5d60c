package policy

import (
	"encoding/json"

	"github.com/portolan/portolan/internal/loopback"
)

// camel is APIcast's camel ("Camel Service"): "With this policy all the
// traffic for this service will be routed accross the defined proxy",
// with http_proxy's fields (all_proxy stands for the one not given;
// "Authentication is not supported"). Its README: "This policy is designed
// to to apply more fined-grained policies and transformation using Apache
// Camel": the proxy is an Apache Camel route that rewrites requests and
// answers. What sets it apart from http_proxy (APIcast's pull request that
// made it): "on TLS connections, the CONNECT method is not allowed, so the
// request needs to be terminated by camel-proxy and send to the upstream
// API". So every request goes to the proxy in absolute form, an https
// upstream's too ("GET https://upstream:443/path", its Host header the
// upstream's): the proxy reads it, and itself speaks TLS with the upstream.
// The connections to the proxy are kept for the requests of this chain
// only.
//
// An https upstream's requests are then readable by whoever sees the way
// to the proxy unless that way is encrypted. 3scale's guide has the gateway
// speak TLS with Camel ("HTTPS_PROXY: Use the http protocol and TLS port to
// connect to the Camel HTTP proxy", "APIcast establishes a new TLS session
// to connect to the Camel HTTP proxy"), while APIcast's code of late writes
// them in clear. Here the URL says which: https://camel:8443 is TLS with
// the proxy, a party other than the upstream: always verified against the
// proxy's name with the agent's settings (--upstream-ca-file, or the
// system's CAs), never with upstream_mtls's, whose verify false or
// ca_certificates would let another pose as the proxy and read every
// request; and no client certificate is presented to it (neither
// upstream_mtls's nor --upstream-client-cert: the gateway's side of the
// proxy's TLS authenticates nothing in 3scale's guide); http:// is clear.
// upstream_mtls's settings hold for the upstreams the gateway reaches
// itself (loopback ones, below). Under DESIGN's "HTTPS everywhere off
// loopback", an http:// proxy for https upstreams
// (https_proxy, or all_proxy when https_proxy is not given) must be on
// loopback (localhost, 127.0.0.0/8, ::1: a sidecar); any other is refused
// when the chain is built, the error saying to write https:// (Camel's TLS
// port) or to use a proxy on loopback. A name other than localhost counts
// as off loopback: it may resolve anywhere. An http upstream is plain HTTP
// to begin with, so an http:// proxy for it may be anywhere.
//
// Differences from APIcast, besides the above: those of http_proxy (http://
// or https:// URLs only, ASCII hosts, no credentials, never a link-local
// address, the environment's proxies never used, an empty configuration
// inert, and a loopback upstream, such as the app beside the agent,
// reached directly, never through the proxy, with the chain's other
// upstream settings: upstream_mtls, grpc). gRPC
// (the grpc policy) cannot go through camel (Camel takes HTTP/1.1 requests
// in absolute form): such requests are answered 502, saying so in the log
// (those to a loopback upstream, which go directly, excepted).
type camel struct {
	tr *Transport // nil: no proxy named
}

func newCamel(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg proxyConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	httpURL, httpsURL, err := cfg.proxies(true)
	if err != nil {
		return nil, err
	}
	if httpsURL != nil && httpsURL.Scheme == "http" && !loopback.Host(httpsURL.Hostname()) {
		if cfg.HTTPSProxy != "" {
			return nil, Invalid("https_proxy", "camel sends an https upstream's requests to this proxy without CONNECT, so over http://%s they would cross the network in clear: write https://%s if the proxy speaks TLS there (Camel's TLS port), or use a proxy on loopback", httpsURL.Host, httpsURL.Host)
		}
		return nil, Invalid("all_proxy", "stands for https_proxy, which is not given, and camel sends an https upstream's requests to it without CONNECT, so over http://%s they would cross the network in clear: give https_proxy as https://host:port (Camel's TLS port) or a proxy on loopback, or http_proxy instead of all_proxy when the upstreams are plain http", httpsURL.Host)
	}
	if httpURL == nil && httpsURL == nil {
		warnNoProxy(env, "camel")
		return &camel{}, nil
	}
	tr := &Transport{Proxy: &UpstreamProxy{HTTP: httpURL, HTTPS: httpsURL, Absolute: true}}
	return &camel{tr: sharedTransport(env, transportKey("camel", conf), tr)}, nil
}

func (p *camel) Name() string { return "camel" }

// Access sends the request to the Camel proxy, in the access phase (where
// APIcast's skips CONNECT), which nothing but an answer skips.
func (p *camel) Access(c *Context) {
	if p.tr != nil {
		c.Transport = p.tr.Over(c.Transport)
	}
}
