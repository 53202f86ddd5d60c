package grafana_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPromQLReaderFindsSelectorsAndGroupings(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want promQLUse
	}{
		{`up`, promQLUse{selectors: []selector{{name: "up"}}}},
		{`go_goroutines{instance=~"a|b"}`, promQLUse{selectors: []selector{{name: "go_goroutines", labels: []string{"instance"}}}}},
		{
			`sum by (status) (rate(apicast_status{instance=~"x", status!="200"}[5m] offset 1m))`,
			promQLUse{
				selectors:    []selector{{name: "apicast_status", labels: []string{"instance", "status"}}},
				aggregations: []aggregation{{op: "sum", grouping: []string{"status"}, names: []string{"apicast_status"}}},
			},
		},
		{
			`histogram_quantile(0.99, sum(rate(a_bucket{x='1'}[1m])) by (api, le))`,
			promQLUse{
				selectors:    []selector{{name: "a_bucket", labels: []string{"x"}}},
				aggregations: []aggregation{{op: "sum", grouping: []string{"api", "le"}, names: []string{"a_bucket"}}},
			},
		},
		{
			// Two aggregations, each with its own selectors; an outer one
			// holds the inner's; vector matching labels are no selectors.
			`max(sum without (code) (rate(a_sum[5m])) / on (api) group_left sum by (api) (rate(a_count[5m])))`,
			promQLUse{
				selectors: []selector{{name: "a_sum"}, {name: "a_count"}},
				aggregations: []aggregation{
					{op: "max", names: []string{"a_sum", "a_count"}},
					{op: "sum", grouping: []string{"code"}, names: []string{"a_sum"}},
					{op: "sum", grouping: []string{"api"}, names: []string{"a_count"}},
				},
			},
		},
		{
			`count_values("v", x) or vector(0) > bool 1 and y unless z`,
			promQLUse{
				selectors:    []selector{{name: "x"}, {name: "y"}, {name: "z"}},
				aggregations: []aggregation{{op: "count_values", names: []string{"x"}}},
			},
		},
		{`label_replace(x, "dst", "$1", "src", "(.*)")`, promQLUse{selectors: []selector{{name: "x"}}}},
		{`rate(x[5m:1m])`, promQLUse{selectors: []selector{{name: "x"}}}},
	} {
		got, err := parsePromQL(tc.expr)
		require.NoError(t, err, tc.expr)
		assert.Equal(t, tc.want, got, tc.expr)
	}
}

func TestPromQLReaderRefusesMalformedQueries(t *testing.T) {
	for _, expr := range []string{
		`sum(rate(x[5m])`,              // unbalanced (
		`rate(x[5m]))`,                 // unbalanced )
		`x{a="b"`,                      // unclosed matchers
		`x{a="b}`,                      // unterminated string
		`x{a=b}`,                       // a value that is no string
		`x{a="b" c="d"}`,               // no comma
		`{__name__="x"}`,               // a selector without a name
		`rat(x[5m])`,                   // no such function
		`sum by (a (x)`,                // unclosed label list
		`rate(x[5m)`,                   // unclosed range
		`sum by (a) x`,                 // no arguments
		`histogram_quantile(0.9, x) $`, // a character PromQL has not
	} {
		_, err := parsePromQL(expr)
		assert.Error(t, err, "%s is not valid PromQL", expr)
	}
}
