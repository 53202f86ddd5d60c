//go:build !agentonly

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
)

// coordinatorProxyFlags describe a reverse proxy in front of home that
// terminates TLS; without them home believes only its own connections.
func coordinatorProxyFlags() []cli.Flag {
	return inCategory("Reverse proxy", []cli.Flag{
		&cli.StringFlag{Name: "public-url", Usage: "the URL operators open home at through a reverse proxy (e.g. https://home.example.com, no path): " +
			"https makes the console's session cookie Secure, the console's forms must come from this origin, " +
			"and the 3scale APIs' answers give URLs on it (provider base URLs, links, the endpoint APIcast reports to) (default: home's own address and TLS decide)"},
		&cli.StringSliceFlag{Name: "trusted-proxies", Usage: "addresses or CIDR blocks of the reverse proxies in front of home (comma-separated or repeated): " +
			"from these peers alone X-Forwarded-For is believed, its right-most address not theirs counting as the client's in the console's failed-login limit; " +
			"the proxies must append to it (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for)"},
	})
}

// coordinatorProxy reads coordinatorProxyFlags; the coordinator checks them.
func coordinatorProxy(c *cli.Context) coordinator.ProxyConfig {
	return coordinator.ProxyConfig{PublicURL: c.String("public-url"), TrustedProxies: nonEmpty(c.StringSlice("trusted-proxies"))}
}
