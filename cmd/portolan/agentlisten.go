package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/fdbudget"
	"github.com/portolan/portolan/internal/httpserve"
)

// agentListenFlags are the agent's metrics listener and the bounds of its
// own HTTP listeners (the gateway has its own).
func agentListenFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "metrics-listen", Usage: "serve GET /metrics and the probes /health/live and /health/ready, and nothing else, on this address, e.g. :9100, " +
			"so Prometheus and orchestrators reach the agent from outside without reaching the local API (empty: off; the local API keeps its /metrics)"},
		&cli.DurationFlag{Name: "body-timeout", Value: httpserve.DefaultBodyTimeout, Usage: "on the local API, metrics and management proxy listeners, a request body must arrive within this, or the connection is closed"},
		&cli.IntFlag{Name: "max-connections", Value: agentMaxConns, Usage: "on each of the local API, metrics and management proxy listeners, connections open at once; one more is closed as soon as it is accepted (lowered under a low open file limit, so that a flood on one leaves the agent descriptors for the rest)"},
	}
}

// agentMaxConns bounds the connections of each of the agent's own
// listeners, which serve one container's app, its probes and a scraper.
const agentMaxConns = 1024

// agentLimits reads the bounds of the agent's own listeners, their
// connections within a share of the open file limit: idle connections to
// the metrics port took every descriptor of an agent at ulimit -n 256, its
// gateway and health probe with them.
func agentLimits(c *cli.Context) httpserve.Limits {
	n, _ := fdbudget.Bound(c.Int("max-connections"), fdbudget.OwnConns(fdbudget.Limit(), 3))
	return httpserve.Limits{BodyTimeout: c.Duration("body-timeout"), MaxConns: n}
}
