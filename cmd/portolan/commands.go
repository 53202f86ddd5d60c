package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

// commands returns portolan's commands.
func commands() []*cli.Command {
	return []*cli.Command{
		coordinatorCommand(),
		agentCommand(),
		statusCommand(),
		exportCommand(),
		importCommand(),
		applyCommand(), diffCommand(),
		gossipCommand(),
		mapCommand(),
		tokenCommand(),
		swaggerCommand(),
		tlsCommand(),
	}
}

func contextWithTimeout(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctxOf(c), c.Duration("timeout"))
}
