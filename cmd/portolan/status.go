package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

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
			url := "http://" + strings.TrimPrefix(c.String("via"), "http://") + "/v1/agent/self"
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("status: cannot reach the agent at %s: %w (see --via)", c.String("via"), err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status: the agent answered %s: %s", resp.Status, bytes.TrimSpace(b))
			}
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				return fmt.Errorf("status: the agent's answer is not JSON: %w", err)
			}
			_, err = fmt.Fprintln(c.App.Writer, out.String())
			return err
		},
	}
}
