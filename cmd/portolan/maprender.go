package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portolan/portolan/registry"
)

// Output formats of `portolan map`.
const (
	mapFormatTable = "table"
	mapFormatJSON  = "json"
	mapFormatTree  = "tree"
	mapFormatDOT   = "dot"
)

// mapRenderers draw a map in each output format.
var mapRenderers = map[string]func(io.Writer, *registry.Map) error{
	mapFormatTable: renderTable,
	mapFormatJSON:  renderJSON,
	mapFormatTree:  renderTree,
	mapFormatDOT:   renderDOT,
}

// planGroup is a plan of a service with the instances serving it.
type planGroup struct {
	label     string
	plan      bool // false for the instances that serve no plan
	instances []registry.MapInstance
}

// noPlan labels the instances of a service that serve no plan.
const noPlan = "(no plan)"

// planGroups groups a service's instances by the plans they serve: the
// service's plans in order (with or without instances), then plans that only
// instances name, then the instances serving no plan. An instance serving
// several plans is in several groups.
func planGroups(s registry.MapService) []planGroup {
	var groups []planGroup
	at := map[string]int{}
	group := func(p registry.PlanRef) int {
		k := planKey(p)
		if i, ok := at[k]; ok {
			return i
		}
		at[k] = len(groups)
		groups = append(groups, planGroup{label: planLabel(p), plan: true})
		return len(groups) - 1
	}
	for _, p := range s.Plans {
		group(p)
	}
	var unplanned []registry.MapInstance
	for _, inst := range s.Instances {
		if len(inst.Plans) == 0 {
			unplanned = append(unplanned, inst)
			continue
		}
		for _, p := range inst.Plans {
			g := &groups[group(p)]
			if n := len(g.instances); n > 0 && g.instances[n-1].ID == inst.ID {
				continue // the plan listed twice
			}
			g.instances = append(g.instances, inst)
		}
	}
	if len(unplanned) > 0 {
		groups = append(groups, planGroup{label: noPlan, instances: unplanned})
	}
	return groups
}

// planKey identifies a plan within its service: its system_name, else its id.
func planKey(p registry.PlanRef) string {
	if p.SystemName != "" {
		return "s:" + p.SystemName
	}
	return "#" + strconv.FormatInt(p.ID, 10)
}

// planLabel names a plan: its system_name, else its name, else its id.
func planLabel(p registry.PlanRef) string {
	switch {
	case p.SystemName != "":
		return p.SystemName
	case p.Name != "":
		return p.Name
	default:
		return "#" + strconv.FormatInt(p.ID, 10)
	}
}

