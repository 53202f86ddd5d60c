//go:build !agentonly

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/swagger"
	"github.com/portolan/portolan/swagger/openapischema"
)

// importOpenAPICommand is `portolan import openapi`, a subcommand of import.
func importOpenAPICommand() *cli.Command {
	return &cli.Command{
		Name:      "openapi",
		Usage:     "import an API from its Swagger 2.0 or OpenAPI 3.x spec into a service",
		UsageText: "portolan import openapi FILE|URL --home URL --token T [--service SYSTEM_NAME] [--prefix-matching] [--dry-run]",
		Description: `Does what the 3scale toolbox's import openapi does, through the 3scale Account
Management API of --home (a coordinator or any 3scale admin portal): creates or
updates the service (system_name from --service, else from the spec's title);
one method per operation (system_name from its operationId, else from its method
and path) with one mapping rule each (the base path kept, strict with a trailing
$ unless --prefix-matching); the authentication its security scheme asks for
(one apiKey: user_key; two: app_id and app_key; oauth2 or openIdConnect: oidc);
and an ActiveDoc holding the spec. A re-import writes only what changed, and
deletes the methods and rules of removed operations. --dry-run prints the plan
and writes nothing.`,
		Flags: append(homeFlags(),
			&cli.StringFlag{Name: "service", Usage: "the service's system_name (default: derived from the spec's title)"},
			&cli.BoolFlag{Name: "prefix-matching", Usage: "mapping rules match path prefixes (no trailing $)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and write nothing"},
		),
		Action: func(c *cli.Context) error {
			c, args, err := interspersed(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return fmt.Errorf("import openapi: want one FILE or URL argument, got %d", len(args))
			}
			if err := required(c, "token"); err != nil {
				return err
			}
			hc, err := homeHTTPClient(c)
			if err != nil {
				return fmt.Errorf("import openapi: %w", err)
			}
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			spec, err := swagger.Load(ctx, args[0], openapischema.Check)
			if err != nil {
				return fmt.Errorf("import openapi: %w", err)
			}
			plan, err := swagger.Import(ctx, spec, swagger.ImportConfig{
				ImportOptions: swagger.ImportOptions{Service: c.String("service"), PrefixMatching: c.Bool("prefix-matching")},
				Home:          c.String("home"),
				Token:         c.String("token"),
				DryRun:        c.Bool("dry-run"),
				Client:        hc,
			})
			if plan != nil {
				fmt.Fprint(c.App.Writer, plan)
				if c.Bool("dry-run") && !plan.Empty() {
					fmt.Fprintln(c.App.Writer, "dry run: nothing was written")
				}
			}
			return err
		},
	}
}
