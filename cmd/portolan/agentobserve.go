package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/agent/gateway"
)

// gatewayObserveFlags say what the gateway tells dashboards and tracers.
func gatewayObserveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "gateway-extended-metrics", Value: true, Usage: "fill APIcast's service_id and service_system_name labels in, " +
			"as APICAST_EXTENDED_METRICS=true does (false: empty, APIcast's default; a Portolan gateway serves one service, so the labels cost one series)"},
		&cli.StringFlag{Name: "otel-endpoint", Usage: "send a trace span per gateway request to this OTLP/HTTP collector, " +
			"e.g. http://127.0.0.1:4318 (/v1/traces is added to a URL without a path; traceparent is continued and passed upstream; empty: no tracing); " +
			"plain http only on loopback, https elsewhere"},
		&cli.BoolFlag{Name: "otel-insecure-http", Usage: "allow an http:// --otel-endpoint on a host other than loopback: " +
			"each request's path, service and application cross the network in clear (warned at start)"},
	}
}

// observeConfig applies the flags to cfg, when the gateway is on.
func observeConfig(c *cli.Context, cfg *gateway.Config) *gateway.Config {
	if cfg != nil {
		cfg.ExtendedMetrics = c.Bool("gateway-extended-metrics")
		cfg.OTelEndpoint = c.String("otel-endpoint")
		cfg.OTelInsecureHTTP = c.Bool("otel-insecure-http")
	}
	return cfg
}
