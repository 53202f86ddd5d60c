package threescale_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta keeps a plan's setup_fee and cost_per_month as decimal(20,4), as it
// keeps a pricing rule's cost: Rails rounds what it is given to 4 places,
// half up. Its JSON answers the stored amount as a float (PlanRepresenter's
// to_f), its XML as BigDecimal#to_s ("2.0", "0.1235").
func TestPlanFeesAreStoredAsPortasDecimal(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Fees", nil)
	base := "/admin/api/services/" + s64(product) + "/application_plans"
	for _, tc := range []struct{ setupFee, costPerMonth, wantSetupJSON, wantCostJSON, wantSetupXML, wantCostXML string }{
		{"0.30000000000000004", "1.23455", `"setup_fee":0.3,`, `"cost_per_month":1.2346,`, "<setup_fee>0.3</setup_fee>", "<cost_per_month>1.2346</cost_per_month>"},
		{"2", "0.00004", `"setup_fee":2.0,`, `"cost_per_month":0.0,`, "<setup_fee>2.0</setup_fee>", "<cost_per_month>0.0</cost_per_month>"},
		{"12345678901.23456", ".5", `"setup_fee":12345678901.2346,`, `"cost_per_month":0.5,`, "<setup_fee>12345678901.2346</setup_fee>", "<cost_per_month>0.5</cost_per_month>"},
	} {
		code, body := formCall(t, co, http.MethodPost, base+".json", url.Values{
			"name": {"Plan " + tc.setupFee}, "setup_fee": {tc.setupFee}, "cost_per_month": {tc.costPerMonth}})
		require.Equal(t, http.StatusCreated, code, "%s", body)
		assert.Contains(t, string(body), tc.wantSetupJSON, "setup_fee=%s", tc.setupFee)
		assert.Contains(t, string(body), tc.wantCostJSON, "cost_per_month=%s", tc.costPerMonth)
		var created struct {
			ApplicationPlan struct {
				ID int64 `json:"id"`
			} `json:"application_plan"`
		}
		require.NoError(t, json.Unmarshal(body, &created), "%s", body)

		code, body = formCall(t, co, http.MethodGet, base+"/"+s64(created.ApplicationPlan.ID)+".xml", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		assert.Contains(t, string(body), tc.wantSetupXML, "stored as answered")
		assert.Contains(t, string(body), tc.wantCostXML, "stored as answered")
	}

	// The official client reads the fee as porta answers it.
	plan := createPlan(t, cl, product, client.Params{"name": "Copied", "setup_fee": "0.12345"})
	assert.Equal(t, 0.1235, plan.SetupFee)
}

// porta takes a number for a decimal column as Rails' numericality does:
// an integer, or what Ruby's Kernel.Float reads that is not a hexadecimal
// literal. So 0x1p-2 (a Go hex float), "1." and "inf" are not a number
// (422 naming the field), while Ruby's "1_000" (underscores between digits)
// and surrounding spaces are taken.
func TestCostsAreReadAsPortaReadsThem(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Costs", nil)
	hits := productHits(t, cl, product)
	plan := createPlan(t, cl, product, client.Params{"name": "Paid"})
	plans := "/admin/api/services/" + s64(product) + "/application_plans.json"
	rules := "/admin/api/application_plans/" + s64(plan.ID) + "/metrics/" + s64(hits) + "/pricing_rules.json"

	for _, bad := range []string{"0x1p-2", "0X1P-2", "+0x1p-2", "0x_1p0", "1.", "1e", "1__0", "_1", "1_", "inf", "Infinity", "NaN", "1,5", "0b11"} {
		code, body := formCall(t, co, http.MethodPost, plans, url.Values{"name": {"Plan " + bad}, "setup_fee": {bad}})
		assert.Contains(t, fieldErrors(t, code, body), "setup_fee", "setup_fee=%s", bad)
		code, body = formCall(t, co, http.MethodPost, plans, url.Values{"name": {"Plan " + bad}, "cost_per_month": {bad}})
		assert.Contains(t, fieldErrors(t, code, body), "cost_per_month", "cost_per_month=%s", bad)
		code, body = formCall(t, co, http.MethodPost, rules, url.Values{"min": {"1"}, "cost_per_unit": {bad}})
		assert.Contains(t, fieldErrors(t, code, body), "cost_per_unit", "cost_per_unit=%s", bad)
	}

	for i, tc := range []struct{ in, wantJSON, wantCost string }{
		{"1_000", `"setup_fee":1000.0,`, "1000.0"},
		{" 1_000.5_5 ", `"setup_fee":1000.55,`, "1000.55"},
		{"1e1_0", `"setup_fee":10000000000.0,`, "10000000000.0"},
		{"007", `"setup_fee":7.0,`, "7.0"},
	} {
		code, body := formCall(t, co, http.MethodPost, plans, url.Values{"name": {"Taken " + tc.in}, "setup_fee": {tc.in}})
		require.Equal(t, http.StatusCreated, code, "setup_fee=%q: %s", tc.in, body)
		assert.Contains(t, string(body), tc.wantJSON, "setup_fee=%q", tc.in)
		var created struct {
			PricingRule struct {
				CostPerUnit string `json:"cost_per_unit"`
			} `json:"pricing_rule"`
		}
		min := s64(int64(100*i + 1))
		decodeCall(t, co, http.MethodPost, rules, url.Values{"min": {min}, "max": {s64(int64(100*i + 50))}, "cost_per_unit": {tc.in}},
			http.StatusCreated, &created)
		assert.Equal(t, tc.wantCost, created.PricingRule.CostPerUnit, "cost_per_unit=%q", tc.in)
	}
}
