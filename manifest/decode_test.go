package manifest_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

const newsYAML = `apiVersion: portolan.dev/v1
kind: Backend
system_name: store
name: Store
private_endpoint: http://store.internal
metrics:
- system_name: hits
  methods:
  - system_name: search
---
apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
version: 3
metrics:
- system_name: hits
  methods:
  - {system_name: list}
mapping_rules:
- {http_method: GET, pattern: /articles, metric: list, delta: 1}
backend_usages:
- {backend: store, path: /store}
plans:
- system_name: basic
  name: Basic
  limits:
  - {metric: hits, period: day, value: 1000}
  - {metric: search, backend: store, period: month, value: 10}
`

func TestDecodeReadsDocumentsOfAFile(t *testing.T) {
	docs, err := manifest.Decode(strings.NewReader(newsYAML), "news.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Equal(t, manifest.Origin{Source: "news.yaml", Index: 2, Line: 11}, docs[1].Origin)
	assert.Equal(t, manifest.KindService, docs[1].Kind)
	s := docs[1].Service
	assert.Equal(t, "news", s.SystemName)
	assert.EqualValues(t, 3, s.Version)
	assert.Equal(t, []manifest.Limit{{Metric: "hits", Period: "day", Value: 1000}, {Metric: "search", Backend: "store", Period: "month", Value: 10}}, s.Plans[0].Limits)
}

// A backend usage path is taken as porta takes it through its Admin API:
// "store/v1" is the path /store/v1 (porta's ConfigPath).
func TestDecodeTakesABackendPathWithoutItsSlash(t *testing.T) {
	docs, err := manifest.Decode(strings.NewReader(strings.Replace(newsYAML, "path: /store", "path: store/v1", 1)), "news.yaml")
	require.NoError(t, err)
	require.Len(t, docs, 2)
}

func TestDecodeReadsJSONObjectsAndArrays(t *testing.T) {
	one := `{"apiVersion":"portolan.dev/v1","kind":"Placement","name":"p","selector":{"service":"news"},"service":"news"}`
	docs, err := manifest.Decode(strings.NewReader(one), "p.json")
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, "p", docs[0].Placement.Name)

	docs, err = manifest.Decode(strings.NewReader("["+one+","+strings.Replace(one, `"name":"p"`, `"name":"q"`, 1)+"]"), "ps.json")
	require.NoError(t, err)
	require.Len(t, docs, 2)
	assert.Equal(t, 2, docs[1].Origin.Index)
}

