package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

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

// indexHeader carries the index of the map on GET /v1/map.
const indexHeader = "X-Portolan-Index"

// Defaults of the --watch loop.
const (
	// watchWait is how long one blocking query may wait for a change.
	watchWait = 5 * time.Minute
	// watchMinInterval spaces queries out, so that a coordinator that answers
	// at once (or a map that changes all the time) cannot make a busy loop.
	watchMinInterval = 200 * time.Millisecond
	// Backoff between failed queries: doubling from the first to the last,
	// with jitter.
	watchBackoffMin = 500 * time.Millisecond
	watchBackoffMax = 30 * time.Second
)

// clearScreen moves the cursor home and clears the terminal.
const clearScreen = "\x1b[H\x1b[2J"

// errUnauthorized is the error of a 401 from the coordinator.
var errUnauthorized = errors.New("the coordinator refused the agent token (401): " +
	"--token (or PORTOLAN_TOKEN) must be the coordinator's agent token, not its admin access token")

func mapCommand() *cli.Command {
	return &cli.Command{
		Name:  "map",
		Usage: "print the service map: services, their plans and the instances serving them",
		UsageText: "portolan map --home URL --token T [--service S] [-o table|json|tree|dot] [--watch]\n" +
			"portolan map --consul URL [--dc NAME | --all-datacenters] [--service S] [-o ...]",
		Description: `Reads the service map from the coordinator (GET /v1/map, with the agent token)
and prints it:

  table  one row per instance and plan it serves: service, plan, instance,
         address, status and time since its last heartbeat (the default)
  json   the map as the coordinator serves it
  tree   service → plans → instances
  dot    a Graphviz digraph (portolan map -o dot | dot -Tsvg > map.svg)

--watch redraws on every change, through blocking queries, until interrupted;
it keeps going, with backoff, while the coordinator is unreachable.

--consul reads the map straight from a Consul agent instead: every service
registered with the tag "portolan" (portolan agent --consul), its plans from
the plan:<system_name> tags and its health from Consul's checks, in the
agent's datacenter, the one --dc names, or every WAN-joined datacenter with
--all-datacenters.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "home", Value: "http://127.0.0.1:7070", Usage: "URL of the coordinator"},
			&cli.StringFlag{Name: "token", Usage: "the agent token (the map is served to agents, under /v1)"},
			&cli.StringFlag{Name: "via", Usage: "ask a local agent's API (e.g. 127.0.0.1:7071) instead of home: it answers from gossip, merged with home's view when home is reachable"},
			&cli.StringFlag{Name: "service", Usage: "show only this service (its system_name)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: mapFormatTable, Usage: "output format: table, json, tree or dot"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "redraw the map on every change until interrupted"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long one request may take (with --watch, on top of the blocking wait)"},
		}, consulMapFlags()...),
		Action: runMap,
	}
}

func runMap(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("map: unexpected argument %q (flags go before arguments; map takes none)", c.Args().First())
	}
	format := strings.ToLower(strings.TrimSpace(c.String("output")))
	render, ok := mapRenderers[format]
	if !ok {
		return fmt.Errorf("map: unknown output format %q: want table, json, tree or dot", c.String("output"))
	}
	service := c.String("service")
	if c.IsSet("consul") {
		return runConsulMap(c, service, render)
	}
	client := &mapClient{service: service, http: &http.Client{}}
	if via := c.String("via"); via != "" {
		client.home, client.path = "http://"+strings.TrimPrefix(via, "http://"), "/v1/agent/map"
	} else {
		if err := required(c, "token"); err != nil {
			return fmt.Errorf("map: %w", err)
		}
		home, err := parseHome(c.String("home"))
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
		client.home, client.token = home, c.String("token")
	}

	if !c.Bool("watch") {
		ctx, cancel := contextWithTimeout(c)
		defer cancel()
		m, _, err := client.fetch(ctx, 0, 0)
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
		m = filterMap(m, service)
		if service != "" && len(m.Services) == 0 {
			fmt.Fprintf(errWriter(c), "portolan map: no service %q on the map\n", service)
		}
		if m.View != "" && format != mapFormatJSON {
			fmt.Fprintf(c.App.Writer, "view: %s\n", m.View)
		}
		return render(c.App.Writer, m)
	}

	ctx, stop := signal.NotifyContext(ctxOf(c), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	w := &mapWatcher{
		client:      client,
		service:     service,
		format:      format,
		render:      render,
		out:         c.App.Writer,
		errOut:      errWriter(c),
		tty:         isTerminal(c.App.Writer),
		wait:        watchWait,
		timeout:     c.Duration("timeout"),
		minInterval: watchMinInterval,
		backoffMin:  watchBackoffMin,
		backoffMax:  watchBackoffMax,
		now:         time.Now,
	}
	if err := w.run(ctx); err != nil {
		return fmt.Errorf("map: %w", err)
	}
	return nil
}

// parseHome checks the coordinator's URL and returns it without a trailing slash.
func parseHome(home string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(home))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--home %q: want an http:// or https:// URL such as http://127.0.0.1:7070", home)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// isTerminal tells whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// mapClient reads the service map from the coordinator.
type mapClient struct {
	home  string // base URL, no trailing slash
	token string // agent token
	// service, when set, asks the coordinator for that service alone (the
	// map is filtered here too, whatever the coordinator does).
	service string
	http    *http.Client
	path    string // /v1/map at home (when empty), /v1/agent/map at an agent
}

// fetch GETs the map (?service= when one is chosen). With index > 0 it is a blocking query: the coordinator
// answers when the map's index passes index, or after wait. It returns the
// map and its index (the X-Portolan-Index header, else the map's own).
func (mc *mapClient) fetch(ctx context.Context, index uint64, wait time.Duration) (*registry.Map, uint64, error) {
	q := url.Values{}
	if mc.service != "" {
		q.Set("service", mc.service)
	}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		if wait > 0 {
			q.Set("wait", formatWait(wait))
		}
	}
	path := mc.path
	if path == "" {
		path = "/v1/map"
	}
	target := mc.home + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, err
	}
	if mc.token != "" {
		req.Header.Set("Authorization", "Bearer "+mc.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := mc.http.Do(req)
	if err != nil {
		return nil, 0, mc.transportError(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, 0, errUnauthorized
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		msg := strings.TrimSpace(string(body))
		if msg == "" {
			return nil, 0, fmt.Errorf("GET %s/v1/map: %s", mc.redactedHome(), resp.Status)
		}
		return nil, 0, fmt.Errorf("GET %s/v1/map: %s: %s", mc.redactedHome(), resp.Status, msg)
	}
	var m registry.Map
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&m); err != nil {
		if ctx.Err() != nil {
			return nil, 0, mc.transportError(ctx.Err())
		}
		return nil, 0, fmt.Errorf("GET %s/v1/map: the answer is not a service map: %w", mc.redactedHome(), err)
	}
	idx := m.Index
	if h := resp.Header.Get(indexHeader); h != "" {
		if n, err := strconv.ParseUint(strings.TrimSpace(h), 10, 64); err == nil {
			idx = n
		}
	}
	return &m, idx, nil
}

// transportError explains a request that got no answer.
func (mc *mapClient) transportError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the coordinator at %s did not answer in time (see --timeout)", mc.redactedHome())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach the coordinator at %s: connection refused (is `portolan coordinator` running there? see --home)", mc.redactedHome())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL
	}
	return fmt.Errorf("cannot reach the coordinator at %s: %w", mc.redactedHome(), err)
}

// redactedHome is the coordinator's URL without any password in it.
func (mc *mapClient) redactedHome() string {
	u, err := url.Parse(mc.home)
	if err != nil {
		return mc.home
	}
	return u.Redacted()
}

// formatWait writes a wait duration the short way: 5m rather than 5m0s.
func formatWait(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// mapWatcher redraws the map on every change.
type mapWatcher struct {
	client  *mapClient
	service string
	format  string
	render  func(io.Writer, *registry.Map) error
	out     io.Writer
	errOut  io.Writer
	// tty: clear the screen before each drawing; otherwise separate drawings.
	tty bool
	// wait is the longest a blocking query waits; timeout is added to it for
	// one request.
	wait, timeout time.Duration
	// minInterval is the shortest time between the starts of two queries.
	minInterval            time.Duration
	backoffMin, backoffMax time.Duration
	now                    func() time.Time
}

// run draws the map, then redraws it on every change, until ctx ends (it then
// returns nil). Failed queries are retried with backoff and jitter; only a
// refused token (401), or a failure to write the output, stops it.
func (w *mapWatcher) run(ctx context.Context) error {
	var (
		index    uint64 // of the next blocking query; 0 for one that answers at once
		drawn    uint64 // index of the map on screen
		draws    int
		failures int
	)
	for {
		start := time.Now()
		timeout := w.timeout
		if index > 0 {
			timeout += w.wait + w.wait/16 // the coordinator may add jitter to wait
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		m, idx, err := w.client.fetch(rctx, index, w.wait)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, errUnauthorized) {
				return err
			}
			failures++
			d := backoff(failures, w.backoffMin, w.backoffMax)
			fmt.Fprintf(w.errOut, "portolan map: %v; retrying in %s\n", err, d.Round(time.Millisecond))
			if !sleepCtx(ctx, d) {
				return nil
			}
			continue
		}
		failures = 0
		if draws == 0 || idx != drawn {
			if err := w.draw(m, idx, draws); err != nil {
				return err
			}
			drawn = idx
			draws++
		}
		if idx < index {
			// The index went backwards (the coordinator restarted): start
			// over with a query that answers at once, as Consul's clients do.
			index = 0
		} else {
			// Never block on index 0: such a query would answer at once.
			index = max(idx, 1)
		}
		if !sleepCtx(ctx, w.minInterval-time.Since(start)) {
			return nil
		}
	}
}

// draw prints one drawing of the map: on a terminal over the previous one,
// elsewhere after a separator line. The JSON and DOT outputs get neither a
// title nor a separator, so that the output stays a stream of documents (jq
// and dot read several).
func (w *mapWatcher) draw(m *registry.Map, index uint64, draws int) error {
	m = filterMap(m, w.service)
	machine := w.format == mapFormatJSON || w.format == mapFormatDOT
	var buf bytes.Buffer
	if w.tty {
		buf.WriteString(clearScreen)
	} else if draws > 0 && !machine {
		buf.WriteString("\n" + strings.Repeat("─", 60) + "\n")
	}
	if !machine {
		fmt.Fprintf(&buf, "%s · index %d · revision %d · %s\n\n",
			w.client.redactedHome(), index, m.Revision, w.now().Format("15:04:05"))
		if w.service != "" && len(m.Services) == 0 {
			fmt.Fprintf(&buf, "(no service %q on the map)\n", w.service)
		}
	}
	if err := w.render(&buf, m); err != nil {
		return err
	}
	_, err := w.out.Write(buf.Bytes())
	return err
}

// backoff is the wait after the given number of failures in a row: min
// doubled each time up to max, half of it random.
func backoff(failures int, lo, hi time.Duration) time.Duration {
	d := hi
	if failures < 1 {
		failures = 1
	}
	if failures <= 32 {
		if v := lo << (failures - 1); v > 0 && v < hi {
			d = v
		}
	}
	return d/2 + rand.N(d/2+1)
}

// sleepCtx sleeps for d, or until ctx ends; it tells whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// filterMap returns the map with only the named service; all of it when
// service is empty.
func filterMap(m *registry.Map, service string) *registry.Map {
	if service == "" {
		return m
	}
	out := *m
	out.Services = []registry.MapService{}
	for _, s := range m.Services {
		if s.Name == service {
			out.Services = append(out.Services, s)
		}
	}
	return &out
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
