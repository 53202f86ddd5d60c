package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/registry/client"
)

// agentSelfPath is where an agent's local API says what the agent knows.
const agentSelfPath = "/v1/agent/self"

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what a local agent knows: instance, placement, composition revision, home reachability",
		UsageText: "portolan status [--via 127.0.0.1:7071]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "via", Value: "127.0.0.1:7071", Usage: "the agent's local API address"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "how long to wait for the agent"},
		},
		Action: func(c *cli.Context) error {
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			agent, err := client.New(client.Config{Address: "http://" + strings.TrimPrefix(c.String("via"), "http://")})
			if err != nil {
				return fmt.Errorf("status: --via %w", err)
			}
			var self json.RawMessage
			if _, err := agent.Query(ctx, agentSelfPath, client.QueryOptions{}, &self); err != nil {
				var (
					se *client.StatusError
					de *client.DecodeError
				)
				switch {
				case errors.As(err, &se):
					return fmt.Errorf("status: the agent answered %s: %s", se.Status, se.Body)
				case errors.As(err, &de):
					return fmt.Errorf("status: the agent's answer is not JSON: %w", de.Err)
				case errors.Is(err, client.ErrUnreachable):
					return fmt.Errorf("status: cannot reach the agent at %s: %w (see --via)", c.String("via"), err)
				}
				return fmt.Errorf("status: %w", err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, self, "", "  "); err != nil {
				return fmt.Errorf("status: the agent's answer is not JSON: %w", err)
			}
			_, err = fmt.Fprintln(c.App.Writer, out.String())
			return err
		},
	}
}
