package main

import (
	"errors"
	"fmt"
	"io"

	consul "github.com/hashicorp/consul/api"
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/consulacl"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

func consulMapFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "consul", Usage: "read the map straight from this Consul agent (e.g. http://127.0.0.1:8500) instead of home"},
		&cli.StringFlag{Name: "consul-token", EnvVars: []string{"CONSUL_HTTP_TOKEN"}, Usage: "ACL token for Consul"},
		&cli.StringFlag{Name: "dc", Usage: "with --consul: the datacenter to read (default: the Consul agent's own)"},
		&cli.BoolFlag{Name: "all-datacenters", Usage: "with --consul: read every datacenter the Consul agent knows (WAN-joined)"},
	}
}

// runConsulMap draws the map of one or every datacenter from Consul's catalog.
func runConsulMap(c *cli.Context, q registry.MapQuery, want mapWant, format string, render func(io.Writer, *registry.Map) error) error {
	switch {
	case c.Bool("watch"):
		return errors.New("map: --watch is not supported with --consul (use consul watch, or portolan map --home)")
	case c.IsSet("via"):
		return errors.New("map: --via and --consul both say where to read the map: give one")
	case c.IsSet("dc") && c.Bool("all-datacenters"):
		return errors.New("map: --dc and --all-datacenters: give one")
	}
	if consulacl.ClearText(c.String("consul"), c.String("consul-token")) {
		fmt.Fprintln(errWriter(c), "portolan map: --consul is plain http to a host other than loopback: the Consul ACL token crosses the network in clear; use https:// (Consul's HTTPS port, 8501)")
	}
	ccfg := consul.DefaultNonPooledConfig()
	ccfg.Address, ccfg.Token = c.String("consul"), c.String("consul-token")
	client, err := consul.NewClient(ccfg)
	if err != nil {
		return fmt.Errorf("map: --consul %s: %w", c.String("consul"), err)
	}
	reader := consulcatalog.New(client)
	ctx, cancel := contextWithTimeout(c)
	defer cancel()
	dcs := []string{c.String("dc")}
	if c.Bool("all-datacenters") {
		if dcs, err = reader.Datacenters(ctx); err != nil {
			return fmt.Errorf("map: %w", err)
		}
	}
	var all []registry.MapInstance
	for _, dc := range dcs {
		list, err := reader.Instances(ctx, dc)
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
		all = append(all, list...)
	}
	v := localView(consulcatalog.Map(all), q, want)
	if v.m != nil && q.Service != "" && len(v.m.Services) == 0 {
		fmt.Fprintf(errWriter(c), "portolan map: no service %q in Consul\n", q.Service)
	}
	return printView(c.App.Writer, errWriter(c), v, format, want, render)
}
