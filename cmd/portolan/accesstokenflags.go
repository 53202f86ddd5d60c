//go:build !agentonly

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/threescale"
)

// accessTokenFlags are the coordinator's flags for admin access tokens
// beside --access-token (whose -file twin secretflags.go adds).
func accessTokenFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-access-tokens", Value: threescale.DefaultMaxAccessTokens, Usage: "access tokens the Access Tokens API may store; past it creation answers 429"},
	}
}
