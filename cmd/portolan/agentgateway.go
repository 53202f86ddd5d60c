package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/agent/gateway"
	"github.com/portolan/portolan/agent/gateway/policy"
)

// Names of the gateway's TLS flags.
const (
	flagGatewayTLSCert     = "gateway-tls-cert"
	flagGatewayTLSKey      = "gateway-tls-key"
	flagGatewayH2C         = "gateway-h2c"
	flagUpstreamCAFile     = "upstream-ca-file"
	flagUpstreamClientCert = "upstream-client-cert"
	flagUpstreamClientKey  = "upstream-client-key"
)

// gatewayFlags turn on the gateway in the agent.
func gatewayFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "gateway-listen", Usage: "serve the gateway on this address, e.g. :8080: requests are authorized against the composition, counted and forwarded to --upstream (empty: no gateway)"},
		&cli.StringFlag{Name: "upstream", Usage: "URL of the app the gateway forwards to, e.g. http://127.0.0.1:3000"},
		&cli.Int64Flag{Name: "gateway-max-body", Value: gateway.DefaultMaxBody, Usage: "largest request body the gateway forwards, in bytes (413 above)"},
		&cli.IntFlag{Name: "gateway-max-connections", Value: gateway.DefaultMaxConns, Usage: "client connections open at once; one more is closed as soon as it is accepted (nginx_http_connections: accepted minus handled)"},
		&cli.DurationFlag{Name: "gateway-upstream-timeout", Value: gateway.DefaultUpstreamTimeout, Usage: "how long the app may take to start answering a request (504 after, as nginx answers an upstream timeout)"},
		&cli.DurationFlag{Name: "gateway-body-timeout", Value: gateway.DefaultBodyTimeout, Usage: "how long a client may go without sending any of its request body: 408 after and its connection (HTTP/2: its stream) closed, as nginx's client_body_timeout; it bounds the time between two reads, not the whole upload"},
		&cli.StringFlag{Name: flagGatewayTLSCert, Usage: "serve the gateway over TLS (1.2 and up) with this PEM certificate chain, leaf first; HTTP/2 and HTTP/1.1 are offered by ALPN. Reloaded when the file changes (a pair that does not load is logged and the old one kept)"},
		&cli.StringFlag{Name: flagGatewayTLSKey, Usage: "PEM private key of --gateway-tls-cert"},
		&cli.BoolFlag{Name: flagGatewayH2C, Usage: "without TLS, also serve HTTP/2 in clear text (h2c: prior knowledge and Upgrade), e.g. behind a load balancer that speaks it"},
		&cli.StringFlag{Name: flagUpstreamCAFile, Usage: "PEM file of the CAs that sign https upstreams' certificates (--upstream, and upstreams chosen by routing or upstream policies); default: the system's CAs"},
		&cli.StringFlag{Name: flagUpstreamClientCert, Usage: "PEM client certificate the gateway presents to https upstreams that require one (mutual TLS); reloaded when the file changes, as --gateway-tls-cert is"},
		&cli.StringFlag{Name: flagUpstreamClientKey, Usage: "PEM private key of --upstream-client-cert"},
		&cli.IntSliceFlag{Name: "gateway-cache-status-codes", Value: cli.NewIntSlice(policy.DefaultCacheStatusCodes()...),
			Usage: "upstream statuses the content_caching policy keeps, e.g. 200,302 (APIcast's APICAST_CACHE_STATUS_CODES)"},
		&cli.DurationFlag{Name: "gateway-cache-max-time", Value: policy.DefaultCacheMaxTime,
			Usage: "how long content_caching keeps a response whose upstream sent no Cache-Control max-age nor Expires (APIcast's APICAST_CACHE_MAX_TIME)"},
		&cli.Int64Flag{Name: "gateway-cache-size", Value: policy.DefaultCacheMaxBytes,
			Usage: "memory for the responses content_caching keeps, in bytes, all services together (least recently used go first; a response over 1/16 of it is not kept)"},
		&cli.BoolFlag{Name: "oidc-insecure-issuers", Usage: "let OpenID Connect issuers (oidc_issuer_endpoint and the jwks_uri it names, jwt_parser's issuer_endpoint) and token_introspection endpoints be reached over plain HTTP off loopback: anyone on the way can then serve their own keys and mint tokens the gateway accepts, or read the tokens and client credentials sent for introspection (warned once per issuer)"},
	}
}

// gatewayConfig reads the gateway flags; nil when the gateway is off. The
// TLS files are checked by the agent when it starts the gateway.
func gatewayConfig(c *cli.Context) *gateway.Config {
	if c.String("gateway-listen") == "" {
		return nil
	}
	return &gateway.Config{
		Listen: c.String("gateway-listen"), Upstream: c.String("upstream"),
		MaxBodyBytes: c.Int64("gateway-max-body"), MaxConns: c.Int("gateway-max-connections"), UpstreamTimeout: c.Duration("gateway-upstream-timeout"),
		BodyTimeout: c.Duration("gateway-body-timeout"),
		TLS: gateway.TLS{
			CertFile: c.String(flagGatewayTLSCert), KeyFile: c.String(flagGatewayTLSKey), H2C: c.Bool(flagGatewayH2C),
			UpstreamCAFile: c.String(flagUpstreamCAFile), UpstreamCertFile: c.String(flagUpstreamClientCert), UpstreamKeyFile: c.String(flagUpstreamClientKey),
		},
		ContentCaching: policy.ContentCaching{StatusCodes: c.IntSlice("gateway-cache-status-codes"),
			MaxTime: c.Duration("gateway-cache-max-time"), MaxBytes: c.Int64("gateway-cache-size")},
		OIDCInsecureIssuers: c.Bool("oidc-insecure-issuers"),
	}
}
