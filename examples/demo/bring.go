package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"
)

// writePlans writes the service's application plans with their limits.
func (c *client) writePlans(w io.Writer, svc string) {
	fmt.Fprintln(w, "  application plans:")
	for _, p := range c.items("/admin/api/services/"+svc+"/application_plans.json", "plans", "application_plan") {
		fmt.Fprintf(w, "    %v %v (%v)\n", p["id"], p["name"], p["state"])
		for _, l := range c.items(fmt.Sprintf("/admin/api/application_plans/%.0f/limits.json", p["id"]), "limits", "limit") {
			fmt.Fprintf(w, "      limit: metric %v at most %v per %v\n", l["metric_id"], l["value"], l["period"])
		}
	}
}

// printPlans prints the service's plans with their limits.
func (c *client) printPlans(svc string) {
	w := bufio.NewWriter(os.Stdout)
	c.writePlans(w, svc)
	_ = w.Flush()
}

// waitPlans waits until the service has the plans named (an agent brought
// them) and returns home's composition revision then.
func (c *client) waitPlans(svc string, names ...string) (uint64, error) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		have := map[string]bool{}
		for _, p := range c.items("/admin/api/services/"+svc+"/application_plans.json", "plans", "application_plan") {
			have[fmt.Sprint(p["system_name"])] = true
		}
		if c.err != nil {
			return 0, c.err
		}
		all := true
		for _, n := range names {
			all = all && have[n]
		}
		if all {
			return c.revision()
		}
		if err := pause(c.ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("the plans %v did not reach home within 20s", names)
}

var revisionRE = regexp.MustCompile(`(?m)^portolan_composition_revision (\S+)$`)

// metrics reads home's /metrics.
func (c *client) metrics() ([]byte, error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// revision reads home's composition revision from its /metrics.
func (c *client) revision() (uint64, error) {
	b, err := c.metrics()
	if err != nil {
		return 0, err
	}
	m := revisionRE.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no portolan_composition_revision in home's /metrics")
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	return uint64(f), err
}
