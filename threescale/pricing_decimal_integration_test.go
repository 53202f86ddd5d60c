package threescale_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// porta keeps cost_per_unit as decimal(20,4): Rails rounds the cost it is
// given to 4 places, half up, and answers the BigDecimal's to_s. So
// 0.12345 is stored and answered as 0.1235, and every digit of a long cost
// is kept, where a float64 would lose some.
func TestPricingRuleCostIsPortasDecimal(t *testing.T) {
	co := testenv.StartCoordinator(t)
	cl := co.Client(t)
	product := createProduct(t, cl, "Rounded", nil)
	hits := productHits(t, cl, product)
	plan := createPlan(t, cl, product, client.Params{"name": "Paid"})
	path := "/admin/api/application_plans/" + s64(plan.ID) + "/metrics/" + s64(hits) + "/pricing_rules.json"
	for i, tc := range []struct{ in, want string }{
		{".5", "0.5"}, {"0.50", "0.5"}, {"5e-1", "0.5"}, {"2", "2.0"},
		{"0.12345", "0.1235"}, {"0.00004", "0.0"}, {"12345678901234.12345", "12345678901234.1235"},
	} {
		min := strconv.Itoa(10*i + 1)
		var created struct {
			PricingRule struct {
				CostPerUnit string `json:"cost_per_unit"`
			} `json:"pricing_rule"`
		}
		decodeCall(t, co, http.MethodPost, path, url.Values{"min": {min}, "max": {strconv.Itoa(10*i + 10)}, "cost_per_unit": {tc.in}},
			http.StatusCreated, &created)
		assert.Equal(t, tc.want, created.PricingRule.CostPerUnit, "cost_per_unit=%s", tc.in)
	}
	var list struct {
		PricingRules []struct {
			PricingRule struct {
				CostPerUnit string `json:"cost_per_unit"`
			} `json:"pricing_rule"`
		} `json:"pricing_rules"`
	}
	decodeCall(t, co, http.MethodGet, path, nil, http.StatusOK, &list)
	require.Len(t, list.PricingRules, 7)
	assert.Equal(t, "0.1235", list.PricingRules[4].PricingRule.CostPerUnit, "stored as answered")
}
