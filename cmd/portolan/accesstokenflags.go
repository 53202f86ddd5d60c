package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/threescale"
)

// accessTokenFlags are the coordinator's flags for admin access tokens
// beside --access-token.
func accessTokenFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "access-token-file", Usage: "read the admin access token from this file (instead of --access-token, so it never shows in ps)"},
		&cli.IntFlag{Name: "max-access-tokens", Value: threescale.DefaultMaxAccessTokens, Usage: "access tokens the Access Tokens API may store; past it creation answers 429"},
	}
}
