package threescale_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// One admin token could create applications without end, growing the
// composition and every agent's copy: --max-applications caps them with a
// 422 naming the flag, for a create as for a signup, and a delete makes room.
func TestApplicationsAreCapped(t *testing.T) {
	co := testenv.StartCoordinator(t, "--max-applications", "2")
	cl := co.Client(t)
	product := createProduct(t, cl, "Capped API", nil)
	plan := createPlan(t, cl, product, client.Params{"name": "Basic"})
	acc := s64(*acSignup(t, cl, "Acme", "alice").ID)

	first, err := cl.CreateApp(acc, s64(plan.ID), "one", "")
	require.NoError(t, err)
	_, err = cl.CreateApp(acc, s64(plan.ID), "two", "")
	require.NoError(t, err)
	_, err = cl.CreateApp(acc, s64(plan.ID), "three", "")
	apiErr(t, err, http.StatusUnprocessableEntity, "at most 2 applications", "--max-applications")

	code, body := formCall(t, co, http.MethodPost, "/admin/api/accounts/"+acc+"/applications.json",
		url.Values{"plan_id": {s64(plan.ID)}, "name": {"three"}})
	errs := fieldErrors(t, code, body)
	require.Len(t, errs["base"], 1, "%s", body)
	assert.Contains(t, errs["base"][0], "--max-applications")

	// A signup that would add an application fails whole: no account either.
	code, body = formCall(t, co, http.MethodPost, "/admin/api/signup.json", url.Values{"org_name": {"Bobs"}, "username": {"bob"},
		"email": {"bob@bobs.example"}, "password": {"pw-bob"}, "application_plan_id": {s64(plan.ID)}})
	assert.Contains(t, fieldErrors(t, code, body)["base"][0], "--max-applications")
	code, body = formCall(t, co, http.MethodGet, "/admin/api/accounts.json", nil)
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, string(body), "Bobs", "the refused signup left no account")

	code, body = formCall(t, co, http.MethodDelete, "/admin/api/accounts/"+acc+"/applications/"+s64(first.ID)+".json", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	_, err = cl.CreateApp(acc, s64(plan.ID), "three", "")
	require.NoError(t, err, "a delete makes room")
}

// --max-placements caps Portolan's own placements API the same way.
func TestPlacementsAreCapped(t *testing.T) {
	co := testenv.StartCoordinator(t, "--max-placements", "1")
	product := createProduct(t, co.Client(t), "Placed API", nil)
	place := func(name string) (int, []byte) {
		return rawCall(t, co, http.MethodPost, "/admin/portolan/placements", "application/json",
			`{"name":"`+name+`","selector":{"service":"`+name+`"},"service_id":`+s64(product)+`}`)
	}
	code, body := place("a")
	require.Equal(t, http.StatusCreated, code, "%s", body)
	code, body = place("b")
	errs := fieldErrors(t, code, body)
	require.Len(t, errs["base"], 1, "%s", body)
	assert.True(t, strings.Contains(errs["base"][0], "at most 1 placements") && strings.Contains(errs["base"][0], "--max-placements"), errs["base"][0])
}
