//go:build !agentonly

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/swagger"
	"github.com/portolan/portolan/swagger/openapischema"
)

const swaggerRuleHelp = `Rules, each one of:

  tag:NAME          operations tagged NAME, e.g. tag:Services or tag:"Application Plans"
  op:OPERATION_ID   the operation with this operationId
  METHOD PATH_GLOB  e.g. "GET /admin/api/services/*" or "* /admin/api/accounts/**";
                    METHOD may be *; in PATH_GLOB * matches within one path
                    segment, ** any number of segments, {param} any parameter

--include rules apply first (none: every operation), then --omit rules. Both
repeat, and may come after SPEC. A rule that matches no operation of the spec
is an error. Their variables (PORTOLAN_SWAGGER_LIST_INCLUDE,
PORTOLAN_SWAGGER_SELECT_OMIT, ...) hold one rule per line.
SPEC is a Swagger 2.0 or OpenAPI 3.0/3.1 file (JSON or YAML) or http(s) URL.`

func swaggerCommand() *cli.Command {
	return &cli.Command{
		Name:  "swagger",
		Usage: "list or select the operations of a Swagger/OpenAPI spec with include/omit rules",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "print every operation of a spec, kept or omitted, with the rule that decided",
				UsageText: "portolan swagger list SPEC [--include RULE]... [--omit RULE]... [-o table|json]",
				Description: `Prints one line per operation: STATUS (kept or omitted), METHOD, PATH,
OPERATION (its operationId, else its summary) and the RULE that decided
("-": kept because there is no --include), then a summary line.

` + swaggerRuleHelp,
				Flags: swaggerFlags("output format: table or json", "table"),
				Action: func(c *cli.Context) error {
					return runSwagger(c, "swagger list", listSelection)
				},
			},
			{
				Name:      "select",
				Usage:     "write the spec cut down to the selected operations, with unused components dropped",
				UsageText: "portolan swagger select SPEC [--include RULE]... [--omit RULE]... [-o FILE|-]",
				Description: `Writes the filtered spec as JSON to FILE, atomically (a temporary file
renamed into place), or to standard output with -o - (the default). It keeps
only the selected operations, drops paths left with no operation, and drops
the components (Swagger: definitions, parameters, responses, security
definitions) and tags that nothing kept uses. The result is a valid spec.

` + swaggerRuleHelp,
				Flags: swaggerFlags("where to write the filtered spec (- for standard output)", "-"),
				Action: func(c *cli.Context) error {
					return runSwagger(c, "swagger select", writeSelection)
				},
			},
		},
	}
}

func swaggerFlags(outputUsage, outputDefault string) []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "include", Value: &ruleList{}, Usage: "keep the operations this rule matches (repeatable)"},
		&cli.GenericFlag{Name: "omit", Value: &ruleList{}, Usage: "drop the operations this rule matches, after --include (repeatable)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: outputDefault, Usage: outputUsage},
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long loading a spec from a URL may take"},
	}
}

// ruleList is a repeatable flag of rules. Unlike a string slice flag it
// never splits a value on commas (a tag name may hold one); a value of
// several lines (from the environment) adds one rule per line.
type ruleList struct{ rules []string }

func (l *ruleList) Set(s string) error {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			l.rules = append(l.rules, line)
		}
	}
	return nil
}

func (l *ruleList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.rules, "\n")
}

// swaggerArgs are the arguments of a swagger subcommand.
type swaggerArgs struct {
	spec          string
	include, omit []string
	output        string
	timeout       time.Duration
}

