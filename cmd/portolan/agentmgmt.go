package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/agent/mgmt"
)

// mgmtFlags are the agent's management proxy flags.
func mgmtFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "mgmt-listen", Usage: "serve the 3scale management proxy for the app on this address, e.g. " + mgmt.DefaultListen + " (a bare port listens on 127.0.0.1; empty: off)"},
		&cli.StringFlag{Name: "mgmt-upstream", Usage: "3scale admin URL the management proxy forwards to (default: --home)"},
		&cli.StringFlag{Name: "mgmt-token", Usage: "3scale access token the management proxy adds to every call (never logged)"},
		&cli.StringFlag{Name: "mgmt-spec", Usage: "Swagger/OpenAPI file or URL of the management API, e.g. 3scale's account_management_api.json"},
		&cli.StringSliceFlag{Name: "mgmt-include", Usage: `operations the proxy lets through: "tag:NAME", "op:OPERATION_ID" or "METHOD PATH_GLOB" (repeatable; none: all)`},
		&cli.StringSliceFlag{Name: "mgmt-omit", Usage: "operations the proxy refuses with 403, applied after --mgmt-include (repeatable)"},
		&cli.StringFlag{Name: "mgmt-transform", Usage: "YAML file of request and response transforms (see the README)"},
		&cli.DurationFlag{Name: "mgmt-timeout", Value: mgmt.DefaultTimeout, Usage: "management upstream timeout"},
	}
}

// mgmtConfig reads the management proxy flags; nil when --mgmt-listen is empty.
func mgmtConfig(c *cli.Context) (*mgmt.Config, error) {
	cfg := &mgmt.Config{
		Listen: c.String("mgmt-listen"), Upstream: c.String("mgmt-upstream"), Token: c.String("mgmt-token"),
		Spec: c.String("mgmt-spec"), Include: nonEmpty(c.StringSlice("mgmt-include")), Omit: nonEmpty(c.StringSlice("mgmt-omit")),
		Transform: c.String("mgmt-transform"), Timeout: c.Duration("mgmt-timeout"), Limits: agentLimits(c),
		SchemaCheck: mgmtSchemaCheck(),
	}
	if cfg.Listen != "" {
		return cfg, nil
	}
	if cfg.Upstream != "" || cfg.Token != "" || cfg.Spec != "" || len(cfg.Include) > 0 || len(cfg.Omit) > 0 || cfg.Transform != "" {
		return nil, errors.New("the --mgmt-* flags need --mgmt-listen, the address of the management proxy")
	}
	return nil, nil
}
