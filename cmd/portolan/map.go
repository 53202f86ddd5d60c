package main

import (
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/registry/client"
)

func mapCommand() *cli.Command {
	return &cli.Command{
		Name:  "map",
		Usage: "print the service map: services, their plans and the instances serving them",
		UsageText: "portolan map --home URL --token T [--service S] [--plan P] [--status S] [--label K=V] [--summary|--instances|--limit N [--cursor ID]] [-o table|json|tree|dot] [--watch]\n" +
			"portolan map --consul URL [--dc NAME | --all-datacenters] [--service S] [-o ...]",
		Description: `Reads the service map from the coordinator (GET /v1/map, with an admin access token
or an instance credential) and prints it:

  table  one row per instance and plan it serves: service, plan, instance,
         address, status and time since its last heartbeat (the default)
  json   the map as the coordinator serves it
  tree   service → plans → instances
  dot    a Graphviz digraph (portolan map -o dot | dot -Tsvg > map.svg)

A map of more than 200 instances (after the filters) is summarised
instead of listed, unless asked otherwise: one row per service and per plan
it serves, with the count of instances by status, then the total. --summary
always prints the counts (table or json), --instances always the list, and
--limit N lists a page of N instances by id (--cursor, printed after it,
gives the next). The -o json, tree and dot outputs always print the map.
--service, --plan, --status and --label filter the instances: the
coordinator filters, pages and counts; an agent (--via) or Consul sends the
whole map and the filtering happens here.

--watch redraws on every change, through blocking queries, until interrupted;
it keeps going, with backoff, while the coordinator is unreachable. Once
current it receives from the coordinator only the instances that changed
(an instance's age is then as of its last change), and whether it follows
the counts or the instances is decided, as above, at its first read.

--consul reads the map straight from a Consul agent instead: every service
registered with the tag "portolan" (portolan agent --consul), its plans from
the plan:<system_name> tags and its health from Consul's checks, in the
agent's datacenter, the one --dc names, or every WAN-joined datacenter with
--all-datacenters.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "home", Value: "http://127.0.0.1:7070", Usage: "URL of the coordinator"},
			&cli.StringFlag{Name: "token", Usage: "the coordinator's admin access token (or an instance credential)"},
			&cli.StringFlag{Name: "via", Usage: "ask a local agent's API (e.g. 127.0.0.1:7071) instead of home: it answers from gossip, merged with home's view when home is reachable"},
			&cli.StringFlag{Name: "service", Usage: "show only this service (its system_name)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: mapFormatTable, Usage: "output format: table, json, tree or dot"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "redraw the map on every change until interrupted"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long one request may take (with --watch, on top of the blocking wait)"},
		}, append(mapQueryFlags(), append(consulMapFlags(), homeTLSFlags()...)...)...),
		Action: runMap,
	}
}

func runMap(c *cli.Context) error {
	if err := noArguments(c); err != nil {
		return err
	}
	format := strings.ToLower(strings.TrimSpace(c.String("output")))
	render, ok := mapRenderers[format]
	if !ok {
		return fmt.Errorf("map: unknown output format %q: want table, json, tree or dot", c.String("output"))
	}
	q, want, err := mapQueryOf(c, format)
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}
	if c.IsSet("consul") {
		return runConsulMap(c, q, want, format, render)
	}
	source, err := newMapSource(c)
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}

	if !c.Bool("watch") {
		ctx, cancel := contextWithTimeout(c)
		defer cancel()
		v, err := source.read(ctx, q, want)
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
		if v.m != nil && q.Service != "" && len(v.m.Services) == 0 {
			fmt.Fprintf(errWriter(c), "portolan map: no service %q on the map\n", q.Service)
		}
		if v.m != nil && v.m.View != "" && format != mapFormatJSON {
			fmt.Fprintf(c.App.Writer, "view: %s\n", v.m.View)
		}
		return printView(c.App.Writer, errWriter(c), v, format, want, render)
	}
	if q.Limit > 0 {
		return fmt.Errorf("map: --watch follows the whole (filtered) map: --limit pages a one-off read")
	}

	ctx, stop := signal.NotifyContext(ctxOf(c), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	w := &mapWatcher{
		source:      source,
		query:       q,
		want:        want,
		format:      format,
		render:      render,
		out:         c.App.Writer,
		errOut:      errWriter(c),
		tty:         isTerminal(c.App.Writer),
		wait:        watchWait,
		timeout:     c.Duration("timeout"),
		minInterval: watchMinInterval,
		retry:       backoff.Backoff{Min: watchBackoffMin, Max: watchBackoffMax},
		now:         time.Now,
	}
	if err := w.run(ctx); err != nil {
		return fmt.Errorf("map: %w", err)
	}
	return nil
}

// newMapSource reads the map from home (--home, --token) or, with --via,
// from a local agent's API.
func newMapSource(c *cli.Context) (*mapSource, error) {
	if via := c.String("via"); via != "" {
		cl, err := client.New(client.Config{Address: "http://" + strings.TrimPrefix(via, "http://")})
		if err != nil {
			return nil, fmt.Errorf("--via %w", err)
		}
		return &mapSource{client: cl, agent: true}, nil
	}
	if err := required(c, "token"); err != nil {
		return nil, err
	}
	trust, err := homeTLS(c)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(client.Config{Address: c.String("home"), Token: c.String("token"), TLS: trust})
	if err != nil {
		return nil, fmt.Errorf("--home %w", err)
	}
	return &mapSource{client: cl}, nil
}
