//go:build !agentonly

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// opSigns are the signs of the text output, as diff and terraform show them.
var opSigns = map[composition.Op]string{
	composition.OpCreate: "+",
	composition.OpUpdate: "~",
	composition.OpDelete: "-",
}

// writePlan writes home's answer in the form -o asks.
func writePlan(c *cli.Context, res *registry.ApplyResult) error {
	if c.String("output") == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return writePlanText(c.App.Writer, res)
}

// writePlanText writes one line per change, each update's fields below it
// (old → new, as JSON), then the counts and what came of it: applied, no
// change, or a dry run.
func writePlanText(w io.Writer, res *registry.ApplyResult) error {
	var b bytes.Buffer
	for _, ch := range res.Changes {
		fmt.Fprintf(&b, "%s %s %s\n", opSigns[ch.Op], ch.Op, ch.Key)
		for _, f := range ch.Fields {
			fmt.Fprintf(&b, "    %s: %s → %s\n", f.Field, compactJSON(f.Old), compactJSON(f.New))
		}
	}
	create, update, del := res.Counts()
	fmt.Fprintf(&b, "%d to create, %d to update, %d to delete\n", create, update, del)
	switch {
	case res.Applied:
		fmt.Fprintf(&b, "applied: revision %d\n", res.Revision)
	case len(res.Changes) == 0:
		fmt.Fprintf(&b, "no changes: home holds what the documents say (revision %d)\n", res.Revision)
	default:
		fmt.Fprintf(&b, "dry run: nothing written (revision %d)\n", res.Revision)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// compactJSON is a field's value on one line.
func compactJSON(v json.RawMessage) string {
	if len(v) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}
