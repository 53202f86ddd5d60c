package composition_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// An agent's view carries what the gateway needs to enforce referrer
// filters: the service's referrer_filters_required and each application's
// filters, through JSON as agents receive it.
func TestAgentViewCarriesReferrerFilters(t *testing.T) {
	tx := composition.NewTx(composition.New(), time.Now())
	svc := &composition.Service{Name: "News", BackendVersion: "1", ReferrerFiltersRequired: true}
	require.NoError(t, tx.Create(svc))
	plan := &composition.ApplicationPlan{ServiceID: svc.ID, Name: "Basic"}
	require.NoError(t, tx.Create(plan))
	acct := &composition.Account{OrgName: "Acme"}
	require.NoError(t, tx.Create(acct))
	filtered := &composition.Application{AccountID: acct.ID, PlanID: plan.ID, Name: "web",
		ReferrerFilters: []composition.ReferrerFilter{{ID: 90, Value: "*.example.com"}, {ID: 91, Value: "10.0.0.1"}}}
	open := &composition.Application{AccountID: acct.ID, PlanID: plan.ID, Name: "server"}
	require.NoError(t, tx.Create(filtered))
	require.NoError(t, tx.Create(open))

	b, err := json.Marshal(composition.AgentView(tx.Result(), svc.SystemName, bytes.Repeat([]byte{1}, composition.CredentialKeySize), time.Now()))
	require.NoError(t, err)
	var d composition.Document
	require.NoError(t, json.Unmarshal(b, &d))
	view, err := d.Composition()
	require.NoError(t, err)
	vs, ok := view.Services.Get(svc.ID)
	require.True(t, ok)
	assert.True(t, vs.ReferrerFiltersRequired)
	va, ok := view.Applications.Get(filtered.ID)
	require.True(t, ok)
	var values []string
	for _, f := range va.ReferrerFilters {
		values = append(values, f.Value)
	}
	assert.Equal(t, []string{"*.example.com", "10.0.0.1"}, values)
	assert.Nil(t, composition.CheckReferrer(va, "api.example.com", true))
	assert.NotNil(t, composition.CheckReferrer(va, "evil.org", true))
	vo, ok := view.Applications.Get(open.ID)
	require.True(t, ok)
	assert.Empty(t, vo.ReferrerFilters)
	assert.NotContains(t, string(b), `"referrer_filters":null`, "an application without filters adds nothing to the view")
}
