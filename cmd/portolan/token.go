//go:build !agentonly

package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/registry"
)

// tokenCommand is `portolan token create|list|revoke`: the join tokens
// agents register with, through the coordinator's admin API.
func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "create, list and revoke join tokens (what an agent registers with)",
		Description: `A join token registers instances and does nothing else; each instance then
gets its own credential from home. A token carries the pin of home's CA, so
an agent given it trusts home with nothing else to copy. It may be scoped to
a service, to labels (an instance may only claim the labels it names, with
their values) and to a lifetime, and is capped at a number of live instances
(home's --max-instances-per-token, 1000, unless --max-instances says; token
update changes it). Revoking a token ends its instances' credentials at once.`,
		Subcommands: []*cli.Command{tokenCreateCommand(), tokenListCommand(), tokenUpdateCommand(), tokenRevokeCommand()},
	}
}

func tokenCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a join token and print it (shown only this once)",
		UsageText: "portolan token create --home URL --token ACCESS_TOKEN [--service S] [--label k=v]... [--ttl 24h] [--max-instances N]",
		Flags: append(homeFlags(),
			&cli.StringFlag{Name: "service", Usage: "only instances of this service (system_name) may register"},
			&cli.StringSliceFlag{Name: "label", Usage: "k=v: instances may claim label k only with value v, and no label the token does not name (repeatable)"},
			&cli.DurationFlag{Name: "ttl", Usage: "new instances are refused after this long (0: never); those registered stay, and come back through it after home restarts (presenting the credential home issued them)"},
			&cli.IntFlag{Name: "max-instances", Usage: "live instances registered through the token at most; more get 429 naming the token and its cap (0: home's --max-instances-per-token, 1000 by default)"},
			&cli.StringFlag{Name: "description", Usage: "a note shown by portolan token list"},
		),
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			if err := required(c, "token"); err != nil {
				return err
			}
			labels, err := parseLabels(c.StringSlice("label"))
			if err != nil {
				return err
			}
			spec := registry.JoinTokenSpec{Service: c.String("service"), Labels: labels,
				TTL: registry.Duration(c.Duration("ttl")), MaxInstances: c.Int("max-instances"), Description: c.String("description")}
			cl, err := adminClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			created, err := cl.CreateJoinToken(ctx, &spec)
			if err != nil {
				return fmt.Errorf("token create: %w", adminError(err))
			}
			_, err = fmt.Fprintln(c.App.Writer, created.Token)
			return err
		},
	}
}

func tokenListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list join tokens: id, scope, expiry, live instances and cap (never secrets)",
		UsageText: "portolan token list --home URL --token ACCESS_TOKEN",
		Flags:     homeFlags(),
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			if err := required(c, "token"); err != nil {
				return err
			}
			cl, err := adminClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			tokens, err := cl.JoinTokens(ctx)
			if err != nil {
				return fmt.Errorf("token list: %w", adminError(err))
			}
			return renderTokens(c.App.Writer, tokens, time.Now())
		},
	}
}

func tokenUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a join token's cap of live instances (the token itself stays the same)",
		UsageText: "portolan token update --home URL --token ACCESS_TOKEN --max-instances N ID",
		Description: `Instances registered beyond a lowered cap stay; new ones are refused (429)
until fewer are live. A token made before tokens had a cap by default has
none (portolan token list shows "none"): this gives it one.`,
		Flags: append(homeFlags(),
			&cli.IntFlag{Name: "max-instances", Usage: "live instances registered through the token at most (at least 1)"},
		),
		Action: func(c *cli.Context) error {
			c, id, err := tokenIDArg(c, "update")
			if err != nil {
				return err
			}
			if c.Int("max-instances") < 1 {
				return fmt.Errorf("token update: give the new cap, --max-instances N (at least 1)")
			}
			cl, err := adminClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			info, err := cl.UpdateJoinToken(ctx, id, &registry.JoinTokenUpdate{MaxInstances: c.Int("max-instances")})
			if err != nil {
				return fmt.Errorf("token update: %w", adminError(err))
			}
			_, err = fmt.Fprintf(c.App.Writer, "%s: %d live instances, at most %d\n", info.ID, info.Instances, info.MaxInstances)
			return err
		},
	}
}

func tokenRevokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke a join token: it registers nothing more and its instances lose their credentials",
		UsageText: "portolan token revoke --home URL --token ACCESS_TOKEN ID",
		Flags:     homeFlags(),
		Action: func(c *cli.Context) error {
			c, id, err := tokenIDArg(c, "revoke")
			if err != nil {
				return err
			}
			cl, err := adminClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			if err := cl.RevokeJoinToken(ctx, id); err != nil {
				return fmt.Errorf("token revoke: %w", adminError(err))
			}
			_, err = fmt.Fprintf(c.App.Writer, "revoked %s\n", id)
			return err
		},
	}
}

// renderTokens writes one row per join token.
func renderTokens(w io.Writer, tokens []registry.JoinTokenInfo, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tLABELS\tEXPIRES\tINSTANCES\tDESCRIPTION")
	for _, t := range tokens {
		service := t.Service
		if service == "" {
			service = "*"
		}
		labels := "*"
		if len(t.Labels) > 0 {
			parts := make([]string, 0, len(t.Labels))
			for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
				parts = append(parts, k+"="+t.Labels[k])
			}
			labels = strings.Join(parts, ",")
		}
		expires := "never"
		switch {
		case t.Expired:
			expires = "expired"
		case t.ExpiresAt != nil:
			expires = t.ExpiresAt.Sub(now).Round(time.Second).String()
		}
		instances := fmt.Sprintf("%d/%d", t.Instances, t.MaxInstances)
		if t.MaxInstances == 0 { // made before tokens had a cap by default
			instances = fmt.Sprintf("%d/none", t.Instances)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, service, labels, expires, instances, t.Description)
	}
	return tw.Flush()
}

// tokenIDArg reads the one join token id a command of verb takes, before
// or after its flags, and checks that an access token was given.
func tokenIDArg(c *cli.Context, verb string) (*cli.Context, string, error) {
	c, args, err := interspersed(c)
	if err != nil {
		return c, "", err
	}
	if err := required(c, "token"); err != nil {
		return c, "", err
	}
	if len(args) != 1 {
		return c, "", fmt.Errorf("token %s: give the id of one join token (portolan token list shows them)", verb)
	}
	return c, args[0], nil
}
