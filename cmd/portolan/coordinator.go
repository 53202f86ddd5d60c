//go:build !agentonly

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/internal/fdbudget"
	"github.com/portolan/portolan/internal/gcfloor"
	"github.com/portolan/portolan/internal/httpserve"
)

func coordinatorCommand() *cli.Command {
	return &cli.Command{
		Name:  "coordinator",
		Usage: "run home: the composition store and the 3scale Account Management API",
		Description: `The coordinator owns the service composition. It keeps it in an embedded
bbolt file in --data-dir and serves it through a 3scale-compatible Account
Management API under /admin/api/, plus GET /metrics (Prometheus).

Without --access-token (or --access-token-file) it generates one on first
start and keeps it in the data dir (access_token, mode 0600): it says where,
never the token. SIGTERM or SIGINT stops it gracefully: requests in flight
get 5 s, then are cut, and the stores are closed; a second signal cuts them
at once (exit status 1).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:7070", Usage: "address of the HTTP API (loopback by default)"},
			&cli.StringFlag{Name: "data-dir", Value: "./portolan-data", Usage: "directory of the composition store and generated token"},
			&cli.StringFlag{Name: "access-token", Usage: "admin access token for the 3scale API (generated when empty)"},
			&cli.StringFlag{Name: "agent-token", Usage: "bootstrap join token: registers any instance, never expires (scoped ones: portolan token create)"},
			&cli.DurationFlag{Name: "heartbeat", Value: 2 * time.Second, Usage: "heartbeat interval told to agents"},
			&cli.DurationFlag{Name: "ttl", Value: 6 * time.Second, Usage: "an instance without a heartbeat for this long turns critical (agents may ask for their own, 1s to 1h)"},
			&cli.DurationFlag{Name: "body-timeout", Value: httpserve.DefaultBodyTimeout, Usage: "a request body must arrive within this, or the connection is closed"},
			&cli.IntFlag{Name: "max-connections", Value: httpserve.DefaultMaxConns, Usage: "connections open at once; one more is closed as soon as it is accepted (each agent keeps one: keep it above --max-instances)"},
			&cli.Int64Flag{Name: "max-import-bytes", Value: coordinator.DefaultMaxImportBytes, Usage: "the largest composition document portolan import composition may send, in bytes (an export of a home holding many large ActiveDocs may be over the default: raise it on the home that imports it)"},
			&cli.DurationFlag{Name: "deregister-critical-after", Value: 30 * time.Second, Usage: "remove an instance critical for this long (values down to 1s are accepted)"},
			&cli.StringFlag{Name: "consul", Usage: "keep the composition in Consul KV at this agent (e.g. http://127.0.0.1:8500) instead of bbolt: coordinators on one Consul serve one composition"},
			&cli.StringFlag{Name: "consul-token", Usage: "Consul ACL token", EnvVars: []string{"CONSUL_HTTP_TOKEN"}},
			&cli.StringFlag{Name: "consul-prefix", Value: "portolan/", Usage: "Consul KV prefix of the composition"},
			&cli.StringFlag{Name: "consul-datacenter", Usage: "Consul datacenter (default: the agent's own)"},
			&cli.IntFlag{Name: "consul-txn-max-req-len", Value: consulstore.DefaultMaxTxnBytes, Usage: "Consul servers' txn_max_req_len, in bytes: " +
				"an entity whose transaction would be larger (a large ActiveDoc) is refused before it is sent; raise it with Consul's"},
			&cli.Int64Flag{Name: "gc-heap-floor", Value: coordinator.DefaultHeapFloor, Usage: "let the heap grow to at least this many bytes between garbage collections " +
				"(fewer collections, and a shorter latency tail, while the registry is small; above it GOGC rules as usual; 0: GOGC alone)"},
			&cli.BoolFlag{Name: "start-empty", Usage: "start with an empty composition although the data dir's composition.floor says this home had one " +
				"(composition.db, or with --consul Consul's keys, were lost: without it home refuses to start); agents drop what they have and take what is imported next"},
			&cli.StringFlag{Name: "apicast-policies", Usage: "folder of APIcast's policy manifests (policies.json, as APIcast's GET /policies answers, or APIcast's <name>/<version>/apicast-policy.json tree) that GET /admin/api/policies.json lists and whose JSON schemas check policy chains when they are saved (without it, the gateway's own rules check them)"},
		}, append(append(append(append(coordinatorGossipFlags(), accessTokenFlags()...), capFlags()...), coordinatorTLSFlags()...), append(append(identityFlags(), webhookFlags()...), coordinatorProxyFlags()...)...)...),
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			gcfg, gkr, err := coordinatorGossip(c)
			if err != nil {
				return err
			}
			tlsCfg, err := coordinatorTLS(c)
			if err != nil {
				return err
			}
			identity, err := identityConfig(c)
			if err != nil {
				return err
			}
			var consulCfg *coordinator.ConsulConfig
			if addr := c.String("consul"); addr != "" {
				prefix, err := consulPrefix(c.String("consul-prefix"))
				if err != nil {
					return err
				}
				consulCfg = &coordinator.ConsulConfig{Address: addr, Token: c.String("consul-token"),
					Prefix: prefix, Datacenter: c.String("consul-datacenter"), MaxTxnBytes: c.Int("consul-txn-max-req-len")}
				if consulCfg.MaxTxnBytes < 64<<10 {
					return fmt.Errorf("--consul-txn-max-req-len: %d bytes is below 64 KiB, too small for the composition's entities (Consul's default is 512 KiB)", consulCfg.MaxTxnBytes)
				}
				if err := consulCfg.CheckPrefixMoved(c.Context, c.String("consul-prefix")); err != nil {
					return err
				}
			}
			if c.Int64("gc-heap-floor") < 0 {
				return fmt.Errorf("--gc-heap-floor: %d is negative (0 turns it off)", c.Int64("gc-heap-floor"))
			}
			ctx, hurry, stop := stopSignals(c.Context)
			gcDone := make(chan struct{})
			go func() { gcfloor.Run(ctx, uint64(c.Int64("gc-heap-floor"))); close(gcDone) }()
			defer func() { stop(); <-gcDone }() // the floor's percent restored before return
			co, err := coordinator.NewContext(ctx, coordinator.Config{
				Consul:                  consulCfg,
				Listen:                  c.String("listen"),
				DataDir:                 c.String("data-dir"),
				AccessToken:             c.String("access-token"),
				AgentToken:              c.String("agent-token"),
				Identity:                identity,
				Heartbeat:               c.Duration("heartbeat"),
				TTL:                     c.Duration("ttl"),
				DeregisterCriticalAfter: c.Duration("deregister-critical-after"),
				Limits:                  httpserve.Limits{BodyTimeout: c.Duration("body-timeout"), MaxConns: coordinatorConns(c)},
				Version:                 version,
				Logger:                  loggerFrom(c),
				Announce:                os.Stdout,
				Gossip:                  gcfg,
				MaxAccessTokens:         c.Int("max-access-tokens"),
				MaxImportBytes:          c.Int64("max-import-bytes"),
				GossipKeyring:           gkr,
				Caps:                    capsConfig(c),
				Webhooks:                webhookConfig(c),
				APIcastPolicies:         c.String("apicast-policies"),
				StartEmpty:              c.Bool("start-empty"),
				TLS:                     tlsCfg,
				Proxy:                   coordinatorProxy(c),
			})
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("stopped by a signal while starting: %w", err)
				}
				return err
			}
			defer context.AfterFunc(hurry, co.StopNow)()
			if err := co.Run(ctx); err != nil {
				if errors.Is(err, coordinator.ErrStoppedNow) {
					return fmt.Errorf("a second signal: %w", err)
				}
				return err
			}
			return nil
		},
	}
}

// stopSignals is done at the first SIGTERM or SIGINT (a graceful stop),
// and hurry at the second (stop now: Ctrl-C again, as Consul's agent
// takes it), which would otherwise be dropped while home waits for its
// clients. release stops listening and ends the watcher.
func stopSignals(parent context.Context) (stopping, hurry context.Context, release func()) {
	stopping, stopCancel := context.WithCancel(parent)
	hurry, hurryCancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for _, cancel := range []context.CancelFunc{stopCancel, hurryCancel} {
			select {
			case <-sigs:
				cancel()
			case <-quit:
				return
			}
		}
	}()
	return stopping, hurry, func() {
		signal.Stop(sigs)
		close(quit)
		<-done
		stopCancel()
		hurryCancel()
	}
}

// coordinatorConns is --max-connections within the open file limit, less
// what home keeps for its stores, gossip and Consul: past it, a flood of
// idle connections took every descriptor and home stopped answering.
func coordinatorConns(c *cli.Context) int {
	want := c.Int("max-connections")
	nofile := fdbudget.Limit()
	n, lowered := fdbudget.Bound(want, fdbudget.ServerConns(nofile))
	if !lowered {
		return n
	}
	// A bound given is warned of; the default lowered is only said.
	log := loggerFrom(c)
	ev := log.Info()
	if c.IsSet("max-connections") {
		ev = log.Warn()
	}
	ev.Int("max_connections", want).Uint64("open_file_limit", nofile).Int("bounded_to", n).
		Msg("max connections exceed the open file limit; bounded so that home keeps descriptors of its own (raise the limit: ulimit -n, LimitNOFILE=)")
	return n
}
