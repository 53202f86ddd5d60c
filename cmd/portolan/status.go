package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// agentSelfPath is where an agent's local API says what the agent knows.
const agentSelfPath = "/v1/agent/self"

// The exit codes of portolan status: those the agent's --check-exec and
// Consul's script checks read (0 passing, 1 warning, else critical), and 3
// when there was no answer to judge. Docker's HEALTHCHECK counts any code
// but 0 as a failure.
const (
	statusPassing  = 0
	statusWarning  = 1 // the instance's check warns, or the app is still starting
	statusCritical = 2 // critical, the app does not run, or the coordinator is not ready
	statusUnknown  = 3 // the agent or coordinator could not be asked, or answered nonsense
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show what a local agent knows: instance, placement, composition revision, home reachability; exit 0 only when passing",
		UsageText: "portolan status [--via 127.0.0.1:7071] [--quiet]\n" +
			"portolan status --coordinator [--listen 127.0.0.1:7070] [--quiet]",
		Description: "Exit codes, as --check-exec and Consul's script checks read them:\n" +
			"  0  the instance is passing (--coordinator: the coordinator is ready)\n" +
			"  1  the instance's check warns, or its app is still starting\n" +
			"  2  the instance is critical or its app does not run (--coordinator: not ready)\n" +
			"  3  the agent (or coordinator) could not be asked\n" +
			"so `portolan status --quiet` is a container's HEALTHCHECK, with no shell.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "via", Value: "127.0.0.1:7071", Usage: "the agent's local API address (PORTOLAN_AGENT_API is read too, as the agent reads it)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing: the exit code alone says the status"},
			&cli.BoolFlag{Name: "coordinator", Usage: "ask the coordinator listening on --listen for its readiness (GET /health/ready) instead of an agent"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:7070", Usage: "with --coordinator: the coordinator's --listen address " +
				"(PORTOLAN_COORDINATOR_LISTEN is read too, as the coordinator reads it, so a container's health check finds it)"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "how long to wait for the answer"},
		},
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			var (
				body []byte
				code int
				err  error
			)
			if c.Bool("coordinator") {
				body, code, err = coordinatorReadiness(c)
			} else {
				body, code, err = agentStatus(c)
			}
			if err != nil {
				if c.Bool("quiet") {
					return cli.Exit("", statusUnknown)
				}
				return cli.Exit(err.Error(), statusUnknown)
			}
			if !c.Bool("quiet") {
				var out bytes.Buffer
				if err := json.Indent(&out, body, "", "  "); err != nil {
					return cli.Exit(fmt.Sprintf("status: the answer is not JSON: %v", err), statusUnknown)
				}
				if _, err := fmt.Fprintln(c.App.Writer, out.String()); err != nil {
					return err
				}
			}
			if code != statusPassing {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

// agentStatus asks the agent's local API what it knows, and returns that
// and the exit code it means.
func agentStatus(c *cli.Context) ([]byte, int, error) {
	ctx, cancel := contextWithTimeout(c)
	defer cancel()
	agent, err := client.New(client.Config{Address: "http://" + strings.TrimPrefix(c.String("via"), "http://")})
	if err != nil {
		return nil, 0, fmt.Errorf("status: --via %w", err)
	}
	var self json.RawMessage
	if _, err := agent.Query(ctx, agentSelfPath, client.QueryOptions{}, &self); err != nil {
		var (
			se *client.StatusError
			de *client.DecodeError
		)
		switch {
		case errors.As(err, &se):
			return nil, 0, fmt.Errorf("status: the agent answered %s: %s", se.Status, se.Body)
		case errors.As(err, &de):
			return nil, 0, fmt.Errorf("status: the agent's answer is not JSON: %w", de.Err)
		case errors.Is(err, client.ErrUnreachable):
			return nil, 0, fmt.Errorf("status: cannot reach the agent at %s: %w (see --via)", c.String("via"), err)
		}
		return nil, 0, fmt.Errorf("status: %w", err)
	}
	var health struct {
		Status  string `json:"status"`
		Running bool   `json:"running"`
	}
	if err := json.Unmarshal(self, &health); err != nil {
		return nil, 0, fmt.Errorf("status: the agent's answer is not JSON: %w", err)
	}
	code := statusCritical
	switch {
	case !health.Running:
	case health.Status == registry.StatusPassing:
		code = statusPassing
	case health.Status == registry.StatusWarning:
		code = statusWarning
	}
	return self, code, nil
}
