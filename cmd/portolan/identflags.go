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
	}
}

// identityConfig reads identityFlags.
func identityConfig(c *cli.Context) (coordinator.IdentityConfig, error) {
	cfg := coordinator.IdentityConfig{MaxInstances: c.Int("max-instances"), MaxJoinTokens: c.Int("max-join-tokens")}
	if cfg.MaxInstances < 1 || cfg.MaxJoinTokens < 1 {
		return cfg, fmt.Errorf("--max-instances and --max-join-tokens must be at least 1 (got %d and %d)", cfg.MaxInstances, cfg.MaxJoinTokens)
	}
	return cfg, nil
}
