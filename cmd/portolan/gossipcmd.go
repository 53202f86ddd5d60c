//go:build !agentonly

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// gossipCommand manages home's gossip keyring.
func gossipCommand() *cli.Command {
	return &cli.Command{
		Name:  "gossip",
		Usage: "manage the gossip cluster's encryption",
		Subcommands: []*cli.Command{{
			Name:      "rotate-key",
			Usage:     "rotate home's gossip key: agents switch to a new one without restarting",
			UsageText: "portolan gossip rotate-key --home URL --token T",
			Description: `Home makes a new random key and hands it to every registered agent at its
next heartbeat, in three steps: added beside the old key at once, made the
key that encrypts half way through the grace (--gossip-key-grace of the
coordinator), and the old key dropped at its end. A node that only knows the
old key is cut off from gossip then. The keys never leave home through this
command: agents get them over the agent API.`,
			Flags: homeFlags(),
			Action: func(c *cli.Context) error {
				if err := noArguments(c); err != nil {
					return err
				}
				if err := required(c, "token"); err != nil {
					return err
				}
				home, err := adminClient(c)
				if err != nil {
					return fmt.Errorf("gossip rotate-key: %w", err)
				}
				ctx, cancel := contextWithTimeout(c)
				defer cancel()
				body, err := home.RotateGossipKey(ctx)
				if err != nil {
					return fmt.Errorf("gossip rotate-key: %w", adminError(err))
				}
				_, err = fmt.Fprintf(c.App.Writer, "%s\n", body)
				return err
			},
		}},
	}
}
