package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/manifest"
)

// accountPlansYAML declares two account plans, one the default and one
// named as buildComposition names its own, and two accounts: one naming a
// plan, one left to the default.
const accountPlansYAML = `apiVersion: portolan.dev/v1
kind: AccountPlan
system_name: partners
name: Partners v2
cost_per_month: 10
---
apiVersion: portolan.dev/v1
kind: AccountPlan
system_name: startup
name: Startup
default: true
---
apiVersion: portolan.dev/v1
kind: Account
org_name: Initech
plan: partners
---
apiVersion: portolan.dev/v1
kind: Account
org_name: Hooli
`

// An account's plan resolves to an account plan the documents declare
// before base's, and an account without one goes on the declared default.
func TestDesiredAccountPlansResolveToDeclaredOnes(t *testing.T) {
	docs := decodeOne(t, "plans.yaml", accountPlansYAML)
	base := buildComposition(t) // its partners plan is the default
	c, err := manifest.Desired(docs, base)
	require.NoError(t, err)
	require.Equal(t, 2, c.AccountPlans.Len(), "base's plans are not carried when nothing refers to them")
	partners, ok := c.AccountPlans.Find(func(p *composition.AccountPlan) bool { return p.SystemName == "partners" })
	require.True(t, ok)
	assert.Equal(t, "Partners v2", partners.Name)
	assert.False(t, partners.Default, "the declared plan says so")
	startup, ok := c.DefaultAccountPlan()
	require.True(t, ok)
	assert.Equal(t, "startup", startup.SystemName)
	initech, _ := c.Accounts.Find(func(a *composition.Account) bool { return a.OrgName == "Initech" })
	hooli, _ := c.Accounts.Find(func(a *composition.Account) bool { return a.OrgName == "Hooli" })
	assert.Equal(t, partners.ID, initech.PlanID)
	assert.Equal(t, startup.ID, hooli.PlanID, "the declared default, as 3scale's signup")

	got := manifest.Export(c, manifest.ExportOptions{})
	again, err := manifest.Desired(got, nil)
	require.NoError(t, err, "an export with its account plans needs no home")
	assert.Equal(t, got, manifest.Export(again, manifest.ExportOptions{}))
}

// A base account plan an account refers to is carried, but is no default
// beside a declared one.
func TestDesiredCarriedAccountPlanYieldsTheDefault(t *testing.T) {
	docs := decodeOne(t, "plans.yaml", `apiVersion: portolan.dev/v1
kind: AccountPlan
system_name: startup
name: Startup
default: true
---
apiVersion: portolan.dev/v1
kind: Account
org_name: Initech
plan: partners
`)
	c, err := manifest.Desired(docs, buildComposition(t))
	require.NoError(t, err)
	require.Equal(t, 2, c.AccountPlans.Len())
	def, ok := c.DefaultAccountPlan()
	require.True(t, ok)
	assert.Equal(t, "startup", def.SystemName)
	assert.Equal(t, 1, c.AccountPlans.Count(func(p *composition.AccountPlan) bool { return p.Default }))
}
