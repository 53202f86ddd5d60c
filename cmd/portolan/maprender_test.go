package main

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry"
)

// testMap is a hand-made service map: a service with three plans (one that
// no instance serves), two placements and instances in every status, one
// serving two plans and one serving none; a service with a plan and no
// instances; a service the composition does not know (an IPv6 instance);
// and a service with nothing at all.
func testMap() *registry.Map {
	basic := registry.PlanRef{ID: 10, SystemName: "basic", Name: "Basic"}
	premium := registry.PlanRef{ID: 11, SystemName: "premium", Name: "Premium"}
	partner := registry.PlanRef{ID: 12, SystemName: "partner", Name: "Partner"}
	gold := registry.PlanRef{ID: 20, SystemName: "gold", Name: "Gold"}
	hb := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	age := func(d time.Duration) registry.Duration { return registry.Duration(d) }
	return &registry.Map{
		Index:    42,
		Revision: 7,
		Services: []registry.MapService{
			{
				Name:  "news",
				ID:    1,
				Plans: []registry.PlanRef{basic, premium, partner},
				Placements: []registry.MapPlacement{
					{ID: 1, Name: "shared", Selector: map[string]string{}, Plans: []registry.PlanRef{basic}},
					{ID: 2, Name: "premium-pool", Selector: map[string]string{"pool": "premium"}, Plans: []registry.PlanRef{premium}},
				},
				Instances: []registry.MapInstance{
					{ID: "news-a1b2", Service: "news", Address: "10.0.0.5", Port: 3000, Status: registry.StatusPassing,
						Plans: []registry.PlanRef{basic, premium}, Placements: []string{"shared", "premium-pool"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(1200 * time.Millisecond)},
					{ID: "news-c3d4", Service: "news", Address: "10.0.0.6", Port: 3000, Labels: map[string]string{"pool": "premium"},
						Status: registry.StatusWarning, Output: "slow", Plans: []registry.PlanRef{premium}, Placements: []string{"premium-pool"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(3*time.Minute + 4*time.Second)},
					{ID: "news-e5f6", Service: "news", Address: "10.0.0.7", Port: 3000, Status: registry.StatusCritical,
						Output: "TTL expired", Plans: []registry.PlanRef{basic}, Placements: []string{"shared"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(45 * time.Second)},
					{ID: "news-g7h8", Service: "news", Address: "10.0.0.8", Port: 3000, Status: registry.StatusDraining,
						Plans: []registry.PlanRef{basic}, Placements: []string{"shared"},
						AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(350 * time.Millisecond)},
					{ID: "news-unplaced", Service: "news", Address: "10.0.0.9", Port: 3000, Status: registry.StatusPassing,
						Plans: []registry.PlanRef{}, AgentVersion: "1.0.0", LastHeartbeat: hb, Age: age(2*time.Hour + 5*time.Minute)},
				},
			},
			{
				Name:       "billing",
				ID:         2,
				Plans:      []registry.PlanRef{gold},
				Placements: []registry.MapPlacement{},
				Instances:  []registry.MapInstance{},
			},
			{
				Name:       "legacy",
				Plans:      []registry.PlanRef{},
				Placements: []registry.MapPlacement{},
				Instances: []registry.MapInstance{
					{ID: "legacy-1", Service: "legacy", Address: "fd00::1", Port: 8080, Status: registry.StatusPassing,
						Plans: []registry.PlanRef{}, LastHeartbeat: hb, Age: age(2 * time.Second)},
				},
			},
			{Name: "empty", ID: 3, Plans: []registry.PlanRef{}, Placements: []registry.MapPlacement{}, Instances: []registry.MapInstance{}},
		},
	}
}

const goldenTable = `SERVICE  PLAN     INSTANCE       ADDRESS         STATUS    AGE
news     basic    news-a1b2      10.0.0.5:3000   passing   1.2s
news     basic    news-e5f6      10.0.0.7:3000   critical  45s
news     basic    news-g7h8      10.0.0.8:3000   draining  350ms
news     premium  news-a1b2      10.0.0.5:3000   passing   1.2s
news     premium  news-c3d4      10.0.0.6:3000   warning   3m4s
news     partner  -              -               -         -
news     -        news-unplaced  10.0.0.9:3000   passing   2h5m
billing  gold     -              -               -         -
legacy   -        legacy-1       [fd00::1]:8080  passing   2s
empty    -        -              -               -         -
`

const goldenTree = `news
├── basic
│   ├── news-a1b2      10.0.0.5:3000   passing   1.2s   via shared, premium-pool
│   ├── news-e5f6      10.0.0.7:3000   critical  45s    via shared
│   └── news-g7h8      10.0.0.8:3000   draining  350ms  via shared
├── premium
│   ├── news-a1b2      10.0.0.5:3000   passing   1.2s   via shared, premium-pool
│   └── news-c3d4      10.0.0.6:3000   warning   3m4s   via premium-pool
├── partner
│   └── (no instances)
└── (no plan)
    └── news-unplaced  10.0.0.9:3000   passing   2h5m
billing
└── gold
    └── (no instances)
legacy  (not in the composition)
└── (no plan)
    └── legacy-1       [fd00::1]:8080  passing   2s
empty
└── (no plans, no instances)
`

const goldenDOT = `digraph "portolan" {
  graph [rankdir=LR, fontname="Helvetica"];
  node [fontname="Helvetica", fontsize=11];
  edge [color="#757575"];
  "service/news" [label="news", shape=box, style="bold,rounded"];
  "plan/news/basic" [label="basic", shape=ellipse, style="solid"];
  "service/news" -> "plan/news/basic";
  "instance/news-a1b2" [label="news-a1b2\n10.0.0.5:3000\npassing", shape=box, style="filled,rounded", fillcolor="#c8e6c9", color="#2e7d32"];
  "plan/news/basic" -> "instance/news-a1b2";
  "instance/news-e5f6" [label="news-e5f6\n10.0.0.7:3000\ncritical", shape=box, style="filled,rounded", fillcolor="#ffcdd2", color="#c62828"];
  "plan/news/basic" -> "instance/news-e5f6";
  "instance/news-g7h8" [label="news-g7h8\n10.0.0.8:3000\ndraining", shape=box, style="filled,rounded", fillcolor="#e0e0e0", color="#616161"];
  "plan/news/basic" -> "instance/news-g7h8";
  "plan/news/premium" [label="premium", shape=ellipse, style="solid"];
  "service/news" -> "plan/news/premium";
  "plan/news/premium" -> "instance/news-a1b2";
  "instance/news-c3d4" [label="news-c3d4\n10.0.0.6:3000\nwarning", shape=box, style="filled,rounded", fillcolor="#fff3c4", color="#f9a825"];
  "plan/news/premium" -> "instance/news-c3d4";
  "plan/news/partner" [label="partner", shape=ellipse, style="solid"];
  "service/news" -> "plan/news/partner";
  "noplan/news" [label="(no plan)", shape=ellipse, style="dashed"];
  "service/news" -> "noplan/news";
  "instance/news-unplaced" [label="news-unplaced\n10.0.0.9:3000\npassing", shape=box, style="filled,rounded", fillcolor="#c8e6c9", color="#2e7d32"];
  "noplan/news" -> "instance/news-unplaced";
  "service/billing" [label="billing", shape=box, style="bold,rounded"];
  "plan/billing/gold" [label="gold", shape=ellipse, style="solid"];
  "service/billing" -> "plan/billing/gold";
  "service/legacy" [label="legacy\n(not in the composition)", shape=box, style="dashed,rounded"];
  "noplan/legacy" [label="(no plan)", shape=ellipse, style="dashed"];
  "service/legacy" -> "noplan/legacy";
  "instance/legacy-1" [label="legacy-1\n[fd00::1]:8080\npassing", shape=box, style="filled,rounded", fillcolor="#c8e6c9", color="#2e7d32"];
  "noplan/legacy" -> "instance/legacy-1";
  "service/empty" [label="empty", shape=box, style="bold,rounded"];
}
`

func render(t *testing.T, f func(io.Writer, *registry.Map) error, m *registry.Map) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, f(&b, m))
	return b.String()
}

func TestRenderTableGolden(t *testing.T) {
	assert.Equal(t, goldenTable, render(t, renderTable, testMap()))
}

func TestRenderTreeGolden(t *testing.T) {
	assert.Equal(t, goldenTree, render(t, renderTree, testMap()))
}

func TestRenderDOTGolden(t *testing.T) {
	out := render(t, renderDOT, testMap())
	assert.Equal(t, goldenDOT, out)
	checkDOT(t, out)
}

func TestRenderJSONRoundTrips(t *testing.T) {
	m := testMap()
	out := render(t, renderJSON, m)
	assert.True(t, strings.HasPrefix(out, "{\n  \"index\": 42,\n"), "indented: %.40q", out)
	var back registry.Map
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, *m, back)
}

