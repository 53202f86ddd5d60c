package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/gossip"
)

// gossipFlags are shared by the coordinator and the agent.
func gossipFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "gossip-bind", Usage: fmt.Sprintf("join a gossip cluster, listening on ADDR[:PORT] (port %d: 7946 is Docker Swarm's); implied by --join", gossip.DefaultPort)},
		&cli.StringFlag{Name: "gossip-advertise", Usage: "ADDR[:PORT] other nodes reach this one at, when it differs from --gossip-bind (NAT, containers)"},
		&cli.StringSliceFlag{Name: "join", Usage: "HOST:PORT of a cluster member (repeatable; retried until one answers)"},
		&cli.StringSliceFlag{Name: "gossip-key", Usage: "base64 AES key of 16, 24 or 32 bytes encrypting gossip (repeatable for rotation: the first encrypts, all decrypt)"},
		&cli.StringFlag{Name: "cluster", Value: "portolan", Usage: "cluster name: clusters with different names ignore each other"},
	}
}

// gossipConfig reads the gossip flags; nil when gossip is off.
func gossipConfig(c *cli.Context) (*gossip.Config, error) {
	bind, join, keys := c.String("gossip-bind"), nonEmpty(c.StringSlice("join")), nonEmpty(c.StringSlice("gossip-key"))
	if bind == "" && len(join) == 0 {
		if len(keys) > 0 || c.String("gossip-advertise") != "" {
			return nil, fmt.Errorf("--gossip-key and --gossip-advertise need --gossip-bind or --join")
		}
		return nil, nil
	}
	if bind == "" {
		bind = gossip.DefaultBind
	} else if _, _, err := net.SplitHostPort(bind); err != nil {
		bind = net.JoinHostPort(bind, strconv.Itoa(gossip.DefaultPort))
	}
	cfg := &gossip.Config{Bind: bind, Advertise: c.String("gossip-advertise"), Join: join, Cluster: c.String("cluster")}
	for _, k := range keys {
		key, err := gossip.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("--gossip-key: %w", err)
		}
		cfg.Keys = append(cfg.Keys, key)
	}
	return cfg, nil
}

// nonEmpty drops empty values (an empty PORTOLAN_* variable means "not set").
func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