// parseSwaggerArgs reads the flags given before SPEC, then parses the
// arguments after it, so that rules may follow SPEC as the usage shows.
func parseSwaggerArgs(c *cli.Context) (swaggerArgs, error) {
	include, _ := c.Generic("include").(*ruleList)
	omit, _ := c.Generic("omit").(*ruleList)
	if include == nil || omit == nil {
		return swaggerArgs{}, errors.New("internal error: the rule flags are missing")
	}
	a := swaggerArgs{output: c.String("output"), timeout: c.Duration("timeout")}
	set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Var(include, "include", "")
	set.Var(omit, "omit", "")
	set.StringVar(&a.output, "output", a.output, "")
	set.StringVar(&a.output, "o", a.output, "")
	set.DurationVar(&a.timeout, "timeout", a.timeout, "")
	positional, err := parseInterspersed(set, c.Args().Slice())
	if err != nil {
		return swaggerArgs{}, usageError(c, err, true)
	}
	if len(positional) != 1 {
		return swaggerArgs{}, fmt.Errorf("want one SPEC argument (a file or an http(s) URL), got %d", len(positional))
	}
	a.spec, a.include, a.omit = positional[0], include.rules, omit.rules
	return a, nil
}

func runSwagger(c *cli.Context, name string, then func(*cli.Context, swaggerArgs, *swagger.Selected) error) error {
	a, err := parseSwaggerArgs(c)
	var usage cli.ExitCoder
	if errors.As(err, &usage) {
		return err // usageError names the command
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	sel, err := swagger.ParseSelection(a.include, a.omit)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctxOf(c), a.timeout)
	defer cancel()
	spec, err := swagger.Load(ctx, a.spec, openapischema.Check)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	selected, err := spec.Select(sel)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := then(c, a, selected); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// swaggerListEntry is one operation in `swagger list -o json`.
type swaggerListEntry struct {
	Status  string   `json:"status"`
	Method  string   `json:"method"`
	Path    string   `json:"path"`
	ID      string   `json:"operation_id,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Rule    string   `json:"rule,omitempty"`
}

func listSelection(c *cli.Context, a swaggerArgs, sel *swagger.Selected) error {
	decisions := sel.Decisions()
	kept := len(sel.Kept())
	omitted := len(decisions) - kept
	switch strings.ToLower(strings.TrimSpace(a.output)) {
	case "table", "":
		tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STATUS\tMETHOD\tPATH\tOPERATION\tRULE")
		for _, d := range decisions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", status(d), d.Operation.Method, d.Operation.Path,
				orDash(oneLine(operationName(d.Operation))), orDash(d.Rule))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.App.Writer, "%d kept, %d omitted\n", kept, omitted)
		return err
	case "json":
		out := struct {
			Operations []swaggerListEntry `json:"operations"`
			Kept       int                `json:"kept"`
			Omitted    int                `json:"omitted"`
		}{Operations: make([]swaggerListEntry, 0, len(decisions)), Kept: kept, Omitted: omitted}
		for _, d := range decisions {
			out.Operations = append(out.Operations, swaggerListEntry{
				Status: status(d), Method: d.Operation.Method, Path: d.Operation.Path,
				ID: d.Operation.ID, Summary: d.Operation.Summary, Tags: d.Operation.Tags, Rule: d.Rule,
			})
		}
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	return fmt.Errorf("unknown output format %q: want table or json", a.output)
}

func status(d swagger.Decision) string {
	if d.Kept {
		return "kept"
	}
	return "omitted"
}

func operationName(op swagger.Operation) string {
	if op.ID != "" {
		return op.ID
	}
	return op.Summary
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func writeSelection(c *cli.Context, a swaggerArgs, sel *swagger.Selected) error {
	doc := make([]byte, 0, len(sel.Document())+1)
	doc = append(append(doc, sel.Document()...), '\n')
	kept := len(sel.Kept())
	omitted := len(sel.Decisions()) - kept
	if a.output == "-" || a.output == "" {
		_, err := c.App.Writer.Write(doc)
		return err
	}
	if err := atomicfile.Write(a.output, doc, 0o644); err != nil {
		return err
	}
	_, err := fmt.Fprintf(errWriter(c), "wrote %s: %d kept, %d omitted\n", a.output, kept, omitted)
	return err
}
