package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// mapTableMax is the most instances `portolan map` lists by default: a
// larger map is summarised (counts per service, plan and status) unless
// --instances or --limit asks for the list.
const mapTableMax = 200

// mapQueryFlags select part of the map; home filters and pages, and the
// client does it itself for a peer that cannot (an agent, Consul).
func mapQueryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "plan", Usage: "show only instances serving this plan (its system_name)"},
		&cli.StringFlag{Name: "status", Usage: "show only instances of this status: passing, warning, critical or draining"},
		&cli.StringSliceFlag{Name: "label", Usage: "show only instances with this label: key=value, or key for any value (repeatable: all must match)"},
		&cli.BoolFlag{Name: "summary", Usage: "print the counts per service, plan and status, not the instances"},
		&cli.BoolFlag{Name: "instances", Usage: "print the instances however many there are (the default lists at most " + strconv.Itoa(mapTableMax) + ")"},
		&cli.IntFlag{Name: "limit", Usage: "list at most this many instances, by id (a page; --cursor gives the next)"},
		&cli.StringFlag{Name: "cursor", Usage: "with --limit: start after this instance id (the cursor the previous page printed)"},
	}
}

// mapWant is what `portolan map` prints.
type mapWant int

const (
	wantAuto    mapWant = iota // the table when small, else the summary
	wantMap                    // the instances
	wantSummary                // the counts
)

// mapQueryOf reads the query and what to print from the flags.
func mapQueryOf(c *cli.Context, format string) (registry.MapQuery, mapWant, error) {
	q := registry.MapQuery{
		Service: c.String("service"), Plan: c.String("plan"), Status: c.String("status"),
		Limit: c.Int("limit"), Cursor: c.String("cursor"),
	}
	for _, kv := range c.StringSlice("label") {
		if err := q.AddLabel(kv); err != nil {
			return q, 0, fmt.Errorf("--%w", err)
		}
	}
	if q.Status != "" && !registry.IsMapStatus(q.Status) {
		return q, 0, fmt.Errorf("--status %q: want passing, warning, critical or draining", q.Status)
	}
	switch {
	case q.Limit < 0 || q.Limit > registry.MaxMapLimit:
		return q, 0, fmt.Errorf("--limit must be from 1 to %d (got %d)", registry.MaxMapLimit, q.Limit)
	case q.Cursor != "" && q.Limit == 0:
		return q, 0, fmt.Errorf("--cursor pages with --limit: give both")
	case c.Bool("summary") && (c.Bool("instances") || q.Limit > 0):
		return q, 0, fmt.Errorf("--summary prints counts, --instances and --limit instances: give one")
	case c.Bool("summary") && format != mapFormatTable && format != mapFormatJSON:
		return q, 0, fmt.Errorf("--summary prints a table or json (got -o %s)", format)
	case c.Bool("summary"):
		return q, wantSummary, nil
	case c.Bool("instances") || q.Limit > 0 || format != mapFormatTable:
		return q, wantMap, nil
	}
	return q, wantAuto, nil
}

// mapView is what one read gives to print: a map or a summary.
type mapView struct {
	m     *registry.Map
	s     *registry.MapSummary
	index uint64
}

// revision is the composition revision the view was drawn from.
func (v mapView) revision() uint64 {
	if v.m != nil {
		return v.m.Revision
	}
	return v.s.Revision
}

// read asks the source for what want says: with wantAuto the summary first,
// then the instances when there are at most mapTableMax.
func (s *mapSource) read(ctx context.Context, q registry.MapQuery, want mapWant) (mapView, error) {
	if want == wantMap {
		a, err := s.query(ctx, q, 0, 0)
		return mapView{m: a.Map, index: a.Index}, err
	}
	sq := q
	sq.Summary = true
	a, err := s.query(ctx, sq, 0, 0)
	if err != nil {
		return mapView{}, err
	}
	if want == wantSummary || a.Summary.Instances > mapTableMax {
		return mapView{s: a.Summary, index: a.Index}, nil
	}
	if a.Map != nil { // computed here from the whole map: no second read
		return mapView{m: a.Map, index: a.Index}, nil
	}
	a, err = s.query(ctx, q, 0, 0)
	return mapView{m: a.Map, index: a.Index}, err
}

// query reads q from the source, explained on failure.
func (s *mapSource) query(ctx context.Context, q registry.MapQuery, index uint64, wait time.Duration) (client.MapAnswer, error) {
	a, err := s.client.MapQuery(ctx, s.path(), q, index, wait)
	if err != nil {
		return client.MapAnswer{}, s.explain(err)
	}
	return a, nil
}

// localView answers q from a whole map read elsewhere (Consul's catalog),
// as read does from a source.
func localView(m registry.Map, q registry.MapQuery, want mapWant) mapView {
	if want != wantMap {
		s := m.Summary(q)
		if want == wantSummary || s.Instances > mapTableMax {
			return mapView{s: &s, index: m.Index}
		}
	}
	page := m.Select(q)
	return mapView{m: &page, index: m.Index}
}

// printView prints v: a map with render, a summary as a table or JSON, and
// on errOut what the reader may want next (the next page, the instances
// left out).
func printView(out, errOut io.Writer, v mapView, format string, want mapWant, render func(io.Writer, *registry.Map) error) error {
	if v.s != nil {
		if format == mapFormatJSON {
			return writeJSON(out, v.s)
		}
		if err := renderSummary(out, v.s); err != nil {
			return err
		}
		if want == wantAuto {
			fmt.Fprintf(errOut, "portolan map: %d instances, counted; --instances lists them all, --limit N a page at a time\n", v.s.Instances)
		}
		return nil
	}
	if err := render(out, v.m); err != nil {
		return err
	}
	if v.m.Next != "" && format != mapFormatJSON {
		fmt.Fprintf(errOut, "portolan map: %d instances match; next page: --cursor %s\n", v.m.Matched, v.m.Next)
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// summaryStatuses are the status columns of the summary, in this order;
// other statuses (an agent's gossip says "alive") follow by name.
var summaryStatuses = []string{registry.StatusPassing, registry.StatusWarning, registry.StatusCritical, registry.StatusDraining}

// renderSummary writes one row per service (PLAN "*": all its instances)
// and one per plan it serves ("-": no plan), with the count of instances by
// status, then the total.
func renderSummary(w io.Writer, s *registry.MapSummary) error {
	extra := map[string]bool{}
	for _, svc := range s.Services {
		for st := range svc.Statuses {
			if !slices.Contains(summaryStatuses, st) {
				extra[st] = true
			}
		}
	}
	cols := append(slices.Clone(summaryStatuses), slices.Sorted(maps.Keys(extra))...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(service, plan string, n int, by map[string]int) {
		cells := []string{service, plan, strconv.Itoa(n)}
		for _, st := range cols {
			cells = append(cells, strconv.Itoa(by[st]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	head := []string{"SERVICE", "PLAN", "INSTANCES"}
	for _, st := range cols {
		head = append(head, strings.ToUpper(st))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	total := map[string]int{}
	for _, svc := range s.Services {
		row(svc.Name, "*", svc.Instances, svc.Statuses)
		for _, p := range svc.Plans {
			row(svc.Name, orDash(p.Plan), p.Instances, p.Statuses)
		}
		for st, n := range svc.Statuses {
			total[st] += n
		}
	}
	row("TOTAL", "", s.Instances, total)
	return tw.Flush()
}
