package manifest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// porta keeps a cost (a pricing rule's cost_per_unit; setup_fee and
// cost_per_month too) as decimal(20,4): Rails rounds what it is given to 4
// places, half up, and answers the BigDecimal's to_s, with no trailing
// zeros but one: 0.50, .5 and 5e-1 are all "0.5", 2 is "2.0", 0.00005 is
// "0.0001". A document is held to the same form, so it stores and answers
// what porta would, and a home that holds 0.5 sees no change in one that
// writes .5.
func TestCostIsPortasDecimal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0.50", "0.5"}, {".5", "0.5"}, {"5e-1", "0.5"}, {"0.5", "0.5"},
		{"2", "2.0"}, {"0", "0.0"}, {"1e3", "1000.0"}, {"10.0000", "10.0"},
		{"0.12345", "0.1235"}, {"0.00005", "0.0001"}, {"0.00004", "0.0"}, {"9.99995", "10.0"},
		{"1e-400", "0.0"}, {"-0", "0.0"}, {"1_000", "1000.0"}, {"0e999999999999999999", "0.0"}, {"12345678901234.12345", "12345678901234.1235"},
	} {
		rules := desiredRules(t, tc.in)
		require.Len(t, rules, 1)
		assert.Equal(t, tc.want, rules[0].CostPerUnit, "cost_per_unit: %s", tc.in)
	}

	home := desiredComposition(t, "0.5", nil)
	for _, written := range []string{".5", "0.50", "5e-1"} {
		desired := desiredComposition(t, written, home)
		plan, err := composition.Diff(home, desired, composition.DiffOptions{})
		require.NoError(t, err)
		assert.True(t, plan.Empty(), "home holds 0.5, the document %s: %+v", written, plan.Changes)
	}
}

func desiredComposition(t *testing.T, cost string, base *composition.Composition) *composition.Composition {
	t.Helper()
	doc := `apiVersion: portolan.dev/v1
kind: Service
system_name: priced
name: Priced
metrics:
- system_name: hits
plans:
- system_name: basic
  name: Basic
  pricing_rules: [{metric: hits, cost_per_unit: ` + cost + `, min: 1}]
`
	docs, err := manifest.Decode(strings.NewReader(doc), "priced.yaml")
	require.NoError(t, err, cost)
	c, err := manifest.Desired(docs, base)
	require.NoError(t, err, cost)
	return c
}

func desiredRules(t *testing.T, cost string) []*composition.PricingRule {
	return desiredComposition(t, cost, nil).PricingRules.All()
}
