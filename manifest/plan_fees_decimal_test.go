package manifest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/manifest"
)

// A plan's setup_fee and cost_per_month are porta's decimal(20,4), as a
// pricing rule's cost is: a document that writes 0.30000000000000004 or
// 1.23455 stores 0.3 and 1.2346, what porta would, for application and
// account plans alike.
func TestPlanFeesArePortasDecimal(t *testing.T) {
	doc := `apiVersion: portolan.dev/v1
kind: Service
system_name: priced
name: Priced
plans:
- {system_name: basic, name: Basic, setup_fee: 0.30000000000000004, cost_per_month: 1.23455}
- {system_name: whole, name: Whole, setup_fee: 2, cost_per_month: 12345678901.23456}
---
apiVersion: portolan.dev/v1
kind: AccountPlan
system_name: partners
name: Partners
setup_fee: 0.00005
cost_per_month: .5
`
	docs, err := manifest.Decode(strings.NewReader(doc), "priced.yaml")
	require.NoError(t, err)
	c, err := manifest.Desired(docs, nil)
	require.NoError(t, err)
	var stored []string
	for _, p := range c.ApplicationPlans.All() {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		stored = append(stored, string(b))
	}
	for _, p := range c.AccountPlans.All() {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		stored = append(stored, string(b))
	}
	require.Len(t, stored, 3)
	all := strings.Join(stored, "\n")
	for _, want := range []string{
		`"setup_fee":0.3,"cost_per_month":1.2346,`,
		`"setup_fee":2.0,"cost_per_month":12345678901.2346,`,
		`"setup_fee":0.0001,"cost_per_month":0.5,`,
	} {
		assert.Contains(t, all, want)
	}
}

// A cost is read as porta reads one (Rails' numericality: Ruby's Kernel.Float
// without hexadecimal literals), so a Go hex float or "1." is refused,
// naming the field, and Ruby's underscores between digits are taken.
func TestCostsRefuseWhatPortaDoesNot(t *testing.T) {
	for _, bad := range []string{"0x1p-2", `"0x1p-2"`, `"1."`, "1__0", `"inf"`, `".inf"`, `".nan"`} {
		for _, field := range []string{"setup_fee", "cost_per_month", "cost_per_unit"} {
			plan := "{system_name: basic, name: Basic, " + field + ": " + bad + "}"
			if field == "cost_per_unit" {
				plan = "{system_name: basic, name: Basic, pricing_rules: [{metric: hits, min: 1, cost_per_unit: " + bad + "}]}"
			}
			doc := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: priced\nname: Priced\nmetrics: [{system_name: hits}]\nplans:\n- " + plan + "\n"
			docs, err := manifest.Decode(strings.NewReader(doc), "priced.yaml")
			if err == nil {
				_, err = manifest.Desired(docs, nil)
			}
			if assert.Error(t, err, "%s: %s", field, bad) {
				assert.Contains(t, err.Error(), field, "%s: %s", field, bad)
			}
		}
	}
	doc := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: priced\nname: Priced\nplans:\n- {system_name: basic, name: Basic, setup_fee: 1_000.5}\n"
	docs, err := manifest.Decode(strings.NewReader(doc), "priced.yaml")
	require.NoError(t, err)
	c, err := manifest.Desired(docs, nil)
	require.NoError(t, err)
	b, err := json.Marshal(c.ApplicationPlans.All()[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"setup_fee":1000.5,`)
}
