//go:build !agentonly

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/registry"
)

// identityFlags are the coordinator's caps on instances and join tokens.
func identityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-instances", Value: registry.DefaultMaxInstances, Usage: "live instances home holds at most; registrations beyond get 429"},
		&cli.IntFlag{Name: "max-join-tokens", Value: registry.DefaultMaxJoinTokens, Usage: "join tokens home keeps at most (portolan token create beyond gets 429)"},
		&cli.IntFlag{Name: "max-instances-per-token", Value: registry.DefaultMaxInstancesPerToken,
			Usage: "cap of live instances a join token gets when portolan token create gives none (--max-instances); keep it below --max-instances, so that one leaked token cannot fill home"},
	}
}

// identityConfig reads identityFlags.
func identityConfig(c *cli.Context) (coordinator.IdentityConfig, error) {
	cfg := coordinator.IdentityConfig{MaxInstances: c.Int("max-instances"), MaxJoinTokens: c.Int("max-join-tokens"),
		MaxInstancesPerToken: c.Int("max-instances-per-token")}
	if cfg.MaxInstances < 1 || cfg.MaxJoinTokens < 1 || cfg.MaxInstancesPerToken < 1 {
		return cfg, fmt.Errorf("--max-instances, --max-join-tokens and --max-instances-per-token must be at least 1 (got %d, %d and %d)",
			cfg.MaxInstances, cfg.MaxJoinTokens, cfg.MaxInstancesPerToken)
	}
	return cfg, nil
}
