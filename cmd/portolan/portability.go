//go:build !agentonly

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry/client"
)

func homeFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "home", Value: "http://127.0.0.1:7070", Usage: "URL of the coordinator"},
		&cli.StringFlag{Name: "token", Usage: "the coordinator's access token"},
		&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "how long to wait for the coordinator"},
	}, homeTLSFlags()...)
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a coordinator's whole composition to standard output",
		UsageText: "portolan export --home URL --token T [-o document|yaml|json] [--include-secrets] > composition.json",
		Description: `Exports services, backends, metrics, mapping rules, plans, limits, accounts,
applications, proxy settings, ActiveDocs and placements. Credentials (application
keys, user passwords, proxy secret tokens) are left out unless --include-secrets;
an import then keeps home's own for the entities it already holds and makes new
ones for the others.

-o document (the default) writes the whole composition as one JSON document with
its ids, the format ` + "`portolan import composition`" + ` reads. -o yaml and -o json write
declarative documents instead (apiVersion portolan.dev/v1: one per backend,
service, account plan, developer account and placement, everything named by
system_name, no ids; see manifest/FORMAT.md and GET /admin/portolan/schema.json).
They carry what those documents declare: ActiveDocs, account features, provider
users, access tokens, webhooks and other settings are only in -o document. An
application on a custom plan is written on its original plan: standard error
says so, one line per application, as the custom plan's limits do not travel.`,
		Flags: append(homeFlags(),
			&cli.BoolFlag{Name: "include-secrets", Usage: "include credentials and secret tokens"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "document", Usage: "document (JSON with ids, for import composition), yaml or json (declarative documents)"},
		),
		Action: func(c *cli.Context) error {
			if err := noArguments(c); err != nil {
				return err
			}
			if err := required(c, "token"); err != nil {
				return err
			}
			format := c.String("output")
			if format != "document" && format != "yaml" && format != "json" {
				return fmt.Errorf("export: -o %q: want document, yaml or json", format)
			}
			home, err := adminClient(c)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			ctx, cancel := contextWithTimeout(c)
			defer cancel()
			body, err := home.ExportComposition(ctx, c.Bool("include-secrets"))
			if err != nil {
				return fmt.Errorf("export: %w", adminError(err))
			}
			if format == "document" {
				_, err = c.App.Writer.Write(body)
				return err
			}
			return writeManifest(c.App.Writer, c.App.ErrWriter, body, format, c.Bool("include-secrets"))
		},
	}
}

// writeManifest writes home's composition document as declarative documents:
// the composition is rebuilt from it here, so home serves one export format.
// What the documents lose (applications' custom plans) is said on warn.
func writeManifest(w, warn io.Writer, body []byte, format string, secrets bool) error {
	var doc composition.Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("export: home's composition document: %w", err)
	}
	comp, err := doc.Composition()
	if err != nil {
		return fmt.Errorf("export: home's composition document: %w", err)
	}
	if err := manifest.Encode(w, manifest.Export(comp, manifest.ExportOptions{IncludeSecrets: secrets}), format); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, line := range manifest.CustomPlanLosses(comp) {
		fmt.Fprintln(warn, "export: warning:", line)
	}
	return nil
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "import into a coordinator",
		Subcommands: []*cli.Command{{
			Name:      "composition",
			Usage:     "import a composition exported by `portolan export` (ids are remapped)",
			UsageText: "portolan import composition FILE|- --home URL --token T",
			Flags:     homeFlags(),
			Action: func(c *cli.Context) error {
				c, args, err := interspersed(c)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return cli.Exit(fmt.Sprintf("import composition: want one FILE argument (- for standard input), got %d\nusage: %s", len(args), usageLine(c)), 2)
				}
				if err := required(c, "token"); err != nil {
					return err
				}
				var r io.Reader = os.Stdin
				if name := args[0]; name != "-" {
					f, err := os.Open(name)
					if err != nil {
						return fmt.Errorf("import composition: %w", err)
					}
					defer f.Close()
					r = f
				}
				doc, err := io.ReadAll(io.LimitReader(r, maxImportFileBytes+1))
				if err != nil {
					return fmt.Errorf("import composition: read: %w", err)
				}
				if len(doc) > maxImportFileBytes {
					return fmt.Errorf("import composition: %s is over %d GiB: not a composition", args[0], maxImportFileBytes>>30)
				}
				if !json.Valid(doc) {
					return fmt.Errorf("import composition: %s is not valid JSON", args[0])
				}
				home, err := adminClient(c)
				if err != nil {
					return fmt.Errorf("import composition: %w", err)
				}
				ctx, cancel := contextWithTimeout(c)
				defer cancel()
				if err := refuseHiddenSecrets(ctx, home, hiddenCompositionSecret(args[0], doc)); err != nil {
					return fmt.Errorf("import composition: %w", err)
				}
				body, err := home.ImportComposition(ctx, doc)
				if se := (*client.StatusError)(nil); errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge {
					return fmt.Errorf("import composition: %s (%d MiB) is over what home imports at once (%s): start home with a larger --max-import-bytes", args[0], len(doc)>>20, se.Body)
				}
				if err != nil {
					return fmt.Errorf("import composition: %w", adminError(err))
				}
				_, err = c.App.Writer.Write(body)
				return err
			},
		}, importOpenAPICommand()},
	}
}

// adminClient is a client of the coordinator's admin API, with the access
// token (--home, --token).
func adminClient(c *cli.Context) (*client.Client, error) {
	trust, err := homeTLS(c)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(client.Config{Address: c.String("home"), Token: c.String("token"), TLS: trust})
	if err != nil {
		return nil, fmt.Errorf("--home %w", err)
	}
	return cl, nil
}

// adminTokenHint follows a refusal of the admin API's token.
const adminTokenHint = "--token must be an admin access token with the account_management scope (rw to write)"

// adminError is the one line of an admin API call that failed: home refused
// the token, home is unreachable, or the request home refused and its
// answer.
// maxImportFileBytes bounds what import reads of its file or stdin before
// home, whose own bound is its --max-import-bytes, sees any of it.
const maxImportFileBytes = 1 << 30

func adminError(err error) error {
	var se *client.StatusError
	switch {
	case errors.Is(err, client.ErrUnauthorized), errors.Is(err, client.ErrUnreachable):
		return homeError(err, adminTokenHint)
	case errors.As(err, &se):
		return fmt.Errorf("%s %s: %s: %s", se.Method, se.Path, se.Status, se.Body)
	}
	return err
}