func TestRenderEmptyMap(t *testing.T) {
	m := &registry.Map{Index: 1, Services: []registry.MapService{}}
	assert.Equal(t, "SERVICE  PLAN  INSTANCE  ADDRESS  STATUS  AGE\n", render(t, renderTable, m))
	assert.Equal(t, "(no services)\n", render(t, renderTree, m))
	dot := render(t, renderDOT, m)
	checkDOT(t, dot)
	assert.NotContains(t, dot, "->")
	assert.JSONEq(t, `{"index":1,"revision":0,"services":[]}`, render(t, renderJSON, m))
}

// TestPlanGroupsMatchesPlansBySystemName: an instance's plan reference may
// lack the id the service's plan list has.
func TestPlanGroupsMatchesPlansBySystemName(t *testing.T) {
	s := registry.MapService{
		Name:  "svc",
		Plans: []registry.PlanRef{{ID: 1, SystemName: "a"}, {ID: 2, SystemName: "b"}},
		Instances: []registry.MapInstance{
			{ID: "i1", Plans: []registry.PlanRef{{SystemName: "b"}, {SystemName: "b"}}},
			{ID: "i2", Plans: []registry.PlanRef{{ID: 9, Name: "Odd"}}},
			{ID: "i3", Plans: []registry.PlanRef{{ID: 8}}},
		},
	}
	var got []string
	for _, g := range planGroups(s) {
		var ids []string
		for _, inst := range g.instances {
			ids = append(ids, inst.ID)
		}
		got = append(got, g.label+":"+strings.Join(ids, ","))
	}
	assert.Equal(t, []string{"a:", "b:i1", "Odd:i2", "#8:i3"}, got)
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                          "0s",
		0:                                     "0s",
		350 * time.Millisecond:                "350ms",
		999*time.Millisecond + 1:              "999ms",
		1200 * time.Millisecond:               "1.2s",
		1249 * time.Millisecond:               "1.2s",
		5 * time.Second:                       "5s",
		59*time.Second + 990*time.Millisecond: "1m0s",
		3*time.Minute + 4*time.Second + 400*time.Millisecond: "3m4s",
		2*time.Hour + 5*time.Minute + 10*time.Second:         "2h5m",
		3*24*time.Hour + 4*time.Hour + 10*time.Minute:        "3d4h",
	} {
		assert.Equal(t, want, formatAge(d), "%v", d)
	}
}

