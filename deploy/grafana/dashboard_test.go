package grafana_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dashboard is the part of Grafana's dashboard model the tests read.
type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int     `json:"schemaVersion"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID        string      `json:"refId"`
		Expr         string      `json:"expr"`
		LegendFormat string      `json:"legendFormat"`
		Datasource   *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type variable struct {
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Query      any         `json:"query"` // a string, or an object with a query field
	Datasource *datasource `json:"datasource"`
}

// query is one PromQL expression of the dashboard and where it is.
type query struct {
	where string
	expr  string // Grafana's variables expanded to PromQL
	label string // for a label_values variable: the label it lists
}

const dashboardFile = "portolan.json"

// dsInput is the datasource input Grafana asks for on import.
const dsInput = "${DS_PROMETHEUS}"

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	require.True(t, json.Valid(b), "%s is valid JSON", dashboardFile)
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	require.NoError(t, dec.Decode(&d))
	require.ErrorIs(t, dec.Decode(&struct{}{}), io.EOF, "nothing after the dashboard")
	return &d
}

// allPanels returns the panels, a collapsed row's included.
func (d *dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// grafanaVar is a use of a Grafana variable: $name, ${name} or ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)`)

// builtinIntervals are Grafana's interval variables, each a duration.
var builtinIntervals = []string{"__rate_interval", "__interval", "__range"}

// expand replaces Grafana's variables in expr as Grafana would before
// sending it: intervals become a duration, the others a value (they only
// appear inside label matchers' strings). It returns the variables used.
func expand(expr string) (string, []string) {
	var used []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		used = append(used, name)
		if slices.Contains(builtinIntervals, name) {
			return "5m"
		}
		return "x"
	})
	return out, used
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)

// queries returns every PromQL expression of the dashboard: each target's,
// and each query variable's metric.
func (d *dashboard) queries(t *testing.T) []query {
	t.Helper()
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	checkVars := func(where string, used []string) {
		for _, name := range used {
			assert.True(t, defined[name] || slices.Contains(builtinIntervals, name),
				"%s uses $%s, which the dashboard does not define", where, name)
		}
	}
	var out []query
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			where := p.Title + " " + tg.RefID
			expr, used := expand(tg.Expr)
			checkVars(where, used)
			out = append(out, query{where: where, expr: expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		lv := labelValues.FindStringSubmatch(q)
		if !assert.NotNil(t, lv, "variable %s: a label_values(metric, label) query, got %q", v.Name, q) {
			continue
		}
		expr, used := expand(lv[1])
		checkVars("variable "+v.Name, used)
		out = append(out, query{where: "variable " + v.Name, expr: expr, label: lv[2]})
	}
	return out
}

// The dashboard is one Grafana can import: valid JSON, schema 39, the
// Prometheus datasource asked for on import and used by every panel and
// query variable, unique panel ids, every panel (rows aside) with queries,
// every query valid PromQL using only variables the dashboard defines, and
// the variables an operator filters by.
func TestDashboardIsWellFormed(t *testing.T) {
	d := loadDashboard(t)
	assert.Equal(t, 39, d.SchemaVersion)
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.Title)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, "DS_PROMETHEUS", d.Inputs[0].Name)
	assert.Equal(t, "datasource", d.Inputs[0].Type)
	assert.Equal(t, "prometheus", d.Inputs[0].PluginID)

	ids := map[int]string{}
	panels := 0
	for _, p := range d.allPanels() {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d is both %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		assert.NotZero(t, p.ID, "panel %q has an id", p.Title)
		assert.NotEmpty(t, p.Title, "panel %d has a title", p.ID)
		assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "panel %q fits the grid's 24 columns", p.Title)
		if p.Type == "row" {
			continue
		}
		panels++
		if assert.NotNil(t, p.Datasource, "panel %q has a datasource", p.Title) {
			assert.Equal(t, datasource{Type: "prometheus", UID: dsInput}, *p.Datasource, "panel %q", p.Title)
		}
		if !assert.NotEmpty(t, p.Targets, "panel %q has queries", p.Title) {
			continue
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			assert.NotEmpty(t, tg.Expr, "panel %q %s has an expression", p.Title, tg.RefID)
			assert.False(t, refs[tg.RefID], "panel %q: refId %s is unique", p.Title, tg.RefID)
			refs[tg.RefID] = true
			if assert.NotNil(t, tg.Datasource, "panel %q %s has a datasource", p.Title, tg.RefID) {
				assert.Equal(t, dsInput, tg.Datasource.UID)
			}
		}
	}
	assert.GreaterOrEqual(t, panels, 20, "the dashboard's panels")

	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
		if v.Type == "query" && assert.NotNil(t, v.Datasource, "variable %s has a datasource", v.Name) {
			assert.Equal(t, dsInput, v.Datasource.UID)
		}
	}
	assert.Equal(t, "datasource", vars["DS_PROMETHEUS"].Type, "a datasource variable, for a dashboard provisioned without import")
	for _, name := range []string{"coordinator", "instance", "service"} {
		assert.Equal(t, "query", vars[name].Type, "variable %s", name)
	}

	for _, q := range d.queries(t) {
		_, err := parsePromQL(q.expr)
		assert.NoError(t, err, q.where)
	}
}
