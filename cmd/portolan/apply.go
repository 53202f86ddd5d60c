//go:build !agentonly

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// The exit codes of `portolan diff`, as diff(1) and `terraform plan
// -detailed-exitcode` have them, so a CI step can tell a pending change
// from a failure.
const (
	diffNoChanges = 0
	diffChanges   = 1
	diffError     = 2
)

// planFlags are the flags apply and diff share: the documents, prune and
// the output form, then the home flags of the other admin commands.
func planFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "documents: a file, a directory (its *.yaml, *.yml and *.json) or - for standard input; repeatable"},
		&cli.BoolFlag{Name: "prune", Usage: "also delete what the documents' services and backends own but no longer declare"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text (one line per change) or json (home's answer)"},
	}, homeFlags()...)
}

const planDescription = `The documents are declarative (apiVersion portolan.dev/v1, or the 3scale
toolbox's Product and Backend CRDs; see manifest/FORMAT.md and GET
/admin/portolan/schema.json). They are read and checked here first, so a
mistake fails before home is called, with an error naming the file, the
document, the entity and the field; home checks them again against its
composition (references to what only home has).

Entities are matched by name (system_name, org_name, username), never by id.
Without --prune nothing is deleted; with it, what the documents' services and
backends own (their metrics, mapping rules, plans, limits, the placements onto
them...) but no longer declare is deleted, and nothing else: other services,
accounts and applications the documents do not name are left alone.

The text output is one line per change, "+ create", "~ update" (followed by
each field, old → new) or "- delete" and the entity's key
(service:news/plan:gold), then a count of each.`

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "make a coordinator's composition what declarative documents say, in one revision",
		UsageText: "portolan apply -f PATH... --home URL --token T [--prune] [--dry-run] [-o text|json]",
		Description: `Sends the documents to home (POST /admin/portolan/apply), which computes the
difference with its composition and writes it as one revision, or nothing at
all when anything fails. Applying the same documents again changes nothing and
makes no revision. --dry-run prints the plan without writing it (as
` + "`portolan diff`" + `, but exiting 0).

` + planDescription,
		Flags: append(planFlags(), &cli.BoolFlag{Name: "dry-run", Usage: "print the plan, write nothing"}),
		Action: func(c *cli.Context) error {
			res, err := sendDocuments(c, "apply", c.Bool("dry-run"))
			if err != nil {
				return err
			}
			return writePlan(c, res)
		},
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show what `portolan apply` would change, for CI",
		UsageText: "portolan diff -f PATH... --home URL --token T [--prune] [-o text|json]",
		Description: `Computes the plan of ` + "`portolan apply`" + ` with the same documents and flags (a
dry run: home writes nothing) and prints it. Changes made at home through the
API to what the documents declare show as updates: drift.

Exit code, as diff(1) and ` + "`terraform plan -detailed-exitcode`" + `: 0 when home
already holds what the documents say, 1 when there are changes, 2 on an error
(bad documents, home unreachable or refusing). A CI step can run
` + "`portolan diff`" + ` on a pull request and ` + "`portolan apply`" + ` on merge.

` + planDescription,
		Flags: planFlags(),
		Action: func(c *cli.Context) error {
			res, err := sendDocuments(c, "diff", true)
			if err != nil {
				return cli.Exit(err.Error(), diffError)
			}
			if err := writePlan(c, res); err != nil {
				return cli.Exit(err.Error(), diffError)
			}
			if len(res.Changes) > 0 {
				return cli.Exit("", diffChanges) // the plan said it all
			}
			return nil
		},
		// A usage error (an unknown flag) is an error too, not "changes".
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit("diff: "+err.Error(), diffError)
		},
	}
}

// sendDocuments reads the documents of -f, checking them as home will, and
// sends them to home as JSON; cmd names the command in errors.
func sendDocuments(c *cli.Context, cmd string, dryRun bool) (*registry.ApplyResult, error) {
	if c.NArg() > 0 {
		// urfave/cli reads no flag after an argument: a --dry-run there
		// would be ignored, and the apply real.
		return nil, cli.Exit(fmt.Sprintf("%s: unexpected argument %q: give each file or directory with its own -f, and flags before it", cmd, c.Args().First()), 2)
	}
	paths := c.StringSlice("file")
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: -f is required: a file, a directory or - for standard input", cmd)
	}
	if f := c.String("output"); f != "text" && f != "json" {
		return nil, fmt.Errorf("%s: -o %q: want text or json", cmd, f)
	}
	if err := required(c, "token"); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	docs, err := manifest.Load(paths...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no documents in %v", cmd, paths)
	}
	body, err := json.Marshal(docs)
	if err != nil {
		return nil, fmt.Errorf("%s: encode documents: %w", cmd, err)
	}
	home, err := adminClient(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	ctx, cancel := contextWithTimeout(c)
	defer cancel()
	if err := refuseHiddenSecrets(ctx, home, hiddenSecret(docs)); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	res, err := home.Apply(ctx, body, "application/json", dryRun, c.Bool("prune"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, documentsRefused(err, docs))
	}
	return res, nil
}

// documentsRefused lists, one a line, the problems of home's 422 answer
// ({"errors":{"documents":[...]}}), each naming its document, entity and
// field, the document by the file it came from; other answers are
// adminError's.
func documentsRefused(err error, docs []manifest.Document) error {
	var se *client.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnprocessableEntity {
		return adminError(err)
	}
	var answer struct {
		Errors map[string][]string `json:"errors"`
	}
	if json.Unmarshal([]byte(se.Body), &answer) != nil || len(answer.Errors["documents"]) == 0 {
		return adminError(err) // cut short, or another shape
	}
	msgs := answer.Errors["documents"]
	for i, m := range msgs {
		msgs[i] = withOrigin(m, docs)
	}
	return errors.New("home refused the documents:\n  " + strings.Join(msgs, "\n  "))
}

// sentDocument matches the start of home's message about the N-th document
// of the JSON array sendDocuments sent.
var sentDocument = regexp.MustCompile(`^JSON body(?::\d+)?: document (\d+)`)

// withOrigin names the document of home's message m as Load read it: its
// file, line and place in the file rather than its place in the request.
func withOrigin(m string, docs []manifest.Document) string {
	loc := sentDocument.FindStringSubmatchIndex(m)
	if loc == nil {
		return m
	}
	n, err := strconv.Atoi(m[loc[2]:loc[3]])
	if err != nil || n < 1 || n > len(docs) {
		return m
	}
	o := docs[n-1].Origin
	where := o.Source
	if o.Line > 0 {
		where += ":" + strconv.Itoa(o.Line)
	}
	return fmt.Sprintf("%s: document %d", where, o.Index) + m[loc[1]:]
}