// Every problem is refused with the source, the document, the entity and
// the field path.
func TestDecodeErrorsNameDocumentEntityAndField(t *testing.T) {
	head := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"period out of its set", newsYAML + "  - {metric: hits, period: dai, value: 1}\n",
			`news.yaml:30: document 2 (Service "news"): plans[basic].limits[2].period: "dai" is not one of eternity, year, month, week, day, hour, minute`},
		{"unknown field", head + "plans:\n- system_name: basic\n  name: Basic\n  limts: []\n",
			`news.yaml:8: document 1 (Service "news"): plans[basic].limts: unknown field (known: system_name, name, state,`},
		{"field given twice", head + "name: Again\n",
			`news.yaml:5: document 1 (Service "news"): name: given twice`},
		{"wrong type", head + "version: three\n",
			`news.yaml:5: document 1 (Service "news"): version: must be an integer, not "three"`},
		{"integer out of range", head + "version: 9223372036854775808\n",
			`news.yaml:5: document 1 (Service "news"): version: 9223372036854775808 is out of range: an integer from -9223372036854775808 to 9223372036854775807`},
		{"missing required", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\n",
			`news.yaml:1: document 1 (Service "news"): name: is required`},
		{"unknown metric in a rule", head + "mapping_rules:\n- {http_method: GET, pattern: /, metric: nope, delta: 1}\n",
			`news.yaml:1: document 1 (Service "news"): mapping_rules[0].metric: "nope" is not a metric or method of its owner`},
		{"unknown metric in a limit", head + "plans:\n- system_name: basic\n  name: Basic\n  limits: [{metric: nope, period: day, value: 1}]\n",
			`document 1 (Service "news"): plans[basic].limits[0].metric: "nope" is not a metric or method of the service`},
		{"unknown metric in a pricing rule", head + "plans:\n- system_name: basic\n  name: Basic\n  pricing_rules: [{metric: nope, cost_per_unit: 0.1, min: 1}]\n",
			`plans[basic].pricing_rules[0].metric: "nope" is not a metric or method of the service`},
		{"backend not used", head + "plans:\n- system_name: basic\n  name: Basic\n  limits: [{metric: hits, backend: store, period: day, value: 1}]\n",
			`plans[basic].limits[0].backend: "store" is not a backend the service uses (backend_usages)`},
		{"unknown plan feature", head + "plans:\n- system_name: basic\n  name: Basic\n  features: [sla]\n",
			`plans[basic].features[0]: "sla" is not a feature of the service`},
		{"duplicate plan", head + "plans:\n- {system_name: basic, name: Basic}\n- {system_name: basic, name: Other}\n",
			`plans[basic].system_name: "basic" is given twice`},
		{"duplicate method", head + "metrics:\n- system_name: hits\n  methods: [{system_name: hits}]\n",
			`metrics[hits].methods[hits].system_name: "hits" is given twice`},
		{"method under another metric", head + "metrics:\n- system_name: bytes\n  methods: [{system_name: list}]\n",
			`metrics[bytes].methods: only hits has methods`},
		{"bad pattern", head + "mapping_rules:\n- {http_method: GET, pattern: articles, metric: hits, delta: 1}\n",
			`mapping_rules[0].pattern:`},
		{"backend path not a path", strings.Replace(newsYAML, "path: /store", `path: "/{store}"`, 1),
			`document 2 (Service "news"): backend_usages[store].path: "/{store}" must be a path`},
		{"delta zero", head + "mapping_rules:\n- {http_method: GET, pattern: /, metric: hits, delta: 0}\n",
			`mapping_rules[0].delta: 0 is less than 1`},
		{"negative fee", head + "plans:\n- {system_name: basic, name: Basic, setup_fee: -1}\n",
			`plans[basic].setup_fee: -1 is less than 0`},
		{"pricing max under min", head + "plans:\n- system_name: basic\n  name: Basic\n  pricing_rules: [{metric: hits, cost_per_unit: 1, min: 10, max: 5}]\n",
			`plans[basic].pricing_rules[0].max: 5 is less than min (10)`},
		{"two defaults", head + "plans:\n- {system_name: a, name: A, default: true}\n- {system_name: b, name: B, default: true}\n",
			`plans[b].default: a second default plan`},
		{"status out of range", head + "proxy: {error_status_no_match: 700}\n",
			`proxy.error_status_no_match: 700 is more than 599`},
		{"policy configuration not a mapping", head + "proxy:\n  policy_chain: [{name: cors, configuration: [1]}]\n",
			`proxy.policy_chain[0].configuration: must be a mapping`},
		{"account plan state out of its set", "apiVersion: portolan.dev/v1\nkind: AccountPlan\nsystem_name: partners\nname: Partners\nstate: gone\n",
			`news.yaml:5: document 1 (AccountPlan "partners"): state: "gone" is not one of hidden, published`},
		{"account plan without a name", "apiVersion: portolan.dev/v1\nkind: AccountPlan\nsystem_name: partners\n",
			`document 1 (AccountPlan "partners"): name: is required`},
		{"two default account plans", "apiVersion: portolan.dev/v1\nkind: AccountPlan\nsystem_name: a\nname: A\ndefault: true\n---\napiVersion: portolan.dev/v1\nkind: AccountPlan\nsystem_name: b\nname: B\ndefault: true\n",
			`document 2 (AccountPlan "b"): default: a second default account plan: also news.yaml document 1 ("a")`},
		{"unknown kind", "apiVersion: portolan.dev/v1\nkind: Widget\n",
			`news.yaml:1: document 1 (Widget): kind: "Widget" is not one of Backend, Service, AccountPlan, Account, Placement`},
		{"unknown apiVersion", "apiVersion: example.com/v9\nkind: Service\n",
			`apiVersion: "example.com/v9" is not one of portolan.dev/v1`},
		{"not a mapping", "- 1\n- 2\n", `document 1: must be a mapping with apiVersion and kind, not "1"`},
		{"syntax error", "apiVersion: [\n", `news.yaml:1: document 1: did not find expected node content`},
		{"duplicate service", head + "---\n" + head, `news.yaml:6: document 2 (Service "news"): system_name: "news" is declared twice: also news.yaml document 1`},
		{"duplicate username", "apiVersion: portolan.dev/v1\nkind: Account\norg_name: A\nusers: [{username: u}]\n---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: B\nusers: [{username: u}]\n",
			`document 2 (Account "B"): users[u].username: "u" is taken: also in news.yaml document 1`},
		{"application plan of a service in the set", head + "---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: A\napplications: [{name: app, service: news, plan: gold}]\n",
			`document 2 (Account "A"): applications[0].plan: "gold" is not a plan of service "news"`},
		{"placement plan of a service in the set", head + "---\napiVersion: portolan.dev/v1\nkind: Placement\nname: p\nselector: {service: news}\nservice: news\nplans: [gold]\n",
			`document 2 (Placement "p"): plans[0]: "gold" is not a plan of service "news"`},
		{"backend metric of a backend in the set", strings.Replace(newsYAML, "metric: search", "metric: nope", 1),
			`document 2 (Service "news"): plans[basic].limits[1].metric: "nope" is not a metric or method of backend "store"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "news.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var e *manifest.Error
			assert.True(t, errors.As(err, &e), "an *Error: %T", err)
		})
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	doc := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nmapping_rules:\n" +
		"- {http_method: GET, pattern: /, metric: a, delta: 1}\n- {http_method: GET, pattern: /, metric: b, delta: 1}\n"
	_, err := manifest.Decode(strings.NewReader(doc), "news.yaml")
	var es manifest.Errors
	require.True(t, errors.As(err, &es))
	require.Len(t, es, 2)
	assert.Equal(t, "mapping_rules[0].metric", es[0].Path)
	assert.Equal(t, "mapping_rules[1].metric", es[1].Path)
	assert.Equal(t, "Service", es[1].Kind)
	assert.Equal(t, "news", es[1].Name)
}

func TestDecodeBoundsWhatItReads(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"too large", strings.Repeat("#", manifest.MaxBytes+1), "larger than 16 MiB"},
		{"too deep", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\nproxy:\n  policy_chain:\n  - name: x\n    configuration: " +
			strings.Repeat("{a: ", 100) + "1" + strings.Repeat("}", 100) + "\n", "nested deeper than 64 levels"},
		{"too many documents", strings.Repeat("- {apiVersion: portolan.dev/v1, kind: Placement, name: p, selector: {service: s}, service: s}\n", manifest.MaxDocuments+1),
			"more than 10000 documents"},
		{"billion laughs", "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: s\nname: S\nproxy:\n  policy_chain:\n  - name: x\n    configuration:\n" +
			"      a: &a [x, x, x, x, x, x, x, x, x, x]\n      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
			"      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n      h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n", "larger than 1024 KiB"},
		{"aliases past the budget", "apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: b\nname: B\nprivate_endpoint: http://b\nmetrics:\n" +
			"- &m {system_name: m}\n" + strings.Repeat("- *m\n", 800_000), "too many values"}, // 3.8 MiB: one document's bound is 4
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Decode(strings.NewReader(tc.doc), "big.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoadReadsADirectoryInNameOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	placement := func(name string) string {
		return "apiVersion: portolan.dev/v1\nkind: Placement\nname: " + name + "\nselector: {service: s}\nservice: s\n"
	}
	write("b.yml", placement("second"))
	write("a.yaml", placement("first"))
	write("c.json", `{"apiVersion":"portolan.dev/v1","kind":"Placement","name":"third","selector":{"service":"s"},"service":"s"}`)
	write("notes.txt", "not a document")
	docs, err := manifest.Load(dir)
	require.NoError(t, err)
	var names []string
	for _, d := range docs {
		names = append(names, d.Origin.Source+":"+d.Name())
	}
	assert.Equal(t, []string{filepath.Join(dir, "a.yaml") + ":first", filepath.Join(dir, "b.yml") + ":second", filepath.Join(dir, "c.json") + ":third"}, names)

	// A name is unique across the files loaded together.
	write("d.yaml", placement("first"))
	_, err = manifest.Load(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "d.yaml")+`:1: document 1 (Placement "first"): name: "first" is declared twice: also `+filepath.Join(dir, "a.yaml")+" document 1")

	_, err = manifest.Load(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
}

// A Document is a JSON value of its own (an API can take documents in a
// JSON body), read as strictly as Decode reads it.
func TestDocumentIsAJSONValue(t *testing.T) {
	docs, err := manifest.Decode(strings.NewReader(newsYAML), "news.yaml")
	require.NoError(t, err)
	b, err := json.Marshal(docs)
	require.NoError(t, err)
	var got []manifest.Document
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, clearOrigins(docs), clearOrigins(got))

	err = json.Unmarshal([]byte(`[{"apiVersion":"portolan.dev/v1","kind":"Placement","name":"p","selector":{"service":"s"},"service":"s","x":1}]`), &got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `document 1 (Placement "p"): x: unknown field`)
}