// instanceAddress is host:port, or the host alone without a port.
func instanceAddress(inst registry.MapInstance) string {
	switch {
	case inst.Address == "":
		return "-"
	case inst.Port == 0:
		return inst.Address
	default:
		return net.JoinHostPort(inst.Address, strconv.Itoa(inst.Port))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatAge writes a duration short, with the precision a human wants:
// 350ms, 1.2s, 3m4s, 2h5m, 3d4h.
func formatAge(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 24*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		d = d.Round(time.Hour)
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
	}
}

// renderTable writes one row per instance and plan it serves (PLAN "-" for an
// instance serving none), a row with dashes for a plan no instance serves,
// and one for a service with neither plans nor instances.
func renderTable(w io.Writer, m *registry.Map) error {
	dcs := hasDatacenters(m)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(dc string, cols ...string) {
		if dcs {
			cols = append([]string{orDash(dc)}, cols...)
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	row("DATACENTER", "SERVICE", "PLAN", "INSTANCE", "ADDRESS", "STATUS", "AGE")
	for _, s := range m.Services {
		groups := planGroups(s)
		if len(groups) == 0 {
			row("", s.Name, "-", "-", "-", "-", "-")
		}
		for _, g := range groups {
			plan := g.label
			if !g.plan {
				plan = "-"
			}
			if len(g.instances) == 0 {
				row("", s.Name, plan, "-", "-", "-", "-")
			}
			for _, inst := range g.instances {
				age := "-" // an instance read from Consul's catalog has no heartbeat here
				if !inst.LastHeartbeat.IsZero() {
					age = formatAge(time.Duration(inst.Age))
				}
				row(inst.Datacenter, s.Name, plan, inst.ID, instanceAddress(inst), orDash(inst.Status), age)
			}
		}
	}
	return tw.Flush()
}

// hasDatacenters reports whether any instance on the map names its
// datacenter (a map read from Consul across datacenters).
func hasDatacenters(m *registry.Map) bool {
	for _, s := range m.Services {
		for _, in := range s.Instances {
			if in.Datacenter != "" {
				return true
			}
		}
	}
	return false
}

// renderJSON writes the map as indented JSON.
func renderJSON(w io.Writer, m *registry.Map) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(m)
}

// renderTree writes each service with its plans and, under each plan, the
// instances serving it; instances serving no plan go under "(no plan)".
func renderTree(w io.Writer, m *registry.Map) error {
	var b strings.Builder
	if len(m.Services) == 0 {
		b.WriteString("(no services)\n")
	}
	// Instance columns are aligned across the whole tree.
	var wID, wAddr, wStatus, wAge int
	for _, s := range m.Services {
		for _, inst := range s.Instances {
			wID = max(wID, len(inst.ID))
			wAddr = max(wAddr, len(instanceAddress(inst)))
			wStatus = max(wStatus, len(orDash(inst.Status)))
			wAge = max(wAge, len(formatAge(time.Duration(inst.Age))))
		}
	}
	for _, s := range m.Services {
		b.WriteString(s.Name)
		if s.ID == 0 {
			b.WriteString("  (not in the composition)")
		}
		b.WriteByte('\n')
		groups := planGroups(s)
		if len(groups) == 0 {
			b.WriteString("└── (no plans, no instances)\n")
		}
		for gi, g := range groups {
			branch, indent := "├── ", "│   "
			if gi == len(groups)-1 {
				branch, indent = "└── ", "    "
			}
			b.WriteString(branch + g.label + "\n")
			if len(g.instances) == 0 {
				b.WriteString(indent + "└── (no instances)\n")
			}
			for ii, inst := range g.instances {
				leaf := "├── "
				if ii == len(g.instances)-1 {
					leaf = "└── "
				}
				line := fmt.Sprintf("%-*s  %-*s  %-*s  %s", wID, inst.ID, wAddr, instanceAddress(inst),
					wStatus, orDash(inst.Status), formatAge(time.Duration(inst.Age)))
				if len(inst.Placements) > 0 {
					line = fmt.Sprintf("%-*s  via %s", wID+wAddr+wStatus+wAge+6, line, strings.Join(inst.Placements, ", "))
				}
				b.WriteString(indent + leaf + line + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Node colours by instance status: fill and border.
var dotStatusColors = map[string][2]string{
	registry.StatusPassing:  {"#c8e6c9", "#2e7d32"},
	registry.StatusWarning:  {"#fff3c4", "#f9a825"},
	registry.StatusCritical: {"#ffcdd2", "#c62828"},
	registry.StatusDraining: {"#e0e0e0", "#616161"},
}

// renderDOT writes the map as a Graphviz digraph: service → plan → instance,
// instances labelled with their address and status and coloured by status.
func renderDOT(w io.Writer, m *registry.Map) error {
	var b strings.Builder
	b.WriteString("digraph \"portolan\" {\n")
	b.WriteString("  graph [rankdir=LR, fontname=\"Helvetica\"];\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [color=\"#757575\"];\n")
	seen := map[string]bool{}
	for _, s := range m.Services {
		sid := "service/" + s.Name
		label := s.Name
		style := "bold,rounded"
		if s.ID == 0 {
			label += "\n(not in the composition)"
			style = "dashed,rounded"
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=box, style=%s];\n", dotQuote(sid), dotQuote(label), dotQuote(style))
		for _, g := range planGroups(s) {
			pid := "plan/" + s.Name + "/" + g.label
			style := "solid"
			if !g.plan {
				pid = "noplan/" + s.Name
				style = "dashed"
			}
			fmt.Fprintf(&b, "  %s [label=%s, shape=ellipse, style=%s];\n", dotQuote(pid), dotQuote(g.label), dotQuote(style))
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(sid), dotQuote(pid))
			for _, inst := range g.instances {
				iid := "instance/" + inst.ID
				if !seen[iid] {
					seen[iid] = true
					colors, ok := dotStatusColors[inst.Status]
					if !ok {
						colors = [2]string{"#ffffff", "#000000"}
					}
					label := inst.ID + "\n" + instanceAddress(inst) + "\n" + orDash(inst.Status)
					fmt.Fprintf(&b, "  %s [label=%s, shape=box, style=\"filled,rounded\", fillcolor=%s, color=%s];\n",
						dotQuote(iid), dotQuote(label), dotQuote(colors[0]), dotQuote(colors[1]))
				}
				fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(pid), dotQuote(iid))
			}
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// dotQuote writes s as a DOT quoted string: quotes and backslashes escaped,
// line breaks as \n (a centred line break in labels).
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return `"` + r.Replace(s) + `"`
}
