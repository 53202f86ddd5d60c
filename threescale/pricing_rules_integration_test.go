package threescale_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"

	"github.com/portolan/portolan/internal/testenv"
)

// A pricing rule's cost per unit is a number, as porta's numericality has
// it: NaN and the infinities strconv reads are refused (422), never stored
// as a price. A negative one passes porta's numericality (no bound) and
// fails its format check, with that check's message.
func TestPricingRuleCostMustBeAFiniteNumber(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Priced", nil)
	hits := productHits(t, cl, product)
	plan := createPlan(t, cl, product, client.Params{"name": "Paid"})
	path := "/admin/api/application_plans/" + s64(plan.ID) + "/metrics/" + s64(hits) + "/pricing_rules.json"
	for _, cost := range []string{"NaN", "Infinity", "+Inf", "-inf", "ten"} {
		status, body := formCall(t, co, http.MethodPost, path, url.Values{"min": {"1"}, "max": {"10"}, "cost_per_unit": {cost}})
		assert.Equal(t, []string{"is not a number"}, fieldErrors(t, status, body)["cost_per_unit"], "cost %q", cost)
	}
	status, body := formCall(t, co, http.MethodPost, path, url.Values{"min": {"1"}, "max": {"10"}, "cost_per_unit": {"-1"}})
	assert.Equal(t, []string{"maximum decimals is 4."}, fieldErrors(t, status, body)["cost_per_unit"])
	var list struct {
		PricingRules []any `json:"pricing_rules"`
	}
	decodeCall(t, co, http.MethodGet, path, nil, http.StatusOK, &list)
	assert.Empty(t, list.PricingRules)

	status, body = formCall(t, co, http.MethodPost, path, url.Values{"min": {"1"}, "max": {"10"}, "cost_per_unit": {"1e-2"}})
	assert.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Contains(t, string(body), `"cost_per_unit":"0.01"`)
}
