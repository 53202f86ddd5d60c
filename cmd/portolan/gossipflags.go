package main

import (
	"errors"
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
		&cli.StringSliceFlag{Name: "gossip-key", Usage: "base64 AES key of 16, 24 or 32 bytes encrypting gossip (repeatable for rotation: the first encrypts, all decrypt); by default home hands its keyring to registered agents"},
		&cli.StringFlag{Name: "gossip-key-file", Usage: "file of --gossip-key values, one a line, the first encrypting (keeps keys out of ps)"},
		&cli.BoolFlag{Name: "gossip-insecure", Usage: "run gossip WITHOUT encryption: anyone reaching the port joins, reads and injects (warned at start and every hour)"},
		&cli.StringFlag{Name: "cluster", Value: "portolan", Usage: "cluster name: clusters with different names ignore each other"},
		&cli.IntFlag{Name: "gossip-max-members", Value: gossip.DefaultMaxMembers, Usage: "live members a node takes at most, itself included; past it new ones are refused (a keyring holder cannot make up members without end): keep it above the cluster's size, home's --max-instances"},
	}
}

// gossipConfig reads the agent's gossip flags; nil when gossip is off. With
// neither keys nor --gossip-insecure the agent waits for home's keyring.
func gossipConfig(c *cli.Context) (*gossip.Config, error) {
	keys, insecure, err := gossipKeys(c)
	if err != nil {
		return nil, err
	}
	cfg, err := gossipNode(c)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		if len(keys) > 0 || insecure {
			return nil, errors.New("--gossip-key, --gossip-key-file and --gossip-insecure need --gossip-bind or --join")
		}
		return nil, nil
	}
	cfg.Keys, cfg.Insecure = keys, insecure
	return cfg, nil
}

// gossipNode reads where the node listens and whom it joins; nil when gossip
// is off.
func gossipNode(c *cli.Context) (*gossip.Config, error) {
	bind, join := c.String("gossip-bind"), nonEmpty(c.StringSlice("join"))
	if bind == "" && len(join) == 0 {
		if c.String("gossip-advertise") != "" {
			return nil, errors.New("--gossip-advertise needs --gossip-bind or --join")
		}
		return nil, nil
	}
	if bind == "" {
		bind = gossip.DefaultBind
	} else if _, _, err := net.SplitHostPort(bind); err != nil {
		bind = net.JoinHostPort(bind, strconv.Itoa(gossip.DefaultPort))
	}
	maxMembers := c.Int("gossip-max-members")
	if maxMembers < 2 {
		return nil, fmt.Errorf("--gossip-max-members %d: want at least 2, this node and one peer", maxMembers)
	}
	return &gossip.Config{Bind: bind, Advertise: c.String("gossip-advertise"), Join: join, Cluster: c.String("cluster"),
		MaxMembers: maxMembers}, nil
}

// gossipKeys reads --gossip-key, then --gossip-key-file, and
// --gossip-insecure; keys and insecure together are refused. The file is
// read as every secret file is (readSecretFileFor): bounded, a regular file
// or a pipe, and warned of when everyone may read it.
func gossipKeys(c *cli.Context) (keys [][]byte, insecure bool, err error) {
	encoded := nonEmpty(c.StringSlice("gossip-key"))
	if path := c.String("gossip-key-file"); path != "" {
		b, err := readSecretFileFor(c, "gossip-key-file", path)
		if err != nil {
			return nil, false, err
		}
		var fromFile []string
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				fromFile = append(fromFile, line)
			}
		}
		if len(fromFile) == 0 {
			return nil, false, fmt.Errorf("--gossip-key-file %s holds no key: want base64 keys, one a line", path)
		}
		encoded = append(encoded, fromFile...)
	}
	for _, k := range encoded {
		key, err := gossip.ParseKey(k)
		if err != nil {
			return nil, false, fmt.Errorf("--gossip-key: %w", err)
		}
		keys = append(keys, key)
	}
	insecure = c.Bool("gossip-insecure")
	if insecure && len(keys) > 0 {
		return nil, false, errors.New("--gossip-insecure with --gossip-key or --gossip-key-file: choose one")
	}
	return keys, insecure, nil
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
