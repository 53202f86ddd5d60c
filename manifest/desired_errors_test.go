package manifest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// problemsOf returns Desired's refusal as "document path: message" lines,
// in the order it gives them.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var es manifest.Errors
	require.True(t, errors.As(err, &es), "%T %v", err, err)
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d %s: %s", e.Index, e.Path, e.Msg))
	}
	return out
}

// An operator fixing documents with several mistakes learns them all in one
// round trip, each naming its document, entity and field, in document
// order; what only follows from a mistake already named (a rule or a limit
// on a metric that was refused) is not named again.
func TestDesiredNamesEveryProblemOnce(t *testing.T) {
	docs := decodeOne(t, "news.yaml", `apiVersion: portolan.dev/v1
kind: Placement
name: p
selector: {service: x}
service: x
---
apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
proxy: {endpoint: 'not a url'}
metrics:
- {system_name: bytes, friendly_name: Bytes}
- {system_name: calls, friendly_name: Calls, unit: call}
- system_name: hits
  methods: [{system_name: list}, {system_name: show, friendly_name: Show}]
mapping_rules:
- {http_method: GET, pattern: /bytes, metric: bytes, delta: 1}
- {http_method: GET, pattern: /list, metric: list, delta: 1}
- {http_method: GET, pattern: /calls, metric: calls, delta: 1}
plans:
- system_name: basic
  name: Basic
  limits:
  - {metric: bytes, period: day, value: 1}
  - {metric: calls, period: day, value: 1}
- {system_name: gold, name: Gold, features: [sla]}
features: [{system_name: sla, name: SLA, scope: service_plan}]
---
apiVersion: portolan.dev/v1
kind: Account
org_name: ACME
users: [{username: 'a b'}, {username: alice}, {username: 'c d'}]
applications:
- {name: A, service: weather, plan: basic}
- {name: B, service: news, plan: gold}
- {name: C, service: news, plan: basic, referrer_filters: ['x y']}
`)
	_, err := manifest.Desired(docs, nil)
	require.Error(t, err)
	got := problemsOf(t, err)
	want := []string{
		`1 service: "x" is not a service of the documents`,
		`2 metrics[bytes].unit: can't be blank`,
		`2 metrics[hits].methods[list].friendly_name: can't be blank`,
		`2 proxy.endpoint: `,
		`2 plans[gold].features[0]: "sla" is a service plan feature`,
		`3 users[a b].username: is invalid`,
		`3 users[c d].username: is invalid`,
		`3 applications[0].service: "weather" is not a service of the documents`,
		`3 applications[2].referrer_filters[0]: "x y"`,
	}
	require.Len(t, got, len(want), "every problem, once:\n%s", strings.Join(got, "\n"))
	for i := range want {
		assert.True(t, strings.HasPrefix(got[i], want[i]), "problem %d: want %q..., got %q", i, want[i], got[i])
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		assert.True(t, strings.HasPrefix(line, "news.yaml:"), "each names its source and line: %q", line)
	}
}

// Past 50 problems, the rest are counted, not listed: the answer stays
// small, and still says there is more to fix.
func TestDesiredCountsProblemsPastFifty(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nmetrics:\n")
	for i := range 62 {
		fmt.Fprintf(&b, "- {system_name: m%d, friendly_name: M%d}\n", i, i)
	}
	_, err := manifest.Desired(decodeOne(t, "news.yaml", b.String()), nil)
	require.Error(t, err)
	got := problemsOf(t, err)
	require.Len(t, got, 51, strings.Join(got, "\n"))
	assert.True(t, strings.HasPrefix(got[49], "1 metrics[m49].unit: can't be blank"), got[49])
	assert.Contains(t, got[50], "and 12 more problems")
	lines := strings.Split(err.Error(), "\n")
	assert.Contains(t, lines[len(lines)-1], "and 12 more problems")
}

// Decode's own checks of a document (references inside it) are counted past
// 50 too, not dropped: the answer says there is more to fix.
func TestDecodeCountsADocumentsProblemsPastFifty(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\n" +
		"metrics:\n- {system_name: hits, friendly_name: Hits, unit: hit}\nmapping_rules:\n")
	for i := range 70 {
		fmt.Fprintf(&b, "- {http_method: GET, pattern: /r%d, metric: nope, delta: 1}\n", i)
	}
	_, err := manifest.Decode(strings.NewReader(b.String()), "news.yaml")
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 51, err.Error())
	assert.Contains(t, lines[50], "and 20 more problems", err.Error())
}
