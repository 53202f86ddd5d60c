package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/agent/gateway"
)

// gatewayFlags turn on the gateway in the agent.
func gatewayFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "gateway-listen", Usage: "serve the gateway on this address, e.g. :8080: requests are authorized against the composition, counted and forwarded to --upstream (empty: no gateway)"},
		&cli.StringFlag{Name: "upstream", Usage: "URL of the app the gateway forwards to, e.g. http://127.0.0.1:3000"},
		&cli.Int64Flag{Name: "gateway-max-body", Value: gateway.DefaultMaxBody, Usage: "largest request body the gateway forwards, in bytes (413 above)"},
		&cli.DurationFlag{Name: "gateway-upstream-timeout", Value: gateway.DefaultUpstreamTimeout, Usage: "how long the app may take to start answering a request (502 after)"},
	}
}

// gatewayConfig reads the gateway flags; nil when the gateway is off.
func gatewayConfig(c *cli.Context) *gateway.Config {
	if c.String("gateway-listen") == "" {
		return nil
	}
	return &gateway.Config{
		Listen: c.String("gateway-listen"), Upstream: c.String("upstream"),
		MaxBodyBytes: c.Int64("gateway-max-body"), UpstreamTimeout: c.Duration("gateway-upstream-timeout"),
	}
}
