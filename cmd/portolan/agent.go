package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/agent"
)

func agentCommand() *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "run a command as a container's entrypoint, supervise it and phone home",
		UsageText: "portolan agent [flags] -- CMD [ARGS...]",
		Description: `The agent starts CMD in its own process group, forwards signals to it, reaps
orphaned processes (as PID 1, or as a child subreaper) and exits with CMD's exit
code (128+N when CMD died of signal N).

With --home it registers the instance with the coordinator and heartbeats its
health; it learns the instance's placement (service and plans), writes it to
--placement-file and serves it on the local API (GET /v1/agent/self,
/v1/agent/health, /metrics). CMD runs even while home is unreachable.

With --composition (files baked into the image) it brings the service's own
documents to home after registering, before --wait-home releases CMD: home
applies them to the service its join token is scoped to when their version:
is newer than what it has; with home unreachable it retries and serves its
last composition meanwhile.

With --consul it registers the instance with the node's local Consul agent
(tags portolan and plan:<system_name>, Meta instance_id, composition_revision
and label_<k>) with a TTL check it updates on every heartbeat, registers again
when that agent restarts and forgets it, and deregisters on exit; with or
without --home.

On SIGTERM it tells home the instance is draining, waits --drain, forwards the
signal, waits --stop-timeout, then kills the process group; it deregisters when
CMD exits.

With --gateway-listen it fronts the app (--upstream) as an APIcast-style
gateway for the service of its placement: credentials, mapping rules and plan
limits are checked against its copy of the composition, requests of plans it
does not serve go to an instance that serves them, and usage is reported to
home every --report-interval, kept in --cache-dir until home acknowledges it.

With --mgmt-listen it proxies the app's 3scale management calls to
--mgmt-upstream (home by default) with --mgmt-token injected, passing only the
operations of --mgmt-spec that --mgmt-include/--mgmt-omit keep, transformed as
--mgmt-transform says.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "home", Usage: "URL of the coordinator (empty: do not phone home)"},
			&cli.StringFlag{Name: "token", Usage: "a join token (portolan token create: registers this instance, pins home's CA) or the coordinator's --agent-token"},
			&cli.StringFlag{Name: "consul", Usage: "URL of the node's local Consul agent, e.g. http://127.0.0.1:8500 (empty: do not register with Consul)"},
			&cli.StringFlag{Name: "consul-token", EnvVars: []string{"CONSUL_HTTP_TOKEN"}, Usage: "ACL token for Consul"},
			&cli.DurationFlag{Name: "consul-deregister-after", Value: agent.DefaultConsulDeregisterAfter, Usage: "Consul removes the service after its check has been critical this long"},
			&cli.StringFlag{Name: "service", Usage: "system_name of the service this container implements"},
			&cli.StringSliceFlag{Name: "composition", Usage: "files or directories of the documents this image carries (its Service and Backends, with plans and limits): brought to home at registration, applied under their version:"},
			&cli.StringFlag{Name: "address", Usage: "address to register: an IP, an interface name, or empty for the first non-loopback IPv4"},
			&cli.IntFlag{Name: "port", Usage: "port the app listens on"},
			&cli.StringSliceFlag{Name: "label", Usage: "instance label k=v (repeatable)"},
			&cli.DurationFlag{Name: "heartbeat", Value: agent.DefaultHeartbeat, Usage: "heartbeat interval"},
			&cli.DurationFlag{Name: "ttl", Value: agent.DefaultTTL, Usage: "time without heartbeat after which home marks the instance critical"},
			&cli.StringFlag{Name: "check-http", Usage: "health check: GET this URL (2xx passing, 429 warning, else critical)"},
			&cli.StringFlag{Name: "check-tcp", Usage: "health check: connect to this host:port"},
			&cli.StringFlag{Name: "check-exec", Usage: "health check: run this command, split into words as a shell splits them, without a shell (exit 0 passing, 1 warning, else critical)"},
			&cli.DurationFlag{Name: "check-interval", Value: agent.DefaultCheckInterval, Usage: "how often the health check runs"},
			&cli.DurationFlag{Name: "check-start-period", Value: agent.DefaultCheckStartPeriod, Usage: "time the app has to start: until its check first passes, " +
				"or this long after CMD starts, a failing check reports warning (out of traffic), not critical (0: the first failure counts)"},
			&cli.StringFlag{Name: "placement-file", Value: agent.DefaultPlacementFile, Usage: "where the instance's placement is written, atomically"},
			&cli.StringFlag{Name: "cache-dir", Value: agent.DefaultCacheDir, Usage: `where the agent keeps its state: the last composition (so a restart without home still serves it), the usage journal and spool, its credential and keys; an agent with a gateway needs it writable ("" keeps it all in memory, lost at a restart)`},
			&cli.StringFlag{Name: "api", Value: agent.DefaultAPI, Usage: `local API address ("off" disables it)`},
			&cli.DurationFlag{Name: "wait-home", Usage: "hold CMD's start until the first registration succeeds, at most this long"},
			&cli.BoolFlag{Name: "signal-group", Usage: "forward signals to CMD's whole process group"},
			&cli.DurationFlag{Name: "drain", Usage: "on SIGTERM, wait this long after telling home before forwarding the signal"},
			&cli.DurationFlag{Name: "stop-timeout", Value: agent.DefaultStopTimeout, Usage: "after forwarding SIGTERM, wait this long, then SIGKILL the process group"},
		}, append(append(append(append(append(append(agentListenFlags(), inCategory("Gossip", gossipFlags())...), inCategory("Gateway", gatewayFlags())...),
			inCategory("Gateway", usageFlags())...), inCategory("Gateway", gatewayObserveFlags())...), inCategory("Management proxy", mgmtFlags())...), homeTLSFlags()...)...),
		Action: func(c *cli.Context) error {
			// Agent.Run keeps a log line to a broken standard error from
			// killing the agent with SIGPIPE; this covers those before and
			// after it (New's warnings, and Run's error, which main prints
			// once this returns: so the handler is kept until the process
			// exits), so the exit code is still the one Run gives.
			signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
			labels, err := parseLabels(c.StringSlice("label"))
			if err != nil {
				return err
			}
			gcfg, err := gossipConfig(c)
			if err != nil {
				return err
			}
			mcfg, err := mgmtConfig(c)
			if err != nil {
				return cli.Exit("agent: "+err.Error(), 2)
			}
			trust, err := homeTLS(c)
			if err != nil {
				return cli.Exit("agent: "+err.Error(), 2)
			}
			a, err := agent.New(ctxOf(c), agent.Config{
				Command: c.Args().Slice(),
				Home:    c.String("home"), Token: c.String("token"), Service: c.String("service"), Composition: c.StringSlice("composition"),
				CAFile: trust.CAFile, CAPin: trust.CAPin, TLSClientCert: trust.CertFile, TLSClientKey: trust.KeyFile,
				Address: c.String("address"), Port: c.Int("port"), Labels: labels,
				Consul: c.String("consul"), ConsulToken: c.String("consul-token"), ConsulDeregisterAfter: c.Duration("consul-deregister-after"),
				Heartbeat: c.Duration("heartbeat"), TTL: c.Duration("ttl"),
				Check: agent.CheckConfig{
					HTTP: c.String("check-http"), TCP: c.String("check-tcp"), Exec: c.String("check-exec"),
					Interval: c.Duration("check-interval"), StartPeriod: c.Duration("check-start-period"),
				},
				MetricsListen: c.String("metrics-listen"), Limits: agentLimits(c),
				PlacementFile: c.String("placement-file"), CacheDir: c.String("cache-dir"), API: c.String("api"), WaitHome: c.Duration("wait-home"),
				SignalGroup: c.Bool("signal-group"), Drain: c.Duration("drain"), StopTimeout: c.Duration("stop-timeout"),
				Gossip: gcfg, Gateway: observeConfig(c, gatewayConfig(c)), Mgmt: mcfg, ReportInterval: c.Duration("report-interval"), Version: version, Logger: loggerFrom(c),
			})
			if code, stopped := agent.StopCode(err); stopped {
				return cli.Exit("agent: "+err.Error(), code)
			}
			if err != nil {
				return cli.Exit("agent: "+err.Error(), 2)
			}
			code, err := a.Run(ctxOf(c))
			if err != nil {
				log := loggerFrom(c)
				log.Error().Err(err).Msg("agent")
				if code == 0 {
					code = 1
				}
			}
			if code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

// parseLabels reads repeated k=v flags. A key given twice is refused
// rather than one of its values silently kept.
func parseLabels(specs []string) (map[string]string, error) {
	labels := map[string]string{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value", s)
		}
		if old, dup := labels[k]; dup {
			return nil, fmt.Errorf("--label %s is given twice (%q and %q): give each key once", k, old, v)
		}
		labels[k] = v
	}
	return labels, nil
}