func TestDOTEscapesNames(t *testing.T) {
	m := &registry.Map{Services: []registry.MapService{{
		Name:  `we"ird\svc`,
		ID:    1,
		Plans: []registry.PlanRef{{ID: 1, SystemName: "p\"1"}},
		Instances: []registry.MapInstance{{
			ID: "i\"d\nx", Address: "h", Port: 1, Status: "custom",
			Plans: []registry.PlanRef{{ID: 1, SystemName: "p\"1"}},
		}},
	}}}
	out := render(t, renderDOT, m)
	checkDOT(t, out)
	assert.Contains(t, out, `"service/we\"ird\\svc" [label="we\"ird\\svc"`)
	assert.Contains(t, out, `"instance/i\"d\nx" [label="i\"d\nx\nh:1\ncustom", shape=box, style="filled,rounded", fillcolor="#ffffff", color="#000000"];`)
	assert.Equal(t, `"a\\b\"c\nd\ne"`, dotQuote("a\\b\"c\r\nd\ne"))
}

// checkDOT checks that out is a digraph of the statements renderDOT writes:
// attribute statements, node statements and edges, every id a quoted
// string, every edge between declared nodes.
func checkDOT(t *testing.T, out string) {
	t.Helper()
	const q = `"(?:[^"\\]|\\.)*"`
	const attrs = `\[(?:\w+=(?:` + q + `|[\w.]+)(?:, )?)+\]`
	var (
		header = regexp.MustCompile(`^digraph ` + q + ` \{$`)
		global = regexp.MustCompile(`^  (?:graph|node|edge) ` + attrs + `;$`)
		node   = regexp.MustCompile(`^  (` + q + `) ` + attrs + `;$`)
		edge   = regexp.MustCompile(`^  (` + q + `) -> (` + q + `);$`)
	)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	require.Regexp(t, header, lines[0])
	require.Equal(t, "}", lines[len(lines)-1])
	nodes := map[string]bool{}
	for _, l := range lines[1 : len(lines)-1] {
		switch {
		case global.MatchString(l):
		case node.MatchString(l):
			id := node.FindStringSubmatch(l)[1]
			assert.False(t, nodes[id], "node %s declared twice", id)
			nodes[id] = true
		case edge.MatchString(l):
			m := edge.FindStringSubmatch(l)
			assert.True(t, nodes[m[1]], "edge from undeclared %s", m[1])
			assert.True(t, nodes[m[2]], "edge to undeclared %s", m[2])
		default:
			t.Errorf("not a DOT statement: %q", l)
		}
	}
}
