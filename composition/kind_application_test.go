package composition

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// A plan change keeps an application in its service, as 3scale's
// change_plan does: its credentials, usage and keys are that service's.
func TestApplicationPlanChangeStaysInItsService(t *testing.T) {
	tx := NewTx(New(), testNow)
	one, _ := createService(t, tx, "One", "1")
	two, _ := createService(t, tx, "Two", "1")
	basic := createPlan(t, tx, one.ID, "Basic", false)
	gold := createPlan(t, tx, one.ID, "Gold", false)
	elsewhere := createPlan(t, tx, two.ID, "Basic", false)
	app := createApp(t, tx, createAccount(t, tx, "Acme").ID, basic.ID, "App")

	moved := *app
	moved.PlanID = elsewhere.ID
	requireField(t, tx.Update(&moved), "plan_id")

	upgraded := *app
	upgraded.PlanID = gold.ID
	require.NoError(t, tx.Update(&upgraded))
	got, _ := tx.View().Applications.Get(app.ID)
	require.Equal(t, gold.ID, got.PlanID)
	require.Equal(t, one.ID, got.ServiceID)
}

// An application's referrer filters are held to what the API and the
// manifest accept (porta's format, MaxReferrerFilters at most), so that an
// imported document cannot hand every agent filters the API would refuse.
func TestApplicationReferrerFiltersBoundedAndFormatted(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc, _ := createService(t, tx, "Svc", "1")
	plan := createPlan(t, tx, svc.ID, "Basic", false)
	acc := createAccount(t, tx, "Acme")
	create := func(values ...string) error {
		filters := make([]ReferrerFilter, len(values))
		for i, v := range values {
			filters[i] = ReferrerFilter{Value: v}
		}
		return tx.Create(&Application{AccountID: acc.ID, PlanID: plan.ID, Name: "App", ReferrerFilters: filters})
	}

	var six []string
	for i := range MaxReferrerFilters + 1 {
		six = append(six, "h"+strconv.Itoa(i)+".example.com")
	}
	requireField(t, create(six...), "referrer_filters")
	requireField(t, create("bad value\n"), "referrer_filters")
	requireField(t, create(""), "referrer_filters")
	require.NoError(t, create(six[:MaxReferrerFilters]...))
	require.NoError(t, create("*.example.com", "10.0.0.1"))
}
