package coordinator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

func TestPlacements(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts processes")
	}
	co := testenv.StartCoordinator(t)
	const form = "application/x-www-form-urlencoded"
	svc := send(t, co, "POST", "/admin/api/services.json", form, "name=News")
	require.Equal(t, 201, svc.status, svc.body)
	var s struct {
		Service struct{ ID int64 } `json:"service"`
	}
	require.NoError(t, json.Unmarshal([]byte(svc.body), &s))
	plan := send(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", s.Service.ID), form, "name=Premium")
	require.Equal(t, 201, plan.status, plan.body)
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	require.NoError(t, json.Unmarshal([]byte(plan.body), &p))

	body := fmt.Sprintf(`{"name":"premium-pool","selector":{"service":"newsapi","labels":{"pool":"premium"}},"service_id":%d,"plan_ids":[%d]}`, s.Service.ID, p.Plan.ID)
	created := send(t, co, "POST", "/admin/portolan/placements", "application/json", body)
	require.Equal(t, http.StatusCreated, created.status, created.body)
	var pl struct {
		Placement struct {
			ID       int64
			Name     string
			Selector struct {
				Service string
				Labels  map[string]string
			}
			ServiceID int64   `json:"service_id"`
			PlanIDs   []int64 `json:"plan_ids"`
		} `json:"placement"`
	}
	require.NoError(t, json.Unmarshal([]byte(created.body), &pl))
	assert.Equal(t, "premium-pool", pl.Placement.Name)
	assert.Equal(t, "newsapi", pl.Placement.Selector.Service)
	assert.Equal(t, map[string]string{"pool": "premium"}, pl.Placement.Selector.Labels)
	assert.Equal(t, s.Service.ID, pl.Placement.ServiceID)
	assert.Equal(t, []int64{p.Plan.ID}, pl.Placement.PlanIDs)

	path := fmt.Sprintf("/admin/portolan/placements/%d", pl.Placement.ID)
	read := send(t, co, "GET", path, "", "")
	assert.Equal(t, 200, read.status)
	assert.Contains(t, read.body, "premium-pool")

	before := co.Revision(t)
	bad := send(t, co, "PUT", path, "application/json", fmt.Sprintf(`{"name":"x","selector":{"service":"newsapi"},"service_id":%d,"plan_ids":[424242]}`, s.Service.ID))
	assert.Equal(t, 422, bad.status, bad.body)
	assert.Contains(t, bad.body, "plan_ids")
	assert.Equal(t, 400, send(t, co, "POST", "/admin/portolan/placements", "application/json", `{"name":`).status)
	assert.Equal(t, 400, send(t, co, "POST", "/admin/portolan/placements", "application/json", `{"bogus":1}`).status)
	noSelector := send(t, co, "POST", "/admin/portolan/placements", "application/json", fmt.Sprintf(`{"service_id":%d}`, s.Service.ID))
	assert.Equal(t, 422, noSelector.status)
	assert.Contains(t, noSelector.body, "selector.service")
	assert.Equal(t, before, co.Revision(t))

	// Deleting its only plan deletes the placement: with no plans it would serve all.
	assert.Equal(t, 200, send(t, co, "DELETE", fmt.Sprintf("/admin/api/services/%d/application_plans/%d.json", s.Service.ID, p.Plan.ID), "", "").status)
	assert.Equal(t, 404, send(t, co, "GET", path, "", "").status)
	assert.Equal(t, 404, send(t, co, "DELETE", path, "", "").status)

	all := send(t, co, "POST", "/admin/portolan/placements", "application/json", fmt.Sprintf(`{"selector":{"service":"newsapi"},"service_id":%d}`, s.Service.ID))
	require.Equal(t, http.StatusCreated, all.status, all.body)
	assert.Contains(t, all.body, `"name":"newsapi"`, "the name defaults to the selector's service")
	require.NoError(t, json.Unmarshal([]byte(all.body), &pl))
	assert.Equal(t, 200, send(t, co, "DELETE", fmt.Sprintf("/admin/portolan/placements/%d", pl.Placement.ID), "", "").status)
	assert.Contains(t, send(t, co, "GET", "/admin/portolan/placements", "", "").body, `"placements":[]`)
}
